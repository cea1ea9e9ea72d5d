"""A broadcast reaches each citizen at most once, even when the gateway crashed mid-way:
while expanding (the rows already written are not written again) or while sending (a
delivery whose outcome is unknown is not sent a second time)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import select

from bot.broadcast.engine import BroadcastEngine
from bot.channels.base import Reply
from bot.channels.transport import SendResult
from bot.db.citizens import subscribe
from bot.db.messaging import Broadcast, OutboxMessage
from bot.db.models import utcnow
from bot.outbox import INTERRUPTED, Outbox

COMMUNE = "benguerir"


class RecordingTransport:
    """A platform without a service window that accepts everything and remembers it."""

    channel = "telegram"
    service_window: Optional[dt.timedelta] = None

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def render(self, user_id: str, reply: Reply, language: str) -> list[dict[str, Any]]:
        return [{"method": "sendMessage", "params": {"chat_id": user_id, "text": reply.text}}]

    def template(self, user_id: str, template: dict[str, Any]) -> None:
        return None

    async def send(self, request: dict[str, Any]) -> SendResult:
        self.sent.append(request)
        return SendResult(ok=True, platform_message_id=str(len(self.sent)))


def outbox_rows(database) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_an_expansion_interrupted_by_a_crash_resumes_without_writing_anyone_twice(db):
    for chat in ("1", "2", "3"):
        subscribe(db, COMMUNE, "telegram", chat, "fr", None, [])
    engine = BroadcastEngine(db, {"telegram": RecordingTransport()}, lambda: None)
    broadcast_id = engine.create({"fr": "Avis"}, {}, scheduled_at=utcnow() - dt.timedelta(seconds=1))
    # The crash: the broadcast was claimed and one row written before the process died.
    with db.session() as session:
        session.get(Broadcast, broadcast_id).status = "expanding"
        session.add(OutboxMessage(
            channel="telegram", user_id="2", broadcast_id=broadcast_id,
            request={"method": "sendMessage", "params": {"chat_id": "2", "text": "Avis"}},
        ))
    assert engine.expand_due() == 1
    rows = outbox_rows(db)
    assert sorted(r.user_id for r in rows) == ["1", "2", "3"]
    progress = engine.progress(broadcast_id)
    assert (progress["status"], progress["total"], progress["pending"]) == ("sending", 3, 3)
    assert engine.expand_due() == 0  # nothing left to expand


def test_cancelling_works_only_before_the_expansion_starts(db):
    subscribe(db, COMMUNE, "telegram", "1", "fr", None, [])
    engine = BroadcastEngine(db, {"telegram": RecordingTransport()}, lambda: None)
    later = engine.create({"fr": "Plus tard"}, {}, scheduled_at=utcnow() + dt.timedelta(days=1))
    now = engine.create({"fr": "Maintenant"}, {})
    engine.expand_due()
    assert engine.cancel(later) is True
    assert engine.cancel(now) is False
    assert engine.progress(later)["status"] == "cancelled"
    assert engine.expand_due() == 0
    assert [r.broadcast_id for r in outbox_rows(db)] == [now]


async def test_a_delivery_left_sending_by_a_crash_is_never_sent_twice_but_a_reply_is_retried(db):
    transport = RecordingTransport()
    engine = BroadcastEngine(db, {"telegram": transport}, lambda: None)
    broadcast_id = engine.create({"fr": "Avis"}, {})
    long_ago = utcnow() - dt.timedelta(minutes=10)
    with db.session() as session:
        session.add_all([
            OutboxMessage(
                channel="telegram", user_id="10", broadcast_id=broadcast_id, status="sending",
                claimed_at=long_ago, request={"method": "sendMessage", "params": {"chat_id": "10", "text": "Avis"}},
            ),
            OutboxMessage(
                channel="telegram", user_id="11", status="sending", claimed_at=long_ago,
                request={"method": "sendMessage", "params": {"chat_id": "11", "text": "Réponse"}},
            ),
        ])
    outbox = Outbox(db, {"telegram": transport}, {"telegram": 30.0}, stale_after=60)
    assert await outbox.send_due() == 1
    assert [r["params"]["chat_id"] for r in transport.sent] == ["11"]
    broadcast_row, reply_row = outbox_rows(db)
    assert (broadcast_row.status, broadcast_row.error) == ("failed", INTERRUPTED)
    assert reply_row.status == "sent"


def test_a_slow_cap_claims_no_more_than_it_can_send_before_rows_count_as_stale(db):
    outbox = Outbox(db, {}, {"telegram": 1.0, "whatsapp": 80.0}, batch_size=200, stale_after=60)
    assert outbox.batch_size == 30
    assert Outbox(db, {}, {"telegram": 30.0}, batch_size=200, stale_after=60).batch_size == 200
