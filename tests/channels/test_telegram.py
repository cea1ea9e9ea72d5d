"""Telegram end to end: the fake Bot API delivers updates to the real gateway, model and actions."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.appkeys import DATABASE
from bot.db.messaging import InboxMessage, OutboxMessage
from bot.db.models import Complaint, Subscriber, Vote
from bot.i18n import t
from tests.conftest import (
    TELEGRAM_SECRET,
    HeldBrain,
    free_port,
    platform_settings,
    start_platform_gateway,
)
from tests.conversations.expect import first_line, response
from tests.fakes import telegram_updates as updates

pytestmark = pytest.mark.slow

BENGUERIR = (32.2359, -7.9538)
CONSULTATION = "budget_participatif_2027_medina"


def rows(platforms: Any, model: Any, chat_id: int, *where: Any) -> list[Any]:
    with platforms.app[DATABASE].session() as session:
        found = session.execute(
            select(model).where(model.channel == "telegram", model.user_id == str(chat_id), *where)
            .order_by(model.id)
        ).scalars().all()
        session.expunge_all()
        return list(found)


async def say(platforms: Any, update: dict[str, Any]) -> None:
    status = await platforms.telegram.deliver(update)
    assert status == 200


async def sent(platforms: Any, chat_id: int, count: int) -> list[dict[str, Any]]:
    return await platforms.telegram.wait_for_sent(count, chat_id=chat_id, timeout=30)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


def button_data(message: dict[str, Any]) -> list[str]:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["callback_data"] for row in keyboard for button in row]


async def settle(platforms: Any, chat_id: int) -> None:
    """Wait until every stored message of this chat is processed and every reply sent."""

    def done() -> bool:
        inbox = rows(platforms, InboxMessage, chat_id)
        outbox = rows(platforms, OutboxMessage, chat_id)
        return all(r.status == "done" for r in inbox) and all(
            r.status not in ("pending", "sending") for r in outbox
        )

    await platforms.telegram.wait_for(done, timeout=30)


# ---- authenticity ----------------------------------------------------------------------------
async def test_gateway_registers_its_webhook_with_the_secret_and_the_command_menu(platforms):
    webhook = platforms.telegram.webhook
    assert webhook["url"] == f"{platforms.settings.public_url}/webhooks/telegram"
    assert webhook["secret_token"] == TELEGRAM_SECRET
    await platforms.telegram.wait_for(lambda: len(platforms.telegram.calls_to("setMyCommands")) >= 3)
    arabic = [c for c in platforms.telegram.calls_to("setMyCommands") if c.params.get("language_code") == "ar"]
    assert {c["command"] for c in arabic[0].params["commands"]} >= {"start", "menu", "agent", "stop"}


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"X-Telegram-Bot-Api-Secret-Token": "guessed"}, 403),
    ({"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET + "x"}, 403),
])
async def test_an_update_without_the_secret_is_refused_and_nothing_is_stored(platforms, chat_id, headers, status):
    update = updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id, update_id=5)
    response_ = await platforms.client.post("/webhooks/telegram", json=update, headers=headers)
    assert response_.status == status
    assert rows(platforms, InboxMessage, chat_id) == []


async def test_a_malformed_body_with_the_right_secret_is_a_clear_400(platforms):
    response_ = await platforms.client.post(
        "/webhooks/telegram", data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )
    assert response_.status == 400
    assert "Update" in (await response_.json())["error"]


# ---- messages, in order, once ----------------------------------------------------------------
async def test_a_text_message_is_answered_in_the_citizens_chat(platforms, chat_id):
    await say(platforms, updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert first_line(response("utter_greet", "fr")) in text_of(messages)


async def test_a_retried_delivery_is_acknowledged_and_answered_once(platforms, chat_id):
    update = updates.text_message("merci beaucoup", chat_id=chat_id, user_id=chat_id, message_id=7)
    assert await platforms.telegram.deliver(update) == 200
    assert await platforms.telegram.deliver(update) == 200
    await settle(platforms, chat_id)
    assert len(rows(platforms, InboxMessage, chat_id)) == 1
    assert len(platforms.telegram.sent(chat_id)) == len(rows(platforms, OutboxMessage, chat_id))


async def test_one_citizens_messages_are_answered_in_the_order_sent(platforms, chat_id):
    texts = ["Bonjour", "merci", "au revoir"]
    for number, text in enumerate(texts, 1):
        await say(platforms, updates.text_message(text, chat_id=chat_id, user_id=chat_id, message_id=number))
    await settle(platforms, chat_id)
    answer = text_of(platforms.telegram.sent(chat_id))
    positions = [
        answer.find(first_line(response(name, "fr")))
        for name in ("utter_greet", "utter_thank", "utter_goodbye")
    ]
    assert -1 not in positions and positions == sorted(positions), answer


async def test_the_webhook_is_acknowledged_while_the_model_is_still_thinking(
    aiohttp_server, aiohttp_client, tmp_path, live_settings, live_db, brain, action_server,
    fake_telegram, fake_whatsapp, chat_id,
):
    """A turn that never ends does not hold the 200 back: the update is stored, then acknowledged."""
    held = HeldBrain(brain)
    settings = platform_settings(live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path)
    gateway = await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, held, live_db, fake_telegram, fake_whatsapp
    )
    await say(gateway, updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    assert [r.status for r in rows(gateway, InboxMessage, chat_id)] == ["pending"]
    await asyncio.wait_for(held.turn_started.wait(), 10)
    assert fake_telegram.sent(chat_id) == []


# ---- commands, deep links, buttons -----------------------------------------------------------
async def test_a_poster_deep_link_opens_that_consultations_vote(platforms, chat_id):
    await say(platforms, updates.command("start", f"consult_{CONSULTATION}", chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert "Budget participatif 2027" in text_of(messages)
    data = [d for m in messages for d in button_data(m)]
    assert len(data) == 4, data
    assert all(len(d.encode()) <= 64 for d in data)


async def test_a_long_button_payload_travels_as_a_key_and_the_vote_is_counted(platforms, chat_id):
    await say(platforms, updates.command("start", f"consult_{CONSULTATION}", chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    keyboard = messages[-1]["reply_markup"]
    data = button_data(messages[-1])[1]
    assert data.startswith("k:"), "a vote payload is longer than Telegram's 64 bytes"
    await say(platforms, updates.callback_query(
        data, query_id=f"q{chat_id}", chat_id=chat_id, user_id=chat_id, reply_markup=keyboard,
        message_text=messages[-1]["text"],
    ))
    await settle(platforms, chat_id)
    assert f"q{chat_id}" in platforms.telegram.answered_callbacks
    votes = rows(platforms, Vote, chat_id)
    assert len(votes) == 1


async def test_a_pressed_button_is_answered_and_its_spinner_stopped(platforms, chat_id):
    await say(platforms, updates.callback_query(
        '/procedure_documents{"procedure":"birth_certificate"}', query_id=f"b{chat_id}",
        chat_id=chat_id, user_id=chat_id,
    ))
    messages = await sent(platforms, chat_id, 1)
    assert "naissance" in text_of(messages).lower()
    assert f"b{chat_id}" in platforms.telegram.answered_callbacks


async def test_an_unknown_button_key_is_not_taken_as_a_payload(platforms, chat_id):
    await say(platforms, updates.callback_query("k:" + "0" * 24, query_id=f"u{chat_id}", chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert t("empty_message", "fr") in text_of(messages)


async def test_menu_and_stop_commands_stand_for_their_intents(platforms, chat_id):
    await say(platforms, updates.command("menu", chat_id=chat_id, user_id=chat_id, message_id=1))
    await settle(platforms, chat_id)
    assert first_line(response("utter_help", "fr")) in text_of(platforms.telegram.sent(chat_id))


# ---- media, places, other kinds --------------------------------------------------------------
async def test_a_voice_note_outside_a_form_gets_a_kind_reply_in_the_citizens_language(platforms, chat_id):
    await say(platforms, updates.text_message("salam", chat_id=chat_id, user_id=chat_id, message_id=1))
    await settle(platforms, chat_id)
    await say(platforms, updates.voice(chat_id=chat_id, user_id=chat_id, message_id=2))
    await settle(platforms, chat_id)
    last = platforms.telegram.sent(chat_id)[-1]
    assert last["text"] in (t("media_voice", "ary_latn"), t("media_voice", "fr"))
    assert "/help" in button_data(last)


async def test_a_location_outside_a_form_gives_the_nearest_office_and_its_hours(platforms, chat_id):
    await say(platforms, updates.location(*BENGUERIR, chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert "📍" in text_of(messages) and "🕘" in text_of(messages)


async def test_a_photo_and_a_location_sent_during_the_complaint_form_are_attached(platforms, chat_id):
    platforms.telegram.add_file("photo-big-1280x960", b"\xff\xd8\xff\xe0fake-jpeg", "photos/file_1.jpg")

    async def step(update: dict[str, Any]) -> None:
        await say(platforms, update)
        await settle(platforms, chat_id)

    await step(updates.text_message("je veux signaler un problème d'éclairage", chat_id=chat_id, user_id=chat_id, message_id=1))
    await step(updates.photo(file_id="photo-big", chat_id=chat_id, user_id=chat_id, message_id=2))
    assert t("complaint_photo_attached", "fr") in text_of(platforms.telegram.sent(chat_id))
    await step(updates.text_message("Le lampadaire de ma rue est en panne depuis deux semaines", chat_id=chat_id, user_id=chat_id, message_id=3))
    await step(updates.location(*BENGUERIR, chat_id=chat_id, user_id=chat_id, message_id=4))
    answer = text_of(platforms.telegram.sent(chat_id))
    assert re.search(r"REC-\d{4}-\d{6}", answer), answer
    with platforms.app[DATABASE].session() as session:
        complaint = session.execute(
            select(Complaint).where(Complaint.channel == "telegram", Complaint.user_id == str(chat_id))
        ).scalar_one()
        assert complaint.latitude == pytest.approx(BENGUERIR[0])
        assert complaint.longitude == pytest.approx(BENGUERIR[1])
        photo = Path(platforms.settings.media_dir) / complaint.photo_path
    assert photo.read_bytes() == b"\xff\xd8\xff\xe0fake-jpeg"


@pytest.mark.parametrize("build", [updates.sticker, updates.contact, updates.document, updates.video_note])
async def test_a_sticker_contact_or_file_gets_a_reply_saying_what_can_be_read(platforms, chat_id, build):
    await say(platforms, build(chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert t("media_other", "fr") in text_of(messages)


async def test_a_contact_card_keeps_no_phone_number(platforms, chat_id):
    await say(platforms, updates.contact(chat_id=chat_id, user_id=chat_id, phone_number="+212612345678"))
    await settle(platforms, chat_id)
    stored = rows(platforms, InboxMessage, chat_id)[0].inbound
    assert "612345678" not in str(stored)


async def test_a_forwarded_message_and_an_edited_one_are_answered(platforms, chat_id):
    await say(platforms, updates.forwarded_message("Bonjour", chat_id=chat_id, user_id=chat_id, message_id=1))
    await say(platforms, updates.edited_message("merci", chat_id=chat_id, user_id=chat_id, message_id=1))
    await settle(platforms, chat_id)
    answer = text_of(platforms.telegram.sent(chat_id))
    assert first_line(response("utter_greet", "fr")) in answer
    assert first_line(response("utter_thank", "fr")) in answer


async def test_inline_queries_and_polls_are_acknowledged_and_ignored(platforms, chat_id):
    """The bot does not ask for them (allowed_updates), but a webhook set earlier by another
    tool may still deliver them: acknowledged, never stored."""
    for number, update in enumerate((updates.inline_query(user_id=chat_id), updates.poll_state()), 1):
        update["update_id"] = number
        answer = await platforms.client.post(
            "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        )
        assert answer.status == 200
    assert rows(platforms, InboxMessage, chat_id) == []


# ---- groups ----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant, answered", [
    ("plain", False), ("mention", True), ("command", True), ("reply", True),
])
async def test_in_a_group_the_bot_answers_only_when_addressed(platforms, chat_id, variant, answered):
    group = -1_000_000_000_000 - chat_id
    await say(platforms, updates.group_message("Bonjour", variant=variant, chat_id=group, user_id=chat_id))
    if answered:
        assert await sent(platforms, group, 1)
    else:
        assert rows(platforms, InboxMessage, group) == []


async def test_a_channel_post_that_does_not_mention_the_bot_is_ignored(platforms, chat_id):
    channel = -1_000_000_000_000 - chat_id
    assert await platforms.telegram.deliver(updates.channel_post(chat_id=channel)) == 200
    assert rows(platforms, InboxMessage, channel) == []


# ---- blocked citizens, rate limits, long replies ---------------------------------------------
def subscribed(platforms: Any, chat_id: int) -> None:
    from bot.db.citizens import subscribe

    assert subscribe(platforms.app[DATABASE], "benguerir", "telegram", str(chat_id), "fr", None, [])


def active_subscription(platforms: Any, chat_id: int) -> bool:
    return any(s.active for s in rows(platforms, Subscriber, chat_id))


async def test_a_citizen_who_blocks_the_bot_is_unsubscribed(platforms, chat_id):
    subscribed(platforms, chat_id)
    await say(platforms, updates.my_chat_member(old_status="member", new_status="kicked", chat_id=chat_id, user_id=chat_id))
    assert not active_subscription(platforms, chat_id)


async def test_a_reply_refused_with_403_marks_the_citizen_blocked_and_unsubscribed(platforms, chat_id):
    subscribed(platforms, chat_id)
    platforms.telegram.block(chat_id)
    await say(platforms, updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    await settle(platforms, chat_id)
    failed = [r for r in rows(platforms, OutboxMessage, chat_id) if r.status == "failed"]
    assert failed and failed[0].error_code == 403
    assert not active_subscription(platforms, chat_id)
    assert platforms.telegram.sent(chat_id) == []


async def test_a_429_is_retried_after_the_delay_telegram_asks_and_sent_once(platforms, chat_id):
    platforms.telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, chat_id=chat_id)
    started = time.monotonic()
    await say(platforms, updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    messages = await sent(platforms, chat_id, 1)
    assert time.monotonic() - started >= 2
    await settle(platforms, chat_id)
    assert len(platforms.telegram.sent(chat_id)) == len(messages)
    first = rows(platforms, OutboxMessage, chat_id)[0]
    assert first.status == "sent" and first.attempts == 2


async def test_a_5xx_from_telegram_is_retried(platforms, chat_id):
    platforms.telegram.fail_with_status("sendMessage", 502, times=1)
    await say(platforms, updates.text_message("Bonjour", chat_id=chat_id, user_id=chat_id))
    assert await sent(platforms, chat_id, 1)


# ---- bad input -------------------------------------------------------------------------------
async def test_an_empty_or_emoji_only_or_huge_text_gets_a_clear_answer(platforms, chat_id):
    for number, text in enumerate(("   ", "😀😀", "x" * 20_000), 1):
        await say(platforms, updates.text_message(text, chat_id=chat_id, user_id=chat_id, message_id=number))
    await settle(platforms, chat_id)
    answer = text_of(platforms.telegram.sent(chat_id))
    assert t("empty_message", "fr") in answer
    assert t("too_long", "fr", length=20_000, limit=2000) in answer
    assert len(platforms.telegram.sent(chat_id)) >= 3


async def test_a_binary_body_with_the_right_secret_is_refused_with_400(platforms):
    answer = await platforms.client.post(
        "/webhooks/telegram", data=b"\x00\xff\xfe\x89PNG",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert answer.status == 400


async def test_a_deep_link_from_an_arabic_telegram_app_is_answered_in_darija(platforms, chat_id):
    update = updates.command(
        "start", f"consult_{CONSULTATION}", chat_id=chat_id, user_id=chat_id, language_code="ar"
    )
    await say(platforms, update)
    messages = await sent(platforms, chat_id, 1)
    assert "الميزانية التشاركية 2027" in text_of(messages)
