"""Complaints (category, description, place or shared location → REC reference), their
follow-up by reference, and ideas for the commune (→ IDE reference)."""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import citizen, commune, database, language_of, reset, say
from bot.db.citizens import NewComplaint, complaint_by_reference, record_complaint, record_idea
from bot.db.content import find_district, fold
from bot.db.models import COMPLAINT_CATEGORIES
from bot.i18n import pick, t
from bot.references import complaint_reference

MIN_DESCRIPTION = 3
MAX_TEXT = 2000
FORM_SLOTS = (
    "complaint_category", "complaint_description", "complaint_place",
    "complaint_latitude", "complaint_longitude", "complaint_photo",
)
# Words people type when the category buttons are not used (folded: no accents, lower case).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "lighting": ("eclairage", "lumiere", "lampadaire", "poteau", "dou", "daw", "الضو", "الضوء", "بوطو"),
    "waste": ("dechet", "ordure", "poubelle", "zbel", "zbal", "lazbal", "الزبل", "الأزبال", "زبل"),
    "roads": ("route", "trou", "trottoir", "chaussee", "7ofra", "hofra", "tri9", "طريق", "حفرة", "الطريق"),
    "water": ("eau", "fuite", "egout", "lma", "ma2", "ta9tir", "الما", "الماء", "تسرب"),
    "green_spaces": ("espace vert", "jardin", "parc", "arbre", "jnan", "jarda", "7adi9a", "جردة", "حديقة", "الشجر"),
    "noise": ("bruit", "tapage", "sda3", "الصداع", "ضجيج"),
    "other": ("autre", "other", "okhra", "أخرى", "اخرى"),
}


def category_from_text(text: str) -> Optional[str]:
    folded = fold(text)
    if folded in COMPLAINT_CATEGORIES:
        return folded
    for category, words in CATEGORY_WORDS.items():
        if any(word in folded for word in words):
            return category
    return None


def latest_entity(tracker: Tracker, name: str) -> Optional[Any]:
    for entity in reversed((tracker.latest_message or {}).get("entities") or []):
        if entity.get("entity") == name:
            return entity.get("value")
    return None


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        category = category_from_text(str(value or ""))
        if category is None:
            say(dispatcher, "complaint_category_unknown", language_of(tracker))
        return {"complaint_category": category}

    async def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_DESCRIPTION:
            say(dispatcher, "complaint_description_short", language_of(tracker))
            return {"complaint_description": None}
        return {"complaint_description": text[:MAX_TEXT]}

    async def validate_complaint_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == "location":
            latitude = latest_entity(tracker, "latitude")
            longitude = latest_entity(tracker, "longitude")
            if latitude is None or longitude is None:
                return {"complaint_place": None}
            say(dispatcher, "complaint_location_noted", language_of(tracker))
            return {
                "complaint_place": f"📍 {float(latitude):.5f}, {float(longitude):.5f}",
                "complaint_latitude": float(latitude),
                "complaint_longitude": float(longitude),
            }
        text = str(value or "").strip()
        if len(text) < 2:
            return {"complaint_place": None}
        return {"complaint_place": text[:MAX_TEXT]}


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        channel, user_id = citizen(tracker)
        place = tracker.get_slot("complaint_place")
        district = tracker.get_slot("district")
        if not district and place:
            found = find_district(database(), commune(), place)
            district = found.slug if found else None
        reference = record_complaint(
            database(), commune(),
            NewComplaint(
                channel=channel, user_id=user_id,
                category=tracker.get_slot("complaint_category") or "other",
                description=tracker.get_slot("complaint_description") or "",
                language=language, place_text=place,
                latitude=tracker.get_slot("complaint_latitude"),
                longitude=tracker.get_slot("complaint_longitude"),
                photo_path=tracker.get_slot("complaint_photo"),
                district_slug=district,
            ),
        )
        say(
            dispatcher, "complaint_recorded", language, reference=reference,
            category=t(f"category_{tracker.get_slot('complaint_category') or 'other'}", language),
        )
        return reset(*FORM_SLOTS)


class ValidateComplaintStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_status_form"

    async def validate_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = complaint_reference(str(value or ""))
        if reference is None:
            say(dispatcher, "reference_invalid", language_of(tracker), example="REC-2026-000123")
        return {"reference": reference}


class ActionComplaintStatus(Action):
    def name(self) -> str:
        return "action_complaint_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        reference = complaint_reference(tracker.get_slot("reference") or "")
        complaint = complaint_by_reference(database(), commune(), reference) if reference else None
        if complaint is None:
            say(dispatcher, "complaint_not_found", language, reference=reference or "?")
            return reset("reference")
        history = "\n".join(
            f"• {event.created_at.date().isoformat()} — {t(f'complaint_status_{event.status}', language)}"
            + (f" : {pick(event.note, language)}" if event.note else "")
            for event in complaint.events
        )
        say(
            dispatcher, "complaint_status", language, reference=complaint.reference,
            category=t(f"category_{complaint.category}", language),
            status=t(f"complaint_status_{complaint.status}", language), history=history,
        )
        return reset("reference")


class ValidateIdeaForm(FormValidationAction):
    def name(self) -> str:
        return "validate_idea_form"

    async def validate_idea_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text.split()) < 2:
            say(dispatcher, "idea_too_short", language_of(tracker))
            return {"idea_text": None}
        return {"idea_text": text[:MAX_TEXT]}


class ActionSubmitIdea(Action):
    def name(self) -> str:
        return "action_submit_idea"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        channel, user_id = citizen(tracker)
        reference = record_idea(
            database(), commune(), channel, user_id, tracker.get_slot("idea_text") or "",
            language, tracker.get_slot("district"),
        )
        say(dispatcher, "idea_recorded", language, reference=reference)
        return reset("idea_text")
