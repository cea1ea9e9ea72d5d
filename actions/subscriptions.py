"""Announcements: subscribing with a district and topics, and unsubscribing (also STOP/ARRET/وقف)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import citizen, commune, database, language_of, payload, reset, say
from bot.channels.base import Button
from bot.db.citizens import subscribe, unsubscribe
from bot.db.content import find_district, fold, list_districts
from bot.db.models import SUBSCRIPTION_TOPICS
from bot.i18n import pick, t

EVERYWHERE = "all"
# What people type for "everything / the whole commune" (folded).
ALL_WORDS = ("all", "tout", "toute", "tous", "kolchi", "koulchi", "gaa", "كلشي", "كل", "جميع", "toute la commune")
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "consultations": ("consultation", "vote", "sondage", "listichar", "tsawit", "استشار", "تصويت"),
    "taxes": ("impot", "taxe", "dariba", "dara2ib", "ضريب"),
    "works": ("travaux", "chantier", "ach8al", "achghal", "أشغال", "اشغال"),
    "events": ("evenement", "activite", "festival", "anchita", "أنشطة", "انشطة", "نشاط"),
    "jobs": ("emploi", "travail", "job", "khedma", "khdma", "خدمة", "الخدمة", "شغل"),
}


def topics_from_text(text: str) -> list[str]:
    folded = fold(text)
    if any(word in folded.split() or folded == word for word in ALL_WORDS):
        return list(SUBSCRIPTION_TOPICS)
    return [topic for topic, words in TOPIC_WORDS.items() if any(w in folded for w in words)]


class ValidateSubscribeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_subscribe_form"

    async def validate_subscribe_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if fold(text) in ALL_WORDS:
            return {"subscribe_district": EVERYWHERE}
        district = find_district(database(), commune(), text)
        if district is None:
            say(dispatcher, "district_unknown", language_of(tracker))
            return {"subscribe_district": None}
        return {"subscribe_district": district.slug}

    async def validate_subscribe_topics(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        values = value if isinstance(value, list) else [value]
        topics: list[str] = []
        for item in values:
            item = str(item or "")
            found = [item] if item in SUBSCRIPTION_TOPICS else topics_from_text(item)
            topics += [topic for topic in found if topic not in topics]
        if not topics:
            say(dispatcher, "topics_unknown", language_of(tracker))
            return {"subscribe_topics": None}
        return {"subscribe_topics": topics}


class ActionAskSubscribeDistrict(Action):
    def name(self) -> str:
        return "action_ask_subscribe_district"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        buttons = [Button(title=t("everywhere", language), payload=payload("subscribe", district=EVERYWHERE))]
        buttons += [
            Button(title=pick(d.name, language), payload=payload("subscribe", district=d.slug))
            for d in list_districts(database(), commune())
        ]
        say(dispatcher, "ask_subscribe_district", language, buttons)
        return []


class ActionSubmitSubscription(Action):
    def name(self) -> str:
        return "action_submit_subscription"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        channel, user_id = citizen(tracker)
        district = tracker.get_slot("subscribe_district")
        topics = tracker.get_slot("subscribe_topics") or list(SUBSCRIPTION_TOPICS)
        subscribe(
            database(), commune(), channel, user_id, language,
            None if district == EVERYWHERE else district, topics,
        )
        say(
            dispatcher, "subscribed", language,
            topics=", ".join(t(f"topic_{topic}", language) for topic in topics),
        )
        return reset("subscribe_district", "subscribe_topics")


class ActionUnsubscribe(Action):
    def name(self) -> str:
        return "action_unsubscribe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        channel, user_id = citizen(tracker)
        was_subscribed = unsubscribe(database(), channel, user_id)
        say(dispatcher, "unsubscribed" if was_subscribed else "not_subscribed", language)
        return []
