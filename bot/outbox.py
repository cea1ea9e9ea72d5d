"""The outbox sender: every row sent at most once per claim, in order per citizen, at the cap.

A row is claimed with a conditional UPDATE (`status pending → sending`), which only one
worker can win, whichever replica it runs in. For each citizen only the oldest unsent row is
eligible, so a reply split in three parts, or held back by a 429, never arrives out of order.
Platform rate limits are respected with one pacer per channel (a fixed schedule just under the cap); 429s and 5xx are
retried at the time the platform asks (or with exponential backoff), permanent failures are
recorded with their code, and a blocked citizen is unsubscribed. A crash between claim and
result leaves the row `sending`; after `stale_after` seconds a reply is pending again (so a
reply in flight at the crash may go twice — the only duplicates possible), while a broadcast
delivery is recorded failed instead: an announcement reaches a citizen at most once.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import and_, func, or_, select, update

from bot.channels.transport import SendResult, Transport
from bot.db.messaging import Contact, OutboxMessage
from bot.db.models import Subscriber, utcnow
from bot.db.session import Database
from bot.telemetry import Metrics

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# When a status names a message not yet recorded as sent: try again after these delays.
STATUS_RETRY_DELAYS = (1.0, 4.0, 15.0)
# WhatsApp's code for "more than 24 hours since the citizen last wrote", reused for rows the
# outbox itself holds back for that reason.
WINDOW_CLOSED = 131047
INTERRUPTED = "interrupted while sending (crash or restart): not sent again, so nobody gets it twice"
DELIVERY_ORDER = {"pending": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


# Sends run a little under each platform's cap: a send woken late followed by one on time must
# rarely put more than the cap into one second at the platform (which answers 429 beyond it;
# those are retried).
RATE_MARGIN = 0.97


class Pacer:
    """Send times on a fixed schedule, 1/rate apart. A send's slot is fixed when it asks, not
    when it wakes, so one late wake-up (a busy loop, a thread hand-off) does not push every
    later send back: a limiter timed from the last actual send (aiolimiter's leaky bucket) lost
    14 % of an 80/s cap that way in `make bench`."""

    def __init__(self, cap: float) -> None:
        self.interval = 1.0 / (cap * RATE_MARGIN)
        self._next = 0.0

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(self._next, now)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def backoff_seconds(attempts: int) -> float:
    return float(min(2 ** attempts, 300))


class Outbox:
    def __init__(
        self,
        database: Database,
        transports: Mapping[str, Transport],
        rates: Mapping[str, float],
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        stale_after: float = 60.0,
        clock: Callable[[], dt.datetime] = utcnow,
        metrics: Optional[Metrics] = None,
    ) -> None:
        self.database = database
        self.metrics = metrics
        self.transports = transports
        self.pacers = {channel: Pacer(rate) for channel, rate in rates.items()}
        # A pass must finish well before its rows count as stale, or a slow cap (a few
        # messages per second) would see rows still waiting for the limiter released and sent
        # a second time.
        slowest = min(rates.values(), default=float(batch_size))
        self.batch_size = max(1, min(batch_size, int(slowest * stale_after / 2)))
        self.poll_seconds = poll_seconds
        self.stale_after = stale_after
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None
        self._late_statuses: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        tasks = [*self._late_statuses, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        """Keep sends flowing: the next batch is claimed while the last half of the current one
        is still being sent, so the pacers never wait for a claim (waiting for a whole batch
        before claiming the next stalled sending 0.1-0.3 s every 200 rows)."""
        in_flight: set[asyncio.Task[None]] = set()
        low = max(1, self.batch_size // 2)
        room = asyncio.Event()

        def finished(task: "asyncio.Task[None]") -> None:
            in_flight.discard(task)
            if len(in_flight) < low:
                room.set()

        while True:
            try:
                claimed = await self._claim_due()
            except Exception:  # the database may be restarting: try again shortly
                logger.exception("outbox pass failed")
                claimed = []
            for row_id, channel, request in claimed:
                task = asyncio.create_task(self._send(row_id, channel, request))
                in_flight.add(task)
                task.add_done_callback(finished)
            if len(in_flight) >= low:
                room.clear()
                await room.wait()
            elif not claimed:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except asyncio.TimeoutError:
                    pass

    # ---- one pass --------------------------------------------------------------------------
    async def _claim_due(self) -> list[tuple[int, str, dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._release_stale)
        claimed, closed = await loop.run_in_executor(None, self._claim)
        for channel, count in closed.items():
            self._count(channel, "window_closed", count)
        return claimed

    async def send_due(self) -> int:
        """Claim and send the rows that are due now, all of them; returns how many."""
        claimed = await self._claim_due()
        await asyncio.gather(*(self._send(row_id, channel, request) for row_id, channel, request in claimed))
        return len(claimed)

    def _release_stale(self) -> None:
        """Rows a crash left `sending` may or may not have reached the platform. A reply is
        tried again (the citizen asked: better twice than never); a broadcast delivery is
        recorded failed, since an announcement must reach each citizen at most once."""
        now = self.clock()
        limit = now - dt.timedelta(seconds=self.stale_after)
        stale = and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < limit)
        with self.database.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.broadcast_id.is_(None))
                .values(status="pending")
            )
            session.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.broadcast_id.is_not(None))
                .values(status="failed", status_at=now, error=INTERRUPTED)
            )

    def _claim(self) -> tuple[list[tuple[int, str, dict[str, Any]]], dict[str, int]]:
        """The rows this worker won, and per channel how many were held back (window closed)."""
        now = self.clock()
        with self.database.session() as session:
            heads = (
                select(func.min(OutboxMessage.id).label("id"))
                .where(OutboxMessage.status.in_(("pending", "sending")))
                .group_by(OutboxMessage.channel, OutboxMessage.user_id)
                .subquery()
            )
            candidates = session.execute(
                select(
                    OutboxMessage.id, OutboxMessage.channel, OutboxMessage.request,
                    OutboxMessage.user_id,
                )
                .join(heads, heads.c.id == OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
            ).all()
            closed = self._outside_window(session, candidates, now)
            held_back: dict[str, int] = {}
            claimed = []
            for row_id, channel, request, _user in candidates:
                if row_id in closed:
                    values: dict[str, Any] = {
                        "status": "failed", "status_at": now, "error_code": WINDOW_CLOSED,
                        "error": "the 24-hour customer-service window is closed",
                    }
                else:
                    values = {"status": "sending", "claimed_at": now}
                won = session.execute(
                    update(OutboxMessage)
                    .where(and_(OutboxMessage.id == row_id, OutboxMessage.status == "pending"))
                    .values(**values)
                ).rowcount
                if won and row_id not in closed:
                    claimed.append((row_id, channel, request))
                elif won:
                    held_back[channel] = held_back.get(channel, 0) + 1
        return claimed, held_back

    def _outside_window(
        self, session: Any, candidates: list[Any], now: dt.datetime
    ) -> set[int]:
        """Free-form rows whose citizen last wrote longer ago than the platform's window allows:
        recorded as failed (as the platform would, with 131047) instead of being sent."""
        windowed = [
            (row_id, channel, user)
            for row_id, channel, request, user in candidates
            if request.get("window")
            and getattr(self.transports.get(channel), "service_window", None) is not None
        ]
        if not windowed:
            return set()
        users = {(channel, user) for _row, channel, user in windowed}
        last = {
            (channel, user): at
            for channel, user, at in session.execute(
                select(Contact.channel, Contact.user_id, Contact.last_inbound_at).where(
                    Contact.channel.in_({c for c, _u in users}),
                    Contact.user_id.in_({u for _c, u in users}),
                )
            )
        }
        closed = set()
        for row_id, channel, user in windowed:
            window = self.transports[channel].service_window
            at = last.get((channel, user))
            if at is None or now - at > window:
                closed.add(row_id)
        return closed

    async def _send(self, row_id: int, channel: str, request: dict[str, Any]) -> None:
        transport = self.transports.get(channel)
        if transport is None:
            result = SendResult(ok=False, permanent=True, error=f"channel {channel} is off")
        else:
            pacer = self.pacers.get(channel)
            if pacer is not None:
                await pacer.wait()
            try:
                result = await transport.send(request)
            except Exception as error:  # a bug in a client must not lose the row
                logger.exception("sending outbox row %s failed", row_id)
                result = SendResult(ok=False, error=repr(error))
        outcome = await asyncio.get_running_loop().run_in_executor(None, self._record, row_id, result)
        self._count(channel, outcome)
        if not result.ok and result.retry_after is not None:
            self._wake.set()

    def _count(self, channel: str, outcome: str, amount: int = 1) -> None:
        if self.metrics is not None and amount:
            self.metrics.outbox_attempts.labels(channel=channel, outcome=outcome).inc(amount)

    def _record(self, row_id: int, result: SendResult) -> str:
        """Write a send's outcome on its row; returns "sent", "retry" or "failed"."""
        now = self.clock()
        with self.database.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return "failed"
            row.attempts += 1
            if result.ok:
                row.status = "sent"
                row.platform_message_id = result.platform_message_id
                row.sent_at = now
                row.error = None
                return "sent"
            row.error_code = result.error_code
            row.error = (result.error or "")[:2000]
            if result.permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                row.status_at = now
                if result.blocked:
                    block_citizen(session, row.channel, row.user_id, now)
                return "failed"
            delay = result.retry_after if result.retry_after is not None else backoff_seconds(row.attempts)
            row.status = "pending"
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
            return "retry"

    # ---- delivery statuses (WhatsApp) --------------------------------------------------------
    async def update_status(
        self,
        channel: str,
        platform_message_id: str,
        status: str,
        error_code: Optional[int],
        error_title: Optional[str],
        at: dt.datetime,
    ) -> None:
        """Statuses only move forward. One may arrive before the send's own answer has been
        recorded (Meta is quick): it is tried again a little later instead of being dropped."""
        args = (channel, platform_message_id, status, error_code, error_title, at)
        found = await asyncio.get_running_loop().run_in_executor(None, self._apply_status, *args)
        if not found:
            task = asyncio.create_task(self._apply_status_later(args))
            self._late_statuses.add(task)
            task.add_done_callback(self._late_statuses.discard)

    async def _apply_status_later(self, args: tuple[Any, ...]) -> None:
        for delay in STATUS_RETRY_DELAYS:
            await asyncio.sleep(delay)
            if await asyncio.get_running_loop().run_in_executor(None, self._apply_status, *args):
                return
        logger.info("status %s for unknown %s message %s dropped", args[2], args[0], args[1])

    def _apply_status(
        self,
        channel: str,
        platform_message_id: str,
        status: str,
        error_code: Optional[int],
        error_title: Optional[str],
        at: dt.datetime,
    ) -> bool:
        """Apply one status; False when no sent message has that platform id (yet)."""
        with self.database.session() as session:
            row = session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.platform_message_id == platform_message_id,
                )
            ).scalar_one_or_none()
            if row is None:
                return False
            if DELIVERY_ORDER.get(status, -1) <= DELIVERY_ORDER.get(row.status, 0):
                return True
            row.status = status
            row.status_at = at.replace(tzinfo=None) if at.tzinfo else at
            if status == "failed":
                row.error_code = error_code
                row.error = error_title
        return True

    async def blocked(self, channel: str, user_id: str) -> None:
        """Implements the channels' `MembershipSink`: the citizen blocked the bot."""

        def write() -> None:
            with self.database.session() as session:
                block_citizen(session, channel, user_id, self.clock())

        await asyncio.get_running_loop().run_in_executor(None, write)


def block_citizen(session: Any, channel: str, user_id: str, now: dt.datetime) -> None:
    """A blocked citizen is unsubscribed and their contact marked, so nothing more is sent."""
    session.execute(
        update(Subscriber)
        .where(
            Subscriber.channel == channel,
            Subscriber.user_id == user_id,
            or_(Subscriber.opted_out_at.is_(None), Subscriber.opted_out_at < Subscriber.opted_in_at),
        )
        .values(opted_out_at=now)
    )
    contact = session.execute(
        select(Contact).where(Contact.channel == channel, Contact.user_id == user_id)
    ).scalar_one_or_none()
    if contact is None:
        session.add(Contact(channel=channel, user_id=user_id, blocked_at=now))
    else:
        contact.blocked_at = now
