"""When the database refuses a write, the platform is told to deliver again: nothing is lost."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.appkeys import INBOX
from tests.conftest import free_port, platform_settings, start_platform_gateway
from tests.conversations.expect import first_line, response
from tests.fakes import telegram_updates as updates
from tests.fakes import whatsapp_payloads as wa

pytestmark = pytest.mark.slow


def refuse_writes(monkeypatch: pytest.MonkeyPatch, inbox: Any, times: int) -> list[int]:
    """The inbox's INSERT fails `times` times as a database that is down would make it fail."""
    failures = [0]
    store = inbox._store

    def failing_store(inbound: Any) -> bool:
        if failures[0] < times:
            failures[0] += 1
            raise OperationalError("INSERT INTO inbox", {}, Exception("database is locked"))
        return store(inbound)

    monkeypatch.setattr(inbox, "_store", failing_store)
    return failures


async def test_a_telegram_update_the_database_refused_gets_503_and_its_redelivery_is_answered(
    platforms, chat_id, monkeypatch
):
    refuse_writes(monkeypatch, platforms.app[INBOX], times=1)
    statuses = await platforms.telegram.deliver_until_ok(
        updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id), attempts=3
    )
    assert statuses == [503, 200]
    messages = await platforms.telegram.wait_for_sent(1, chat_id=chat_id, timeout=30)
    assert first_line(response("utter_greet", "fr")) in messages[0]["text"]


async def test_a_whatsapp_webhook_the_database_refused_gets_503(platforms, chat_id, monkeypatch):
    refuse_writes(monkeypatch, platforms.app[INBOX], times=1)
    payload = wa.text("Bonjour", wa_id=str(chat_id))
    status, _ = await platforms.whatsapp.deliver(payload)
    assert status == 503
    status, _ = await platforms.whatsapp.deliver(payload)
    assert status == 200
    sent = await platforms.whatsapp.wait_for_sent(1, to=str(chat_id), timeout=30)
    assert first_line(response("utter_greet", "fr")) in (sent[0].text or "")


async def test_long_polling_moves_past_an_update_only_once_it_is_stored(
    aiohttp_server, aiohttp_client, tmp_path, live_settings, live_db, brain, action_server,
    fake_telegram, fake_whatsapp, chat_id, monkeypatch,
):
    settings = platform_settings(
        live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path, telegram_webhook=False
    )
    gateway = await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, brain, live_db, fake_telegram, fake_whatsapp
    )
    failures = refuse_writes(monkeypatch, gateway.app[INBOX], times=1)
    fake_telegram.queue_update(updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    messages = await fake_telegram.wait_for_sent(1, chat_id=chat_id, timeout=30)
    assert failures == [1]
    assert first_line(response("utter_greet", "fr")) in messages[0]["text"]
    assert fake_telegram.webhook is None, "polling mode removes any webhook first"
    offsets = [c.params.get("offset") for c in fake_telegram.calls_to("getUpdates")]
    assert offsets[0] is None and any(o is not None for o in offsets)
