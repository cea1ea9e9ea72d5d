"""Telegram through a real gateway and the local fake Bot API: acknowledgement, reply, drain.

The fake (`tests.fakes.telegram.FakeTelegram`) runs in the bench's own event loop; the gateway
is started with `TELEGRAM_API_BASE` pointing at it and registers its webhook there, so every
update goes fake → webhook → inbox → model → outbox → fake, as with Telegram.

- Acknowledgement: the time of each `deliver` (the webhook's 200, answered once the update is
  stored and before the model runs), with 50 citizens in their own chats, 4 messages each.
- End-to-end: from the start of `deliver` to the first sendMessage the fake receives for that
  chat (the fake's own timestamp). Each citizen waits until its whole reply has left the
  outbox before writing again, as in the REST run, so a reply is never mistaken for the next.
- Drain: 600 outbox rows written straight into the database, one per chat, and the sendMessage
  rate the fake sees from the first of them to the last, against the per-channel cap.

Every wait is bounded.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable, Optional

from sqlalchemy import select

from bench.turns import MESSAGES, summary
from bot.db.messaging import OutboxMessage
from bot.db.session import Database
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_updates import text_message

WEBHOOK_SECRET = "bench-secret"
CITIZENS = 50
MESSAGES_EACH = 4
WARM_UP = (5, 2)  # citizens, messages each
ALONE_MESSAGES = 10  # one citizen: the acknowledgement and reply with the gateway otherwise idle
DRAIN_ROWS = 600
TURN_TIMEOUT = 120.0
PHASE_TIMEOUT = 900.0
SEND_METHODS = ("sendmessage", "sendphoto")
# Chat ids: one range per phase, so no phase sees another's replies.
WARM_UP_CHATS = 810_000_001
ALONE_CHAT = 815_000_001
LOAD_CHATS = 820_000_001
DRAIN_CHATS = 830_000_001


def telegram_env(fake: FakeTelegram, gateway_port: int) -> dict[str, str]:
    """What the gateway needs to run the Telegram channel against the fake, in webhook mode."""
    return {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE": fake.api_base,
        "SAWT_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
    }


async def wait_for_webhook(fake: FakeTelegram, timeout: float = 120.0, quiet: float = 1.0) -> None:
    """Until the gateway has set its webhook and finished registering (no call for `quiet` s):
    the bench's loop may then be busy for a while (the in-process model) without making the
    gateway's start-up calls time out."""
    deadline = time.monotonic() + timeout
    def registering() -> bool:
        last_call = fake.calls[-1].at if fake.calls else 0.0
        return fake.webhook is None or time.monotonic() - last_call < quiet

    while registering():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gateway did not register its webhook within {timeout:.0f} s")
        await asyncio.sleep(0.1)


class ReplyWatch:
    """Who was sent what, when (the fake's timestamps), and whose outbox rows are all sent.

    One task reads the fake's call log incrementally; another takes a snapshot of the citizens
    with unsent outbox rows every 50 ms (one small query, whatever the number of citizens).
    """

    def __init__(self, fake: FakeTelegram, database: Database) -> None:
        self.fake = fake
        self.database = database
        self.sends: dict[int, list[float]] = {}
        self._seen = 0
        self._changed = asyncio.Event()
        self._busy: set[str] = set()
        self._busy_at = 0.0
        self._snapshot = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> "ReplyWatch":
        self._tasks = [
            asyncio.create_task(self._read_calls()),
            asyncio.create_task(self._poll_outbox()),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def count(self, chat: int) -> int:
        return len(self.sends.get(chat, ()))

    async def _read_calls(self) -> None:
        while True:
            calls = self.fake.calls
            new = calls[self._seen:]
            self._seen += len(new)
            for call in new:
                if call.method.lower() in SEND_METHODS and call.status == 200:
                    self.sends.setdefault(int(call.params["chat_id"]), []).append(call.at)
            if new:
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()
            await asyncio.sleep(0.005)

    def _unsent(self) -> set[str]:
        with self.database.session() as session:
            rows = session.execute(
                select(OutboxMessage.user_id)
                .where(
                    OutboxMessage.channel == "telegram",
                    OutboxMessage.status.in_(("pending", "sending")),
                )
                .distinct()
            ).all()
        return {row[0] for row in rows}

    async def _poll_outbox(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = time.monotonic()
            self._busy = await loop.run_in_executor(None, self._unsent)
            self._busy_at = began
            snapshot, self._snapshot = self._snapshot, asyncio.Event()
            snapshot.set()
            await asyncio.sleep(0.05)

    async def send_number(self, chat: int, number: int) -> float:
        """The fake's time of the `number`-th message (1-based) sent to `chat`."""
        while self.count(chat) < number:
            changed = self._changed
            await changed.wait()
        return self.sends[chat][number - 1]

    async def settled(self, chat: int, since: float) -> None:
        """Until a snapshot begun after `since` shows no unsent outbox row for `chat`."""
        while self._busy_at <= since or str(chat) in self._busy:
            snapshot = self._snapshot
            await snapshot.wait()


async def conversations(
    fake: FakeTelegram, watch: ReplyWatch, citizens: int, messages_each: int, first_chat: int
) -> tuple[list[float], list[float], float]:
    """`citizens` concurrent chats of `messages_each` messages; ack and reply latencies and
    wall time (s)."""
    acks: list[float] = []
    replies: list[float] = []

    async def citizen(chat: int) -> None:
        for i in range(messages_each):
            before = watch.count(chat)
            update = text_message(
                MESSAGES[i % len(MESSAGES)], user_id=chat, chat_id=chat, message_id=i + 1
            )
            started = time.monotonic()
            status = await fake.deliver(update)
            acks.append(time.monotonic() - started)
            if status != 200:
                raise RuntimeError(f"webhook answered {status} for chat {chat}")
            try:
                first = await asyncio.wait_for(watch.send_number(chat, before + 1), TURN_TIMEOUT)
                replies.append(first - started)
                await asyncio.wait_for(watch.settled(chat, first), TURN_TIMEOUT)
            except asyncio.TimeoutError:
                raise TimeoutError(
                    f"no complete reply to chat {chat} within {TURN_TIMEOUT:.0f} s; fake calls:\n"
                    + fake.describe_calls()
                ) from None

    started = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(*(citizen(first_chat + n) for n in range(citizens))), PHASE_TIMEOUT
    )
    return acks, replies, time.monotonic() - started


def _insert_pending(database: Database, chats: list[int]) -> None:
    with database.session() as session:
        session.add_all(
            OutboxMessage(
                channel="telegram",
                user_id=str(chat),
                request={
                    "method": "sendMessage",
                    "params": {"chat_id": str(chat), "text": f"Bench drain message {n + 1}."},
                },
            )
            for n, chat in enumerate(chats)
        )


async def drain(
    fake: FakeTelegram, database: Database, rows: int, cap: float
) -> tuple[list[float], int]:
    """Sends times (the fake's) of `rows` fresh outbox rows, and how many calls to them failed."""
    chats = list(range(DRAIN_CHATS, DRAIN_CHATS + rows))
    wanted = set(chats)
    start_index = len(fake.calls)
    # The gateway's outbox polls the table every second: no wake-up is needed from outside.
    await asyncio.get_running_loop().run_in_executor(None, _insert_pending, database, chats)
    deadline = time.monotonic() + 60 + 3 * rows / cap
    while True:
        ours = [
            call
            for call in fake.calls[start_index:]
            if call.method.lower() in SEND_METHODS and int(call.params.get("chat_id", 0)) in wanted
        ]
        sent = sorted(call.at for call in ours if call.status == 200)
        if len(sent) >= rows:
            return sent, sum(1 for call in ours if call.status != 200)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(sent)} of {rows} outbox rows sent in time")
        await asyncio.sleep(0.25)


