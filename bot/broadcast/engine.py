"""The broadcast engine: expand a due broadcast into outbox rows, report its progress.

Expansion writes one outbox row per recipient, rendered for their platform and language, in
batches; the unique key (broadcast, channel, user) makes a retried or concurrent expansion
harmless. Sending is the outbox's job (caps, backoff, at-most-once claims). WhatsApp
recipients outside the 24-hour customer-service window get the broadcast's approved
template, or are counted as skipped when it has none (any platform with a
`service_window` is treated alike). `estimate` applies the same rule before a broadcast is
created, so the console's confirmation shows what the expansion will do.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections import Counter
from typing import Any, Callable, Literal, Mapping, Optional

from sqlalchemy import func, select, update

from bot.broadcast.audience import active_subscribers, matches_topics
from bot.channels.base import Reply
from bot.channels.text import utf16_length
from bot.channels.transport import Transport
from bot.db.messaging import Broadcast, Contact, OutboxMessage
from bot.db.models import utcnow
from bot.db.session import Database
from bot.i18n import pick

logger = logging.getLogger(__name__)

BATCH = 500
TEXT_LIMIT = 4000
# WhatsApp template names: lower-case letters, digits and underscores; language codes such
# as "fr", "ar" or "en_US".
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")

# How a recipient is reached: their platform is off, the free-form text, the template
# (outside the service window), or nothing (outside the window, no template).
Reach = Literal["off", "text", "template", "outside"]


class BroadcastError(ValueError):
    pass


def validate_text(text: Any) -> dict[str, str]:
    if not isinstance(text, dict) or not any(isinstance(v, str) and v.strip() for v in text.values()):
        raise BroadcastError("text must be an object with at least one of fr, ary, ary_latn")
    clean = {k: v.strip() for k, v in text.items() if k in ("fr", "ary", "ary_latn") and isinstance(v, str) and v.strip()}
    if not clean:
        raise BroadcastError("text must have fr, ary or ary_latn")
    # Measured as Telegram does (UTF-16 units: an emoji counts two): a longer text would be
    # split in several messages, and a broadcast sends one message per recipient.
    if any(utf16_length(v) > TEXT_LIMIT for v in clean.values()):
        raise BroadcastError("each text must be at most 4,000 characters")
    return clean


def validate_template(value: Any) -> Optional[dict[str, Any]]:
    """`{"name", "language", "parameters"}` of an approved WhatsApp template, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise BroadcastError("template must be {\"name\", \"language\", \"parameters\"}")
    name = value["name"].strip()
    if not TEMPLATE_NAME.fullmatch(name):
        raise BroadcastError("template.name: lower-case letters, digits and underscores only")
    language = str(value.get("language") or "fr").strip()
    if not TEMPLATE_LANGUAGE.fullmatch(language):
        raise BroadcastError("template.language must be a code such as fr, ar or en_US")
    params = value.get("parameters") or []
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise BroadcastError("template.parameters must be a list of strings")
    return {"name": name, "language": language, "parameters": params}


