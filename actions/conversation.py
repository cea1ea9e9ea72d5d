"""Conversation-level actions: asking for a person, cancelling a form, places and media
sent outside a form."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import citizen, commune, database, language_of, payload, say
from actions.complaints import latest_entity
from bot.channels.base import Button
from bot.db.citizens import request_handoff
from bot.db.content import nearest_office
from bot.i18n import pick, t

# The slots each form fills: cancelling a form forgets what it had gathered.
FORM_SLOTS = (
    "complaint_category", "complaint_description", "complaint_place", "complaint_latitude",
    "complaint_longitude", "complaint_photo", "idea_text", "consultation", "vote_option",
    "subscribe_district", "subscribe_topics", "reference", "verification_answer",
)


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        channel, user_id = citizen(tracker)
        created = request_handoff(
            database(), commune(), tracker.sender_id, channel, user_id, language,
            (tracker.latest_message or {}).get("text"),
        )
        say(dispatcher, "handoff_requested" if created else "handoff_already", language)
        return []


class ActionCancelForm(Action):
    def name(self) -> str:
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + [
            SlotSet(slot, None) for slot in FORM_SLOTS
        ]


class ActionShareLocation(Action):
    """A location sent outside a form: the nearest office and its hours."""

    def name(self) -> str:
        return "action_share_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        latitude, longitude = latest_entity(tracker, "latitude"), latest_entity(tracker, "longitude")
        found = None
        if latitude is not None and longitude is not None:
            found = nearest_office(database(), commune(), float(latitude), float(longitude))
        if found is None:
            say(dispatcher, "location_no_office", language)
            return []
        office, distance = found
        say(
            dispatcher, "location_nearest_office", language,
            office=pick(office.name, language), address=pick(office.address, language),
            hours=pick(office.hours, language), distance=f"{distance:.1f}",
        )
        return []


class ActionShareMedia(Action):
    """A voice note, photo or file: attached to a complaint being written (a photo), else a
    kind word on what the assistant can read (inside a form, the form then asks again)."""

    def name(self) -> str:
        return "action_share_media"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        kind = latest_entity(tracker, "media_kind")
        form = tracker.active_loop_name
        if form == "complaint_form" and kind == "photo":
            say(dispatcher, "complaint_photo_attached", language)
            return [SlotSet("complaint_photo", latest_entity(tracker, "media_ref"))]
        if form:  # the form asks its question again right after this
            say(dispatcher, "media_voice_in_form" if kind in ("voice", "audio") else "media_other_in_form", language)
            return []
        key = "media_voice" if kind in ("voice", "audio") else "media_other"
        buttons = [
            Button(title=t("menu", language), payload=payload("help")),
            Button(title=t("aspect_complaint", language), payload=payload("complaint_submit")),
        ]
        say(dispatcher, key, language, buttons)
        return []
