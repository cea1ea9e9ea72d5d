"""What a procedure or tax question is about: the one named, the one remembered from the
conversation, or — when none or several are named, or an unknown one — a question back with
buttons. Procedures and taxes share this so both ask rather than guess, the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, Literal, Optional, Protocol, Sequence, TypeVar

from rasa_sdk import Tracker

from actions.common import entity_values, latest_intent, payload
from bot.channels.base import Button
from bot.i18n import pick, t


class Subject(Protocol):
    key: str
    name: dict[str, str]


S = TypeVar("S", bound=Subject)


@dataclass(frozen=True)
class Choice(Generic[S]):
    """`row` when the subject is known; otherwise the question to ask and its options."""

    row: Optional[S]
    question: Literal["which", "unknown"] = "which"
    options: list[S] = field(default_factory=list)


def choose(
    tracker: Tracker, entity: str, find: Callable[[str], Optional[S]],
    everything: Callable[[], list[S]],
) -> Choice[S]:
    named = entity_values(tracker, entity)
    if len(named) > 1:  # "naissance ou décès ?": ask rather than pick one
        return Choice(None, "which", [row for row in map(find, named) if row is not None])
    key = named[0] if named else tracker.get_slot(entity)
    row = find(key) if key else None
    if row is not None:
        return Choice(row)
    return Choice(None, "unknown" if key else "which", everything())


def aspect_of(tracker: Tracker, aspects: Sequence[str]) -> str:
    """The question asked (the intent), the first aspect when it is none of them."""
    intent = latest_intent(tracker)
    return intent if intent in aspects else aspects[0]


def subject_buttons(rows: Sequence[S], aspect: str, entity: str, language: str) -> list[Button]:
    return [
        Button(title=pick(row.name, language), payload=payload(aspect, **{entity: row.key}))
        for row in rows
    ]


def other_aspect_buttons(
    row: Subject, entity: str, aspects: Sequence[str], current: str, language: str
) -> list[Button]:
    """The other questions about the same subject, one tap away."""
    return [
        Button(title=t(f"aspect_{aspect}", language), payload=payload(aspect, **{entity: row.key}))
        for aspect in aspects
        if aspect != current
    ]
