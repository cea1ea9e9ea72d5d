"""The reply language: detected every turn, changed on request.

`action_set_language` is the custom slot mapping of `language` and `language_choice`, so Rasa
runs it in `action_extract_slots` on every user message, before any response is chosen:
the answer to a message is already in that message's language.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, payload, say
from bot.channels.base import Button
from bot.i18n import LANGUAGES, reply_language
from bot.nlu_components.language import detect_language

LANGUAGE_NAMES = {"fr": "Français", "ary": "الدارجة (العربية)", "ary_latn": "Darija (latin)"}


def detected_language(latest: dict[str, Any]) -> Optional[str]:
    """What the NLU pipeline detected. Button payloads ("/intent{…}") carry no language: for
    them, the language of the citizen's app (Telegram's `language_code`), if the channel knew it."""
    text = latest.get("text") or ""
    if text.startswith("/"):
        hint = (latest.get("metadata") or {}).get("language_hint")
        return str(hint) if hint in LANGUAGES else None
    detected = latest.get("language")
    if detected in LANGUAGES:
        return str(detected)
    return detect_language(text)


def requested_language(latest: dict[str, Any]) -> Optional[str]:
    """The language named in a `change_language` message, if any."""
    if (latest.get("intent") or {}).get("name") != "change_language":
        return None
    for entity in latest.get("entities") or []:
        if entity.get("entity") == "language" and entity.get("value") in LANGUAGES:
            return str(entity["value"])
    return None


class ActionSetLanguage(Action):
    def name(self) -> str:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        requested = requested_language(latest)
        choice = requested or tracker.get_slot("language_choice")
        # "Parle-moi en darija", written in French, asks for Darija: the request wins.
        language = requested or reply_language(
            detected_language(latest), choice, tracker.get_slot("language")
        )
        events = [SlotSet("language", language)]
        if choice != tracker.get_slot("language_choice"):
            events.append(SlotSet("language_choice", choice))
        return events


class ActionChangeLanguage(Action):
    """Confirms the new language, or offers the three when none was named."""

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        if requested_language(tracker.latest_message or {}) is None:
            buttons = [
                Button(title=LANGUAGE_NAMES[code], payload=payload("change_language", language=code))
                for code in LANGUAGES
            ]
            say(dispatcher, "language_pick", language, buttons)
            return []
        say(dispatcher, "language_changed", language)
        return []
