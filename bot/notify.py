"""Messages the commune sends first: a complaint's new status, an agent's reply in a handoff.

They go the way every reply goes — rendered by the citizen's platform, written as outbox
rows, sent at the cap with retries — so a console action never talks to a platform itself.
A citizen of the web chat or REST channel cannot be reached later: the message is only logged.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from sqlalchemy import select

from bot.channels.base import Reply
from bot.channels.transport import Transport
from bot.db.conversations import LogEntry, write_log
from bot.db.messaging import ButtonKey, Contact, OutboxMessage
from bot.db.models import utcnow
from bot.db.session import Database
from bot.identity import make_sender_id


@dataclass(frozen=True)
class Notice:
    """What became of one message: `queued` rows, or why none (`reason`)."""

    queued: int
    # "no_channel": web chat / REST or a platform that is off; "window_closed": WhatsApp's
    # 24 hours are over (a template is needed); "blocked": the citizen blocked the bot.
    reason: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.queued > 0


class Notifier:
    def __init__(
        self,
        database: Database,
        transports: Mapping[str, Transport],
        on_outbox: Callable[[], None],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.transports = transports
        self.on_outbox = on_outbox
        self.clock = clock

    def send(
        self, channel: str, user_id: str, reply: Reply, language: str,
        author: Optional[str] = None,
    ) -> Notice:
        """Queue `reply` for the citizen (blocking: call it off the event loop). `author`: the
        agent who wrote it, for the transcript; None when the commune's system speaks."""
        transport = self.transports.get(channel)
        sender_id = make_sender_id(channel, user_id)
        if transport is None:
            write_log(self.database, [LogEntry(sender_id, channel, "out", reply.text, language=language, author=author)])
            return Notice(0, "no_channel")
        with self.database.session() as session:
            contact = session.execute(
                select(Contact).where(Contact.channel == channel, Contact.user_id == user_id)
            ).scalar_one_or_none()
            if contact is not None and contact.blocked_at is not None:
                return Notice(0, "blocked")
            window = transport.service_window
            last = contact.last_inbound_at if contact is not None else None
            if window is not None and (last is None or self.clock() - last > window):
                return Notice(0, "window_closed")
            requests = transport.render(user_id, reply, language)
            for request in requests:
                for key, payload in (request.get("button_keys") or {}).items():
                    if session.get(ButtonKey, key) is None:
                        session.add(ButtonKey(key=key, payload=payload))
            session.add_all(
                OutboxMessage(channel=channel, user_id=user_id, request=request)
                for request in requests
            )
        write_log(self.database, [LogEntry(sender_id, channel, "out", reply.text, language=language, author=author)])
        self.on_outbox()
        return Notice(len(requests))