class BroadcastEngine:
    def __init__(
        self,
        database: Database,
        transports: Mapping[str, Transport],
        on_outbox: Callable[[], None],
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.transports = transports
        self.on_outbox = on_outbox
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None

    # ---- creating --------------------------------------------------------------------------
    def create(
        self,
        text: dict[str, str],
        audience: dict[str, list[str]],
        template: Optional[dict[str, Any]] = None,
        scheduled_at: Optional[dt.datetime] = None,
        created_by: Optional[str] = None,
    ) -> int:
        with self.database.session() as session:
            broadcast = Broadcast(
                text=text, audience=audience, template=template,
                scheduled_at=scheduled_at or self.clock(), created_by=created_by,
            )
            session.add(broadcast)
            session.flush()
            broadcast_id = int(broadcast.id)
        self._wake.set()
        return broadcast_id

    def cancel(self, broadcast_id: int) -> bool:
        """Cancel a broadcast that has not started; False once its expansion has begun (a
        conditional update, so it never races the expansion into a half-sent state)."""
        with self.database.session() as session:
            return bool(session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
                .values(status="cancelled")
            ).rowcount)

    def estimate(self, audience: Mapping[str, Any], with_template: bool) -> dict[str, Any]:
        """What a broadcast to `audience` would do now, by the expansion's own rule:
        `{"total", "by_channel", "by_language", "reach": {"text", "template", "outside",
        "off"}}` — "outside" are skipped for want of a template, "off" because their
        platform is not configured."""
        by_channel: Counter[str] = Counter()
        by_language: Counter[str] = Counter()
        reach: Counter[str] = Counter({"text": 0, "template": 0, "outside": 0, "off": 0})
        with self.database.session() as session:
            windows = self._last_inbound(session)
            for subscriber in session.execute(active_subscribers(session, audience)).scalars():
                if not matches_topics(subscriber, audience):
                    continue
                by_channel[subscriber.channel] += 1
                by_language[subscriber.language] += 1
                how = self._reach(subscriber.channel, subscriber.user_id, windows)
                if how == "outside" and with_template:
                    how = "template"
                reach[how] += 1
        return {
            "total": sum(by_channel.values()),
            "by_channel": dict(by_channel),
            "by_language": dict(by_language),
            "reach": dict(reach),
        }

    # ---- running ---------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                expanded = await loop.run_in_executor(None, self.expand_due)
                if expanded:
                    self.on_outbox()
                await loop.run_in_executor(None, self.finish_completed)
            except Exception:
                logger.exception("broadcast pass failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    def expand_due(self) -> int:
        """Expand every due broadcast (also one left half-expanded by a crash)."""
        with self.database.session() as session:
            due = session.execute(
                select(Broadcast.id).where(
                    Broadcast.status.in_(("scheduled", "expanding")),
                    Broadcast.scheduled_at <= self.clock(),
                )
            ).scalars().all()
        for broadcast_id in due:
            self.expand(broadcast_id)
        return len(due)

    def expand(self, broadcast_id: int) -> None:
        with self.database.session() as session:
            claimed = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status.in_(("scheduled", "expanding")))
                .values(status="expanding", started_at=func.coalesce(Broadcast.started_at, self.clock()))
            ).rowcount
        if not claimed:
            return
        with self.database.session() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            already = {
                (channel, user)
                for channel, user in session.execute(
                    select(OutboxMessage.channel, OutboxMessage.user_id).where(
                        OutboxMessage.broadcast_id == broadcast_id
                    )
                )
            }
            windows = self._last_inbound(session)
            total, skipped, batch = len(already), 0, []
            for subscriber in session.execute(active_subscribers(session, broadcast.audience)).scalars():
                if not matches_topics(subscriber, broadcast.audience):
                    continue
                key = (subscriber.channel, subscriber.user_id)
                if key in already:
                    continue
                request = self._render(broadcast, subscriber.channel, subscriber.user_id,
                                       subscriber.language, windows)
                if request is None:
                    skipped += 1
                    continue
                batch.append(OutboxMessage(
                    channel=subscriber.channel, user_id=subscriber.user_id,
                    broadcast_id=broadcast_id, request=request,
                ))
                total += 1
                if len(batch) >= BATCH:
                    session.add_all(batch)
                    session.flush()
                    batch = []
            session.add_all(batch)
            broadcast.total = total
            broadcast.skipped = skipped
            broadcast.status = "sending"

    def _last_inbound(self, session: Any) -> dict[tuple[str, str], dt.datetime]:
        """When each contact last wrote: platforms with a service window need it."""
        windowed = [c for c, t in self.transports.items() if t.service_window is not None]
        rows = session.execute(
            select(Contact.channel, Contact.user_id, Contact.last_inbound_at).where(
                Contact.channel.in_(windowed), Contact.last_inbound_at.is_not(None)
            )
        )
        return {(channel, user): last for channel, user, last in rows}

    def _render(
        self,
        broadcast: Broadcast,
        channel: str,
        user_id: str,
        language: str,
        windows: Mapping[tuple[str, str], dt.datetime],
    ) -> Optional[dict[str, Any]]:
        how = self._reach(channel, user_id, windows)
        if how == "off":
            return None
        transport = self.transports[channel]
        if how == "outside":
            return transport.template(user_id, broadcast.template) if broadcast.template else None
        requests = transport.render(user_id, Reply(text=pick(broadcast.text, language)), language)
        return requests[0] if requests else None

    def _reach(
        self, channel: str, user_id: str, windows: Mapping[tuple[str, str], dt.datetime]
    ) -> Reach:
        transport = self.transports.get(channel)
        if transport is None:
            return "off"
        if transport.service_window is not None:
            last = windows.get((channel, user_id))
            if last is None or self.clock() - last > transport.service_window:
                return "outside"
        return "text"

    def finish_completed(self) -> None:
        with self.database.session() as session:
            sending = session.execute(
                select(Broadcast.id).where(Broadcast.status == "sending")
            ).scalars().all()
            for broadcast_id in sending:
                open_rows = session.execute(
                    select(func.count(OutboxMessage.id)).where(
                        OutboxMessage.broadcast_id == broadcast_id,
                        OutboxMessage.status.in_(("pending", "sending")),
                    )
                ).scalar_one()
                if open_rows == 0:
                    session.execute(
                        update(Broadcast).where(Broadcast.id == broadcast_id).values(status="done")
                    )

    # ---- reporting -------------------------------------------------------------------------
    def progress(self, broadcast_id: int) -> Optional[dict[str, Any]]:
        """CONTRACT §5: `{"id", "status", "total", "sent", "delivered", "failed", "pending"}`."""
        with self.database.session() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return None
            counts = dict(
                session.execute(
                    select(OutboxMessage.status, func.count(OutboxMessage.id))
                    .where(OutboxMessage.broadcast_id == broadcast_id)
                    .group_by(OutboxMessage.status)
                ).all()
            )
        delivered = counts.get("delivered", 0) + counts.get("read", 0)
        sent = counts.get("sent", 0) + delivered
        pending = counts.get("pending", 0) + counts.get("sending", 0)
        total = broadcast.total if broadcast.total is not None else sum(counts.values())
        return {
            "id": broadcast.id,
            "status": broadcast.status,
            "total": total,
            "sent": sent,
            "delivered": delivered,
            "failed": counts.get("failed", 0),
            "pending": pending if broadcast.status != "scheduled" else total,
            "skipped": broadcast.skipped,
        }
