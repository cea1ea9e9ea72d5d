"""What every action needs: the database, the citizen's language and identity, buttons.

The action server's entry point (`sawt actions`) calls `configure()` with the settings it read
once; tests call it with their own database. Actions never read the environment.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.channels.base import Button
from bot.db.session import Database
from bot.i18n import normalise_language, pick, t
from bot.identity import split_sender_id
from bot.settings import Settings

_database: Optional[Database] = None
_settings: Optional[Settings] = None


def configure(database: Database, settings: Settings) -> None:
    global _database, _settings
    _database, _settings = database, settings


def database() -> Database:
    if _database is None:
        raise RuntimeError("actions.common.configure() was not called: start with `sawt actions`")
    return _database


def settings() -> Settings:
    if _settings is None:
        raise RuntimeError("actions.common.configure() was not called: start with `sawt actions`")
    return _settings


def language_of(tracker: Tracker) -> str:
    """The reply language: the `language` slot, set every turn by `action_set_language`."""
    return normalise_language(tracker.get_slot("language"))


def latest_intent(tracker: Tracker) -> Optional[str]:
    """The intent of the latest message as the model (or a button payload) named it."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name")


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Distinct values of one entity in the latest message, in the order they were said."""
    seen: list[str] = []
    for found in (tracker.latest_message or {}).get("entities") or []:
        value = found.get("value")
        if found.get("entity") == entity and value is not None and str(value) not in seen:
            seen.append(str(value))
    return seen


def citizen(tracker: Tracker) -> tuple[str, str]:
    """(channel, user_id) of the citizen, from Rasa's sender id."""
    return split_sender_id(tracker.sender_id)


def payload(intent: str, **entities: Any) -> str:
    """A Rasa button payload that skips NLU: '/intent{"entity": "value"}'."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def buttons(items: Iterable[tuple[str, str]]) -> list[Button]:
    return [Button(title=title, payload=pl) for title, pl in items]


def commune() -> str:
    """The commune this action server answers for."""
    return settings().commune_slug


def say(
    dispatcher: CollectingDispatcher,
    key: str,
    language: str,
    buttons: Optional[list[Button]] = None,
    **params: Any,
) -> None:
    """Send the catalog text `key` in the citizen's language."""
    dispatcher.utter_message(text=t(key, language, **params), buttons=list(buttons or []))


def bullet_list(items: Iterable[Mapping[str, str]], language: str, numbered: bool = False) -> str:
    texts = [pick(item, language) for item in items]
    return "\n".join(
        f"{i}. {text}" if numbered else f"• {text}" for i, text in enumerate(texts, 1) if text
    )


def reset(*slots: str) -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in slots]
