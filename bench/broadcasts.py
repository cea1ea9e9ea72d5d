"""Broadcasts through the real API and gateway, against fakes that enforce the platforms' caps.

For each platform in turn, N citizens are subscribed straight in the bench database (WhatsApp
ones with a contact who wrote just now, so the 24-hour window is open), and one broadcast to
that platform alone is created with `POST /api/v1/broadcasts` and followed with `GET` until it
is done. The fake enforces the bot-wide cap the platform does (Telegram: 30 messages/s per
bot; WhatsApp: 80/s per phone number), set exactly at the gateway's own cap
(`SAWT_TELEGRAM_RATE`, `SAWT_WHATSAPP_RATE`), and refuses anything beyond it with a 429 or a
130429. Measured at the fake, from its own timestamps:

- the rate: accepted sends from the first to the last, (n − 1) / (last − first), and that
  rate as a fraction of the cap (goal ≥ 0.95);
- refusals: the 429s / 130429s the cap caused;
- duplicates: recipients who got the broadcast more than once (must be 0);
- missing: subscribers who never got it.

Every wait is bounded.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import aiohttp

from bot.db.access import create_token
from bot.db.content import commune_id
from bot.db.messaging import Contact
from bot.db.models import SUBSCRIPTION_TOPICS, Subscriber, utcnow
from bot.db.session import Database
from tests.fakes.telegram import SEND_METHODS, FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp

TELEGRAM_CITIZENS = 900  # ≈ 30 s at 30/s
WHATSAPP_CITIZENS = 2400  # ≈ 30 s at 80/s
TELEGRAM_CHATS = 840_000_001  # a range no other bench phase uses
WHATSAPP_NUMBERS = 212_700_000_001
POLL_SECONDS = 0.5
SETTLE_SECONDS = 2.0  # after "done": time for a late duplicate to show up at the fake
GOAL = 0.95


@dataclass
class Outcome:
    platform: str
    recipients: int
    sent_at: list[float]  # the fake's time of each accepted send, sorted
    refused: int  # 429 / 130429 answers to this broadcast's sends
    other_errors: int
    duplicates: int
    missing: int
    posted_at: float
    progress: dict[str, object]

    @property
    def rate(self) -> float:
        if len(self.sent_at) < 2:
            return 0.0
        return (len(self.sent_at) - 1) / (self.sent_at[-1] - self.sent_at[0])


def _subscribe(
    database: Database, commune: str, channel: str, users: list[str], open_window: bool
) -> None:
    """What `bot.db.citizens.subscribe` writes for each citizen (every topic, no district), in
    one transaction: one `subscribe` call per citizen costs ≈ 11 ms on SQLite."""
    now = utcnow()
    with database.session() as session:
        cid = commune_id(session, commune)
        session.add_all(
            Subscriber(
                commune_id=cid, channel=channel, user_id=user, language="fr",
                district_id=None, topics=list(SUBSCRIPTION_TOPICS), opted_in_at=now,
            )
            for user in users
        )
        if open_window:
            session.add_all(
                Contact(channel=channel, user_id=user, first_seen_at=now, last_inbound_at=now)
                for user in users
            )


def most_in_window(times: list[float], window: float = 1.0) -> int:
    best, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


class TelegramSide:
    def __init__(self, fake: FakeTelegram, users: list[str], marker: str) -> None:
        self.fake, self.marker = fake, marker
        self.wanted = {int(user) for user in users}
        self.start = len(fake.calls)

    def _ours(self) -> list:
        return [
            call
            for call in self.fake.calls[self.start:]
            if call.method.lower() in SEND_METHODS
            and call.params.get("chat_id") in self.wanted
            and self.marker in str(call.params.get("text") or call.params.get("caption") or "")
        ]

    def accepted(self) -> list[tuple[int, float]]:
        return [(call.params["chat_id"], call.at) for call in self._ours() if call.status == 200]

    def refusals(self) -> tuple[int, int]:
        statuses = [call.status for call in self._ours()]
        return statuses.count(429), sum(1 for s in statuses if s not in (200, 429))


class WhatsAppSide:
    def __init__(self, fake: FakeWhatsApp, users: list[str], marker: str) -> None:
        self.fake, self.marker = fake, marker
        self.wanted = set(users)
        self.start_sent = len(fake.sent)
        self.start_calls = len(fake.calls)

    def accepted(self) -> list[tuple[str, float]]:
        return [
            (sent.wa_id, sent.at)
            for sent in self.fake.sent[self.start_sent:]
            if sent.wa_id in self.wanted and self.marker in (sent.text or "")
        ]

    def refusals(self) -> tuple[int, int]:
        refused = other = 0
        for call in self.fake.calls[self.start_calls:]:
            if call.status == 200 or not call.path.endswith("/messages"):
                continue
            body = call.request if isinstance(call.request, dict) else {}
            if body.get("to") not in self.wanted:
                continue
            error = call.response.get("error", {}) if isinstance(call.response, dict) else {}
            if error.get("code") == 130429:
                refused += 1
            else:
                other += 1
        return refused, other


async def broadcast(
    http: aiohttp.ClientSession,
    base_url: str,
    database: Database,
    commune: str,
    platform: str,
    side_for: Callable[[list[str], str], "TelegramSide | WhatsAppSide"],
    users: list[str],
    cap: float,
) -> Outcome:
    await asyncio.to_thread(
        _subscribe, database, commune, platform, users, platform == "whatsapp"
    )
    marker = f"[bench {platform} {uuid.uuid4().hex[:8]}]"
    side = side_for(users, marker)
    body = {
        "text": {"fr": f"{marker} La commune informe : collecte des encombrants samedi."},
        "audience": {"channels": [platform]},
    }
    posted_at = time.monotonic()
    async with http.post(f"{base_url}/api/v1/broadcasts", json=body) as response:
        if response.status != 201:
            raise RuntimeError(f"POST /api/v1/broadcasts: {response.status} {await response.text()}")
        broadcast_id = (await response.json())["id"]
    deadline = posted_at + 60 + 3 * len(users) / cap
    while True:
        async with http.get(f"{base_url}/api/v1/broadcasts/{broadcast_id}") as response:
            response.raise_for_status()
            progress = await response.json()
        if progress["status"] == "done":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{platform} broadcast not done within {deadline - posted_at:.0f} s: {progress}"
            )
        await asyncio.sleep(POLL_SECONDS)
    await asyncio.sleep(SETTLE_SECONDS)
    accepted = side.accepted()
    per_user: dict[object, int] = {}
    for user, _at in accepted:
        per_user[user] = per_user.get(user, 0) + 1
    refused, other = side.refusals()
    return Outcome(
        platform=platform,
        recipients=len(users),
        sent_at=sorted(at for _user, at in accepted),
        refused=refused,
        other_errors=other,
        duplicates=sum(1 for count in per_user.values() if count > 1),
        missing=len(side.wanted) - len(per_user),
        posted_at=posted_at,
        progress=progress,
    )


def report(outcome: Outcome, cap: float, line: Callable[[str, str], None]) -> None:
    code = "429" if outcome.platform == "telegram" else "130429"
    sent = outcome.sent_at
    span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    rate = outcome.rate
    line(
        f"broadcast {outcome.platform}",
        f"{len(sent)} sent in {span:.1f} s = {rate:.1f}/s, {rate / cap:.3f} of the {cap:g}/s "
        f"cap, {outcome.refused} × {code}, {outcome.duplicates} duplicates, "
        f"{outcome.missing} missing",
    )
    p = outcome.progress
    first = sent[0] - outcome.posted_at if sent else float("nan")
    line(
        f"broadcast {outcome.platform}, API progress",
        f"{p['status']}: {p['sent']} sent, {p['failed']} failed, {p['skipped']} skipped of "
        f"{p['total']}; first send {first:.1f} s after the POST; most in any 1 s: "
        f"{most_in_window(sent)}",
    )
    if outcome.other_errors:
        line(f"broadcast {outcome.platform}, other refused sends", f"{outcome.other_errors}")
    met = rate / cap >= GOAL and outcome.duplicates == 0 and outcome.missing == 0
    line(f"broadcast {outcome.platform}, goal ≥ {GOAL} of the cap, no duplicate", "met" if met else "MISSED")


async def measure_broadcasts(
    telegram: FakeTelegram,
    whatsapp: FakeWhatsApp,
    database_url: str,
    base_url: str,
    commune: str,
    rates: dict[str, float],
    line: Callable[[str, str], None],
) -> list[Outcome]:
    """Print the broadcast figures, Telegram then WhatsApp (one at a time, so each has the
    outbox to itself); the fakes' caps are set for this phase only."""
    database = Database(database_url)
    outcomes = []
    try:
        token = await asyncio.to_thread(create_token, database, "bench-broadcasts")
        headers = {"Authorization": f"Bearer {token}"}
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            telegram_users = [str(TELEGRAM_CHATS + n) for n in range(TELEGRAM_CITIZENS)]
            telegram.global_rate_limit(rates["telegram"])
            try:
                outcome = await broadcast(
                    http, base_url, database, commune, "telegram",
                    lambda users, marker: TelegramSide(telegram, users, marker),
                    telegram_users, rates["telegram"],
                )
            finally:
                telegram.global_rate_limit(None)
            report(outcome, rates["telegram"], line)
            outcomes.append(outcome)

            whatsapp_users = [str(WHATSAPP_NUMBERS + n) for n in range(WHATSAPP_CITIZENS)]
            for user in whatsapp_users:
                whatsapp.open_window(user)
            whatsapp.throughput_limit(rates["whatsapp"])
            try:
                outcome = await broadcast(
                    http, base_url, database, commune, "whatsapp",
                    lambda users, marker: WhatsAppSide(whatsapp, users, marker),
                    whatsapp_users, rates["whatsapp"],
                )
            finally:
                whatsapp.throughput_limit(None)
            report(outcome, rates["whatsapp"], line)
            outcomes.append(outcome)
    finally:
        database.dispose()
    return outcomes
