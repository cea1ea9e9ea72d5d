"""The durable inbox: store first, acknowledge, then process each sender's messages in order.

`accept()` is what a webhook awaits: one INSERT, nothing else, so the acknowledgment never
waits for the model. A platform's retry of the same delivery hits the unique key and is
dropped. Processing runs one task per sender, oldest row first, and writes the replies to
the outbox in the same transaction that marks the row done — so a crash before that commit
means the message is processed again after restart, and a crash after it means the replies
are already safe in the outbox: the citizen gets their answer once.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.channels.base import Inbound, Location, Media
from bot.channels.transport import Transport
from bot.conversation import CitizenMessage, Conversations, citizen_payload_allowed
from bot.channels.keys import is_payload_key
from bot.db.messaging import ButtonKey, Contact, InboxMessage, OutboxMessage
from bot.db.models import utcnow
from bot.db.session import Database
from bot.identity import make_sender_id

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_MENU_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def inbound_to_json(inbound: Inbound) -> dict[str, Any]:
    return dataclasses.asdict(inbound)


def inbound_from_json(data: Mapping[str, Any]) -> Inbound:
    fields = dict(data)
    if fields.get("location"):
        fields["location"] = Location(**fields["location"])
    if fields.get("media"):
        fields["media"] = Media(**fields["media"])
    return Inbound(**fields)


def _payload(intent: str, **entities: Any) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


class Inbox:
    """Implements the channels' `InboundSink`; owns the per-sender processing tasks."""

    def __init__(
        self,
        database: Database,
        conversations: Conversations,
        transports: Mapping[str, Transport],
        media_dir: Path,
        on_outbox: Callable[[], None],
        ready: Optional[asyncio.Event] = None,
    ) -> None:
        self.database = database
        self.conversations = conversations
        self.transports = transports
        self.media_dir = media_dir
        self.on_outbox = on_outbox
        # Set once the model is loaded (or failed to load): messages stored while it loads
        # wait for it instead of being answered "unavailable".
        self.ready = ready
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        # Webhook acknowledgements wait for their INSERT only, never for a free thread behind
        # the processing work (turns, logs, outbox) that shares the default executor.
        self._accept_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="inbox-accept")

    # ---- storing ---------------------------------------------------------------------------
    async def accept(self, inbound: Inbound) -> bool:
        """Store the message; False when the platform already delivered it (a retry)."""
        stored = await asyncio.get_running_loop().run_in_executor(
            self._accept_pool, self._store, inbound
        )
        if stored:
            self.schedule(inbound.channel, inbound.user_id)
        return stored

    def _store(self, inbound: Inbound) -> bool:
        try:
            with self.database.session() as session:
                session.add(
                    InboxMessage(
                        channel=inbound.channel,
                        platform_message_id=inbound.message_id,
                        user_id=inbound.user_id,
                        inbound=inbound_to_json(inbound),
                    )
                )
                self._touch_contact(session, inbound.channel, inbound.user_id)
        except IntegrityError:
            return False
        return True

    @staticmethod
    def _touch_contact(session: Any, channel: str, user_id: str) -> None:
        contact = session.execute(
            select(Contact).where(Contact.channel == channel, Contact.user_id == user_id)
        ).scalar_one_or_none()
        if contact is None:
            session.add(Contact(channel=channel, user_id=user_id, last_inbound_at=utcnow()))
        else:
            contact.last_inbound_at = utcnow()
            contact.blocked_at = None

    # ---- processing ------------------------------------------------------------------------
    def schedule(self, channel: str, user_id: str) -> None:
        key = make_sender_id(channel, user_id)
        worker = self._workers.get(key)
        if self._closing or (worker is not None and not worker.done()):
            return
        self._workers[key] = asyncio.create_task(self._drain(channel, user_id))

    async def resume(self) -> int:
        """After a restart: schedule every sender with unprocessed rows. Returns their count."""
        senders = await self._db(self._pending_senders)
        for channel, user_id in senders:
            self.schedule(channel, user_id)
        return len(senders)

    def _pending_senders(self) -> list[tuple[str, str]]:
        with self.database.session() as session:
            rows = session.execute(
                select(InboxMessage.channel, InboxMessage.user_id)
                .where(InboxMessage.status == "pending")
                .distinct()
            ).all()
        return [(row[0], row[1]) for row in rows]

    async def _drain(self, channel: str, user_id: str) -> None:
        """Process this sender's pending rows, oldest first, until none is left."""
        if self.ready is not None:
            await self.ready.wait()
        while not self._closing:
            row = await self._db(self._next_pending, channel, user_id)
            if row is None:
                return
            row_id, data, attempts = row
            try:
                await self._process(row_id, inbound_from_json(data))
            except Exception as error:  # retried, then given up on with the reason kept
                logger.exception("inbox row %s failed", row_id)
                await self._db(self._record_failure, row_id, attempts + 1, repr(error))
                if attempts + 1 < MAX_ATTEMPTS:
                    await asyncio.sleep(2 ** attempts)

    def _next_pending(self, channel: str, user_id: str) -> Optional[tuple[int, dict[str, Any], int]]:
        with self.database.session() as session:
            row = session.execute(
                select(InboxMessage.id, InboxMessage.inbound, InboxMessage.attempts)
                .where(
                    InboxMessage.channel == channel,
                    InboxMessage.user_id == user_id,
                    InboxMessage.status == "pending",
                )
                .order_by(InboxMessage.id)
                .limit(1)
            ).first()
        return (row[0], row[1], row[2]) if row else None

    def _record_failure(self, row_id: int, attempts: int, error: str) -> None:
        with self.database.session() as session:
            session.execute(
                update(InboxMessage)
                .where(InboxMessage.id == row_id)
                .values(
                    attempts=attempts,
                    error=error[:2000],
                    status="pending" if attempts < MAX_ATTEMPTS else "failed",
                )
            )

    async def _process(self, row_id: int, inbound: Inbound) -> None:
        transport = self.transports[inbound.channel]
        inbound = await self._db(self._resolve_buttons, inbound)
        acknowledgements = list(transport.acknowledgements(inbound))
        replies: list[dict[str, Any]] = []
        for message in await self._citizen_messages(inbound, transport):
            answers = await self.conversations.handle(message)
            language = self.conversations.last_language(inbound.sender_id)
            for answer in answers:
                replies.extend(transport.render(inbound.user_id, answer, language))
        await self._db(self._save_button_keys, replies)
        await self._db(self._complete, row_id, inbound, acknowledgements, replies)
        self.on_outbox()

    def _save_button_keys(self, requests: list[dict[str, Any]]) -> None:
        """Keys are content-addressed, so saving them ahead of the replies is harmless, and a
        replica saving the same key at the same moment is no error."""
        for request in requests:
            for key, payload in (request.get("button_keys") or {}).items():
                try:
                    with self.database.session() as session:
                        if session.get(ButtonKey, key) is None:
                            session.add(ButtonKey(key=key, payload=payload))
                except IntegrityError:
                    continue

    def _resolve_buttons(self, inbound: Inbound) -> Inbound:
        """A short button key back into its payload; "2" after a numbered menu into its 2nd."""
        if inbound.payload is not None and is_payload_key(inbound.payload):
            with self.database.session() as session:
                stored = session.get(ButtonKey, inbound.payload)
            # An unknown key (forged, or from another install) is not a payload: say so plainly.
            payload = stored.payload if stored is not None else None
            return dataclasses.replace(inbound, payload=payload, text=None if payload else "")
        choice = _MENU_CHOICE.match(inbound.text or "") if inbound.payload is None else None
        if choice is None:
            return inbound
        with self.database.session() as session:
            menu = session.execute(
                select(Contact.last_menu).where(
                    Contact.channel == inbound.channel, Contact.user_id == inbound.user_id
                )
            ).scalar_one_or_none()
        number = int(choice.group(1))
        if menu and 1 <= number <= len(menu):
            return dataclasses.replace(inbound, payload=menu[number - 1], text=None)
        return inbound

    def _complete(
        self,
        row_id: int,
        inbound: Inbound,
        acknowledgements: list[dict[str, Any]],
        replies: list[dict[str, Any]],
    ) -> None:
        """Replies into the outbox and the row marked done: one transaction."""
        with self.database.session() as session:
            session.add_all(
                OutboxMessage(
                    channel=inbound.channel, user_id=inbound.user_id, inbox_id=row_id, request=r
                )
                for r in acknowledgements + replies
            )
            if replies:
                menus = [r["menu"] for r in replies if r.get("menu")]
                session.execute(
                    update(Contact)
                    .where(Contact.channel == inbound.channel, Contact.user_id == inbound.user_id)
                    .values(last_menu=menus[-1] if menus else None)
                )
            session.execute(
                update(InboxMessage)
                .where(InboxMessage.id == row_id)
                .values(status="done", processed_at=utcnow())
            )

    async def _citizen_messages(
        self, inbound: Inbound, transport: Transport
    ) -> list[CitizenMessage]:
        """The turns an inbound message makes: a platform event first, then any text."""
        sender = inbound.sender_id
        metadata = dict(inbound.metadata)
        if inbound.language_hint:
            metadata["language_hint"] = inbound.language_hint
        turns: list[CitizenMessage] = []
        if inbound.location is not None:
            turns.append(CitizenMessage(sender, payload=_payload(
                "share_location",
                latitude=inbound.location.latitude,
                longitude=inbound.location.longitude,
            ), metadata=metadata))
        if inbound.media is not None:
            reference = inbound.media.platform_id
            if inbound.media.kind == "photo":
                reference = await self._fetch_photo(inbound, transport)
            turns.append(CitizenMessage(sender, payload=_payload(
                "share_media", media_kind=inbound.media.kind, media_ref=reference
            ), metadata=metadata))
        if inbound.payload is not None:
            if citizen_payload_allowed(inbound.payload):
                turns.append(CitizenMessage(sender, payload=inbound.payload, metadata=metadata))
            else:
                turns.append(CitizenMessage(sender, text=inbound.payload.lstrip("/")))
        text = inbound.text if inbound.text is not None else (
            inbound.media.caption if inbound.media is not None else None
        )
        if text or not turns:
            turns.append(CitizenMessage(sender, text=text or "", metadata=metadata))
        return turns

    async def _fetch_photo(self, inbound: Inbound, transport: Transport) -> str:
        """The photo's path under the media folder; the platform's handle if it can't be had,
        so a complaint keeps a way to the picture rather than losing the turn."""
        assert inbound.media is not None
        try:
            path = await transport.fetch_media(inbound.media, self.media_dir)
            return str(path.relative_to(self.media_dir))
        except Exception:
            logger.exception("could not fetch %s media %s", inbound.channel, inbound.media.platform_id)
            return f"{inbound.channel}:{inbound.media.platform_id}"

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def close(self) -> None:
        self._closing = True
        workers = [w for w in self._workers.values() if not w.done()]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._accept_pool.shutdown(wait=False)

