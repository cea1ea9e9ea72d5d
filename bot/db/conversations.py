"""The gateway's own reads and writes: the conversation log and whether an agent holds a chat."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import select

from bot.db.models import ConversationLog, HandoffRequest
from bot.db.session import Database

MAX_LOGGED_TEXT = 4000


@dataclass(frozen=True)
class LogEntry:
    sender_id: str
    channel: str
    direction: str  # "in" or "out"
    text: Optional[str]
    intent: Optional[str] = None
    confidence: Optional[float] = None
    language: Optional[str] = None
    is_fallback: bool = False
    # An agent's username for a message an agent wrote (handoff); None for the assistant.
    author: Optional[str] = None


def write_log(database: Database, entries: Iterable[LogEntry]) -> None:
    """All of a turn's rows in one transaction."""
    with database.session() as session:
        session.add_all(
            ConversationLog(
                sender_id=e.sender_id, channel=e.channel, direction=e.direction,
                text=(e.text or "")[:MAX_LOGGED_TEXT], intent=e.intent,
                confidence=e.confidence, language=e.language, is_fallback=e.is_fallback,
                author=e.author,
            )
            for e in entries
        )


def handoff_is_active(database: Database, sender_id: str) -> bool:
    """An agent has taken this conversation over: the bot must stay silent."""
    with database.session() as session:
        found = session.execute(
            select(HandoffRequest.id)
            .where(HandoffRequest.sender_id == sender_id, HandoffRequest.status == "active")
            .limit(1)
        ).first()
    return found is not None
