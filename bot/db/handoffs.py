"""The console's side of a hand-off: the queue, taking a conversation, its transcript, handing it back.

A request is `waiting` (queued by `bot.db.citizens.request_handoff`), then `active` (an agent
took it: `bot.db.conversations.handoff_is_active` keeps the bot silent), then `closed` (handed
back: the bot answers again). Every move is a conditional UPDATE on the current status, so two
agents clicking "take" at once cannot both win, and the audit entry is written in the same
transaction as the move it records.

The agent's replies are written to the conversation log by the Notifier with the agent as
their `author`: that is how the transcript tells them from the assistant's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.console import AuditEntry
from bot.db.models import ConversationLog, HandoffRequest, utcnow
from bot.db.session import Database

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
TRANSCRIPT_LIMIT = 200
MAX_REPLY_LENGTH = 4000
MAX_AUDITED_TEXT = 500


@dataclass(frozen=True)
class Handoff:
    id: int
    sender_id: str
    channel: str
    user_id: str
    language: str
    status: str
    agent: Optional[str]
    created_at: dt.datetime
    taken_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]
    # What the citizen wrote when asking for a person (or just before, after a button press).
    first_message: str

    def may_be_handled_by(self, username: str, is_admin: bool) -> bool:
        """Only the agent holding the conversation (or an admin standing in) speaks in it."""
        return self.status == ACTIVE and (self.agent == username or is_admin)


@dataclass(frozen=True)
class Line:
    """One message of a transcript; `speaker` is citizen, bot or agent."""

    id: int
    at: dt.datetime
    speaker: str
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(timespec="seconds") + "Z",
                "speaker": self.speaker, "text": self.text}


def _first_message(session: Session, row: HandoffRequest) -> str:
    if row.reason and not row.reason.startswith("/"):
        return row.reason
    # A button press carries a payload, not words: show the citizen's last words instead.
    text = session.execute(
        select(ConversationLog.text)
        .where(
            ConversationLog.sender_id == row.sender_id, ConversationLog.direction == "in",
            ConversationLog.created_at <= row.created_at,
            ConversationLog.text.not_like("/%"),
        )
        .order_by(ConversationLog.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return text or ""


def _view(session: Session, row: HandoffRequest) -> Handoff:
    return Handoff(
        id=row.id, sender_id=row.sender_id, channel=row.channel, user_id=row.user_id,
        language=row.language, status=row.status, agent=row.agent, created_at=row.created_at,
        taken_at=row.taken_at, closed_at=row.closed_at, first_message=_first_message(session, row),
    )


def queue(database: Database) -> list[Handoff]:
    """Waiting requests, oldest first (the longest wait is served first), then the active ones."""
    with database.session() as session:
        waiting = session.execute(
            select(HandoffRequest).where(HandoffRequest.status == WAITING)
            .order_by(HandoffRequest.created_at, HandoffRequest.id)
        ).scalars().all()
        active = session.execute(
            select(HandoffRequest).where(HandoffRequest.status == ACTIVE)
            .order_by(HandoffRequest.taken_at, HandoffRequest.id)
        ).scalars().all()
        return [_view(session, row) for row in [*waiting, *active]]


def get(database: Database, handoff_id: int) -> Optional[Handoff]:
    with database.session() as session:
        row = session.get(HandoffRequest, handoff_id)
        return _view(session, row) if row is not None else None


def _audit(session: Session, actor: str, action: str, handoff_id: int, **details: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, entity="handoff",
                           entity_id=str(handoff_id), details=details or None))


def take(database: Database, handoff_id: int, agent: str, now: Optional[dt.datetime] = None) -> bool:
    """Assign a waiting conversation to `agent`; False when someone else got it first."""
    now = now or utcnow()
    with database.session() as session:
        result = session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == handoff_id, HandoffRequest.status == WAITING)
            .values(status=ACTIVE, agent=agent, taken_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        _audit(session, agent, "handoff.take", handoff_id)
        return True


def hand_back(
    database: Database, handoff_id: int, agent: str, is_admin: bool,
    now: Optional[dt.datetime] = None,
) -> Optional[Handoff]:
    """Close an active conversation so the bot answers again; None if it was not `agent`'s to close."""
    now = now or utcnow()
    condition = [HandoffRequest.id == handoff_id, HandoffRequest.status == ACTIVE]
    if not is_admin:
        condition.append(HandoffRequest.agent == agent)
    with database.session() as session:
        result = session.execute(
            update(HandoffRequest).where(*condition).values(status=CLOSED, closed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        _audit(session, agent, "handoff.close", handoff_id)
        row = session.get(HandoffRequest, handoff_id)
        assert row is not None
        return _view(session, row)


def record_reply(
    database: Database, handoff_id: int, agent: str, text: str, queued: int,
    reason: Optional[str],
) -> None:
    """Audit an agent's reply (the Notifier already wrote it to the conversation log)."""
    with database.session() as session:
        _audit(session, agent, "handoff.reply", handoff_id, text=text[:MAX_AUDITED_TEXT],
               queued=queued, reason=reason)


def transcript(
    database: Database, sender_id: str, after: Optional[int] = None,
    limit: int = TRANSCRIPT_LIMIT,
) -> list[Line]:
    """The conversation with this sender, oldest first: its last `limit` messages, or those after
    the log row `after` (what a page that already shows up to `after` is missing)."""
    with database.session() as session:
        query = select(ConversationLog).where(ConversationLog.sender_id == sender_id)
        if after is not None:
            rows = session.execute(
                query.where(ConversationLog.id > after).order_by(ConversationLog.id).limit(limit)
            ).scalars().all()
        else:
            rows = list(reversed(session.execute(
                query.order_by(ConversationLog.id.desc()).limit(limit)
            ).scalars().all()))

    def speaker(row: ConversationLog) -> str:
        if row.direction == "in":
            return "citizen"
        return "agent" if row.author else "bot"

    return [Line(row.id, row.created_at, speaker(row), row.text or "") for row in rows]