def most_in_window(times: list[float], window: float = 1.0) -> int:
    best, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


async def measure_channels(
    fake: FakeTelegram,
    database_url: str,
    cap: float,
    rest_p50: dict[int, float],
    line: Callable[[str, str], None],
) -> None:
    """Print the Telegram figures; `rest_p50` is the REST turn p50 (s) of this run by citizens."""
    database = Database(database_url)
    try:
        async with ReplyWatch(fake, database) as watch:
            await conversations(fake, watch, *WARM_UP, WARM_UP_CHATS)
            alone_acks, alone_replies, _ = await conversations(
                fake, watch, 1, ALONE_MESSAGES, ALONE_CHAT
            )
            acks, replies, wall = await conversations(
                fake, watch, CITIZENS, MESSAGES_EACH, LOAD_CHATS
            )
        a1, e1 = summary(alone_acks), summary(alone_replies)
        line(
            "telegram webhook ack, 1 citizen, p50/p95",
            f"{a1['p50']*1000:.1f} / {a1['p95']*1000:.1f} ms",
        )
        line(
            "telegram reply end to end, 1 citizen, p50/p95",
            f"{e1['p50']*1000:.0f} / {e1['p95']*1000:.0f} ms",
        )
        line("telegram reply p50 / REST turn p50 (1 citizen)", f"{e1['p50']/rest_p50[1]:.2f}x")
        a, e = summary(acks), summary(replies)
        line(
            f"telegram webhook ack, {CITIZENS} citizens, p50/p95/p99",
            f"{a['p50']*1000:.1f} / {a['p95']*1000:.1f} / {a['p99']*1000:.1f} ms",
        )
        line("telegram ack p50 / REST turn p50 (1 citizen)", f"{a['p50']/rest_p50[1]:.2f}x")
        line(
            f"telegram reply end to end, {CITIZENS} citizens, p50/p95",
            f"{e['p50']*1000:.0f} / {e['p95']*1000:.0f} ms",
        )
        same: Optional[float] = rest_p50.get(CITIZENS)
        basis = CITIZENS if same is not None else 1
        line(
            f"telegram reply p50 / REST turn p50 ({basis} citizen(s))",
            f"{e['p50']/rest_p50[basis]:.2f}x",
        )
        line(f"messages/s through telegram at {CITIZENS} citizens", f"{len(replies)/wall:.1f}")

        sent, failed = await drain(fake, database, DRAIN_ROWS, cap)
        rate = (len(sent) - 1) / (sent[-1] - sent[0])
        line(f"outbox drain, {DRAIN_ROWS} rows, telegram messages/s", f"{rate:.1f}")
        line(f"outbox drain rate / cap ({cap:g}/s)", f"{rate/cap:.2f}x")
        line("outbox drain, most sends in any 1 s window", f"{most_in_window(sent)}")
        after_burst = [at for at in sent if at - sent[0] >= 1.0]
        if len(after_burst) > 1:
            steady = (len(after_burst) - 1) / (after_burst[-1] - after_burst[0])
            line("outbox drain after its first second / cap", f"{steady/cap:.2f}x")
        if failed:
            line("outbox drain, refused sends", f"{failed}")
    finally:
        database.dispose()
