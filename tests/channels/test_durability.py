"""Nothing a citizen sends is lost or answered twice when the gateway stops at the worst moment."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.messaging import InboxMessage, OutboxMessage
from bot.db.session import Database
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import (
    HeldBrain,
    free_port,
    platform_settings,
    start_platform_gateway,
)
from tests.conversations.expect import first_line, response
from tests.fakes import telegram_updates as updates

pytestmark = pytest.mark.slow


def telegram_rows(database: Database, model: Any, chat_id: int) -> list[Any]:
    with database.session() as session:
        found = session.execute(
            select(model).where(model.channel == "telegram", model.user_id == str(chat_id))
            .order_by(model.id)
        ).scalars().all()
        session.expunge_all()
        return list(found)


async def test_a_message_stored_when_the_gateway_stops_mid_turn_is_answered_once_after_restart(
    aiohttp_server, aiohttp_client, tmp_path, live_settings, live_db, brain, action_server,
    fake_telegram, fake_whatsapp, chat_id,
):
    settings = platform_settings(live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path)
    held = HeldBrain(brain)
    first = await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, held, live_db, fake_telegram, fake_whatsapp
    )
    assert await fake_telegram.deliver(updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id)) == 200
    await asyncio.wait_for(held.turn_started.wait(), 10)
    await first.client.close()  # the server stops; the turn in flight is cancelled

    assert [r.status for r in telegram_rows(live_db, InboxMessage, chat_id)] == ["pending"]
    assert telegram_rows(live_db, OutboxMessage, chat_id) == []

    settings = platform_settings(live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path)
    await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, brain, live_db, fake_telegram, fake_whatsapp
    )
    messages = await fake_telegram.wait_for_sent(1, chat_id=chat_id, timeout=30)
    assert first_line(response("utter_greet", "fr")) in messages[0]["text"]
    await asyncio.sleep(1.5)  # one more outbox poll: nothing goes twice
    outbox = telegram_rows(live_db, OutboxMessage, chat_id)
    assert len(fake_telegram.sent(chat_id)) == len(outbox)
    assert all(r.status == "sent" and r.attempts == 1 for r in outbox)


async def test_replies_waiting_in_the_outbox_at_a_stop_are_sent_once_after_restart(
    aiohttp_server, aiohttp_client, tmp_path, live_settings, live_db, brain, action_server,
    fake_telegram, fake_whatsapp, chat_id,
):
    settings = platform_settings(live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path)
    first = await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, brain, live_db, fake_telegram, fake_whatsapp
    )
    fake_telegram.fail_next("sendMessage", 429, retry_after=30, chat_id=chat_id)
    assert await fake_telegram.deliver(updates.text_message("merci", chat_id=chat_id, user_id=chat_id)) == 200
    await fake_telegram.wait_for(
        lambda: any(r.attempts == 1 for r in telegram_rows(live_db, OutboxMessage, chat_id)), timeout=30
    )
    await first.client.close()
    assert fake_telegram.sent(chat_id) == []

    # Telegram's 30 s are shortened here so the test need not wait them out.
    with live_db.session() as session:
        for row in session.execute(
            select(OutboxMessage).where(OutboxMessage.user_id == str(chat_id))
        ).scalars():
            row.next_attempt_at = row.created_at
    settings = platform_settings(live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path)
    await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, brain, live_db, fake_telegram, fake_whatsapp
    )
    messages = await fake_telegram.wait_for_sent(1, chat_id=chat_id, timeout=30)
    assert first_line(response("utter_thank", "fr")) in messages[0]["text"]
    await asyncio.sleep(1.5)
    assert len(fake_telegram.sent(chat_id)) == len(telegram_rows(live_db, OutboxMessage, chat_id))


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
        return json.loads(answer.read())


async def _wait_listening(port: int, process: "subprocess.Popen[bytes]", timeout: float = 120) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        assert process.poll() is None, f"the gateway exited with {process.returncode}"
        try:
            return await loop.run_in_executor(None, _health, port)
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError("the gateway never listened")


def _gateway_process(settings: Settings, models_dir: Path) -> "subprocess.Popen[bytes]":
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ACTION_SERVER_URL": settings.action_server_url,
        "SAWT_PORT": str(settings.port),
        "SAWT_PUBLIC_URL": settings.public_url or "",
        "SAWT_MEDIA_DIR": str(settings.media_dir),
        "SAWT_MODELS_DIR": str(models_dir),
        "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token or "",
        "TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret or "",
        "TELEGRAM_API_BASE": settings.telegram_api_base,
    }
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "gateway"], env=env, cwd=PROJECT_ROOT)


async def test_a_gateway_killed_after_storing_a_message_answers_it_once_when_started_again(
    tmp_path, live_settings, live_db, trained_model_path, action_server, fake_telegram, fake_whatsapp,
    chat_id,
):
    """A real process and a real SIGKILL: the update is acknowledged (stored) while the model
    is still loading, the process dies, and the next process answers it — once."""
    port = free_port()
    settings = platform_settings(live_settings, port, fake_telegram, fake_whatsapp, tmp_path)
    settings = settings.with_overrides(port=port, whatsapp_token=None)
    process = _gateway_process(settings, trained_model_path.parent)
    try:
        health = await _wait_listening(port, process)
        assert health["model"]["state"] == "loading"
        await fake_telegram.wait_for(lambda: fake_telegram.webhook, timeout=30)
        update = updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id)
        assert await fake_telegram.deliver(update) == 200
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert [r.status for r in telegram_rows(live_db, InboxMessage, chat_id)] == ["pending"]

    process = _gateway_process(settings, trained_model_path.parent)
    try:
        await _wait_listening(port, process)
        messages = await fake_telegram.wait_for_sent(1, chat_id=chat_id, timeout=180)
        assert first_line(response("utter_greet", "fr")) in messages[0]["text"]
        await asyncio.sleep(2)
        outbox = telegram_rows(live_db, OutboxMessage, chat_id)
        assert len(fake_telegram.sent(chat_id)) == len(outbox)
        assert [r.status for r in telegram_rows(live_db, InboxMessage, chat_id)] == ["done"]
    finally:
        process.terminate()
        process.wait(timeout=30)
