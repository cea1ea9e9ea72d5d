"""Conversations handed to a person: the queue, taking one (the bot falls silent), the agent's
reply through the Notifier, handing back (the bot speaks again), the audit of each move."""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import handoffs
from bot.db.citizens import request_handoff
from bot.db.console import AuditEntry, create_account
from bot.db.conversations import LogEntry, handoff_is_active, write_log
from bot.db.messaging import Contact, OutboxMessage
from bot.db.models import ConversationLog, HandoffRequest, utcnow
from bot.db.session import Database
from bot.i18n import t
from bot.identity import make_sender_id
from tests.conftest import CONSOLE_ADMIN, CONSOLE_AGENT, console_login, free_port, make_settings

COMMUNE = "benguerir"
SECOND_AGENT = ("karim", "another long passphrase")


def ask_for_a_person(
    database: Database, channel: str = "rest", user_id: str = "webchat-7f3a",
    language: str = "ary_latn", reason: str = "bghit nhder m3a chi wa7ed",
) -> tuple[int, str]:
    """A citizen's message and the hand-off request it made, as the assistant records them."""
    sender_id = make_sender_id(channel, user_id)
    write_log(database, [LogEntry(sender_id, channel, "in", reason, intent="human_handoff",
                                  language=language)])
    assert request_handoff(database, COMMUNE, sender_id, channel, user_id, language, reason)
    write_log(database, [LogEntry(sender_id, channel, "out", t("handoff_requested", language),
                                  language=language)])
    with database.session() as session:
        handoff_id = session.execute(
            select(HandoffRequest.id).where(HandoffRequest.sender_id == sender_id)
            .order_by(HandoffRequest.id.desc())
        ).scalars().first()
    assert handoff_id is not None
    return handoff_id, sender_id


def request_row(database: Database, handoff_id: int) -> HandoffRequest:
    with database.session() as session:
        row = session.get(HandoffRequest, handoff_id)
        assert row is not None
        return row


def audit_actions(database: Database, handoff_id: int) -> list[tuple[str, str]]:
    with database.session() as session:
        return [
            (e.actor, e.action) for e in session.execute(
                select(AuditEntry).where(AuditEntry.entity == "handoff",
                                         AuditEntry.entity_id == str(handoff_id))
                .order_by(AuditEntry.id)
            ).scalars()
        ]


def log_of(database: Database, sender_id: str) -> list[ConversationLog]:
    with database.session() as session:
        return list(session.execute(
            select(ConversationLog).where(ConversationLog.sender_id == sender_id)
            .order_by(ConversationLog.id)
        ).scalars())


def bubbles(html: str) -> list[tuple[str, str]]:
    """(speaker, text) of each message bubble of a conversation page."""
    return [
        (speaker, text.strip()) for speaker, text in re.findall(
            r'data-speaker="(\w+)">\s*<span class="who">[^<]*</span>\s*<p dir="auto">(.*?)</p>',
            html, re.S,
        )
    ]


async def take(client: Any, token: str, handoff_id: int) -> Any:
    return await client.post(f"/admin/handoffs/{handoff_id}/take", data={"csrf_token": token})


async def reply(client: Any, token: str, handoff_id: int, text: str) -> Any:
    return await client.post(
        f"/admin/handoffs/{handoff_id}/reply", data={"csrf_token": token, "text": text}
    )


async def hand_back(client: Any, token: str, handoff_id: int) -> Any:
    return await client.post(f"/admin/handoffs/{handoff_id}/hand-back", data={"csrf_token": token})


# ---- the queue --------------------------------------------------------------------------------
async def test_a_citizen_asking_for_a_person_appears_in_the_queue(console):
    handoff_id, _sender = ask_for_a_person(console.database, reason="bghit nhder m3a chi mowadaf")
    await console_login(console, CONSOLE_AGENT)

    page = await (await console.get("/admin/handoffs")).text()

    assert 'data-count="1"' in page
    row = re.search(rf'<tr data-testid="handoff-row" data-id="{handoff_id}".*?</tr>', page, re.S)
    assert row, page
    assert 'data-status="waiting"' in row.group(0)
    assert "bghit nhder m3a chi mowadaf" in row.group(0)
    assert "Web chat" in row.group(0) and "Darija (latin)" in row.group(0)


async def test_the_queue_serves_the_longest_wait_first_then_lists_the_taken_ones(console):
    first, _ = ask_for_a_person(console.database, user_id="first")
    second, _ = ask_for_a_person(console.database, user_id="second")
    third, _ = ask_for_a_person(console.database, user_id="third")
    assert handoffs.take(console.database, first, "amina")
    await console_login(console, CONSOLE_AGENT)

    page = await (await console.get("/admin/handoffs")).text()

    order = [int(i) for i in re.findall(r'data-testid="handoff-row" data-id="(\d+)"', page)]
    assert order == [second, third, first]
    assert 'data-count="2"' in page


async def test_a_button_press_shows_the_citizens_last_words_as_first_message(console):
    database = console.database
    sender_id = "webchat-button"
    write_log(database, [LogEntry(sender_id, "rest", "in", "عافاك بغيت نتكلم مع موظف")])
    request_handoff(database, COMMUNE, sender_id, "rest", sender_id, "ary", "/human_handoff")
    await console_login(console, CONSOLE_AGENT)

    page = await (await console.get("/admin/handoffs")).text()

    assert "عافاك بغيت نتكلم مع موظف" in page and "/human_handoff" not in page


# ---- taking a conversation -------------------------------------------------------------------
async def test_taking_a_conversation_makes_it_active_and_the_bot_silent(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    assert not handoff_is_active(console.database, sender_id)
    token = await console_login(console, CONSOLE_AGENT)

    page = await (await take(console, token, handoff_id)).text()

    row = request_row(console.database, handoff_id)
    assert (row.status, row.agent) == ("active", "amina") and row.taken_at is not None
    assert handoff_is_active(console.database, sender_id)
    assert 'data-flash="taken"' in page and 'data-status="active"' in page
    assert 'id="reply-form"' in page and 'id="take-form"' not in page
    assert audit_actions(console.database, handoff_id) == [("amina", "handoff.take")]


async def test_two_agents_clicking_take_at_once_only_one_gets_it(console, aiohttp_client):
    handoff_id, _ = ask_for_a_person(console.database)
    create_account(console.database, *SECOND_AGENT, role="agent")
    other = await aiohttp_client(console.server)  # a second browser: its own cookies
    amina_token = await console_login(console, CONSOLE_AGENT)
    karim_token = await console_login(other, SECOND_AGENT)

    pages = await asyncio.gather(
        take(console, amina_token, handoff_id), take(other, karim_token, handoff_id)
    )

    texts = [await page.text() for page in pages]
    flashes = sorted(re.search(r'data-flash="(\w+)"', text).group(1) for text in texts)
    assert flashes == ["taken", "taken_by_other"]
    holder = request_row(console.database, handoff_id).agent
    assert holder in ("amina", "karim")
    assert audit_actions(console.database, handoff_id) == [(holder, "handoff.take")]


def test_concurrent_takes_in_the_data_layer_have_exactly_one_winner(db):
    handoff_id, _ = ask_for_a_person(db)
    start = threading.Barrier(6)
    results: list[bool] = []

    def attempt(agent: str) -> None:
        start.wait()
        results.append(handoffs.take(db, handoff_id, agent))

    threads = [threading.Thread(target=attempt, args=(f"agent{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 5 + [True]
    assert len(audit_actions(db, handoff_id)) == 1


async def test_taking_without_the_csrf_token_is_forbidden(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    await console_login(console, CONSOLE_AGENT)

    response = await console.post(f"/admin/handoffs/{handoff_id}/take", data={})

    assert response.status == 403
    assert request_row(console.database, handoff_id).status == "waiting"
    assert not handoff_is_active(console.database, sender_id)


async def test_an_unknown_conversation_is_not_found(console):
    token = await console_login(console, CONSOLE_AGENT)
    assert (await console.get("/admin/handoffs/99999")).status == 404
    assert (await take(console, token, 99999)).status == 404


# ---- the transcript and the agent's reply ----------------------------------------------------
async def test_the_transcript_shows_citizen_bot_and_agent_in_order(console):
    handoff_id, sender_id = ask_for_a_person(console.database, language="ary",
                                             reason="بغيت نهضر مع شي موظف")
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    write_log(console.database, [LogEntry(sender_id, "rest", "in", "واش كاين شي حد؟")])
    await reply(console, token, handoff_id, "السلام، أنا أمينة من الجماعة. كيفاش نعاونك؟")

    page = await (await console.get(f"/admin/handoffs/{handoff_id}")).text()

    assert bubbles(page) == [
        ("citizen", "بغيت نهضر مع شي موظف"),
        ("bot", t("handoff_requested", "ary")),
        ("citizen", "واش كاين شي حد؟"),
        ("agent", "السلام، أنا أمينة من الجماعة. كيفاش نعاونك؟"),
    ]


async def test_a_citizens_message_is_shown_as_text_never_as_html(console):
    handoff_id, _ = ask_for_a_person(console.database, reason="<script>alert(1)</script>")
    await console_login(console, CONSOLE_AGENT)

    page = await (await console.get(f"/admin/handoffs/{handoff_id}")).text()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_web_chat_reply_is_logged_and_the_agent_told_it_cannot_reach_the_citizen(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)

    response = await reply(console, token, handoff_id, "Salam, ana Amina mn jama3a.")
    page = await response.text()

    assert response.status == 200 and response.url.query.get("sent") == "no_channel"
    assert 'data-result="no_channel"' in page and "Non joignable" in page
    last = log_of(console.database, sender_id)[-1]
    assert (last.direction, last.text) == ("out", "Salam, ana Amina mn jama3a.")
    assert audit_actions(console.database, handoff_id) == [
        ("amina", "handoff.take"), ("amina", "handoff.reply")
    ]


async def test_the_reply_result_is_in_the_agents_language(console):
    handoff_id, _ = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await console.post("/admin/language", data={"language": "ar", "csrf_token": token})
    await take(console, token, handoff_id)

    page = await (await reply(console, token, handoff_id, "Salam")).text()

    assert "لا يمكن الوصول إليه" in page and "Non joignable" not in page


async def test_an_empty_or_too_long_reply_is_refused_and_the_draft_kept(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    before = len(log_of(console.database, sender_id))

    empty = await reply(console, token, handoff_id, "   ")
    too_long = await reply(console, token, handoff_id, "x" * (handoffs.MAX_REPLY_LENGTH + 1))

    assert empty.status == 400 and 'data-flash="reply_empty"' in await empty.text()
    page = await too_long.text()
    assert too_long.status == 400 and 'data-flash="reply_too_long"' in page
    assert "x" * (handoffs.MAX_REPLY_LENGTH + 1) in page
    assert len(log_of(console.database, sender_id)) == before


async def test_only_the_agent_holding_the_conversation_may_reply(console, aiohttp_client):
    handoff_id, sender_id = ask_for_a_person(console.database)
    create_account(console.database, *SECOND_AGENT, role="agent")
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    other = await aiohttp_client(console.server)
    other_token = await console_login(other, SECOND_AGENT)
    before = len(log_of(console.database, sender_id))

    page = await (await reply(other, other_token, handoff_id, "Je reprends.")).text()
    back = await (await hand_back(other, other_token, handoff_id)).text()

    assert 'data-flash="not_yours"' in page and 'data-flash="not_yours"' in back
    assert 'id="reply-form"' not in page
    assert len(log_of(console.database, sender_id)) == before
    assert request_row(console.database, handoff_id).status == "active"


async def test_a_waiting_conversation_cannot_be_answered_before_it_is_taken(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    before = len(log_of(console.database, sender_id))

    page = await (await reply(console, token, handoff_id, "Salam")).text()

    assert 'data-flash="not_yours"' in page
    assert len(log_of(console.database, sender_id)) == before


async def test_new_messages_arrive_as_json_after_the_last_one_shown(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    shown = log_of(console.database, sender_id)[-1].id
    write_log(console.database, [LogEntry(sender_id, "rest", "in", "wach kayn chi wa7ed?")])
    await reply(console, token, handoff_id, "Iyeh, ana hna.")

    response = await console.get(f"/admin/handoffs/{handoff_id}/messages?after={shown}")
    data = await response.json()

    assert data["status"] == "active" and data["agent"] == "amina"
    assert [(m["speaker"], m["text"]) for m in data["messages"]] == [
        ("citizen", "wach kayn chi wa7ed?"), ("agent", "Iyeh, ana hna."),
    ]
    assert all(m["id"] > shown for m in data["messages"])
    latest = data["messages"][-1]["id"]
    again = await (await console.get(f"/admin/handoffs/{handoff_id}/messages?after={latest}")).json()
    assert again["messages"] == []
    assert (await console.get(f"/admin/handoffs/{handoff_id}/messages?after=x")).status == 400


def test_the_transcript_is_the_last_200_messages_oldest_first(db):
    sender_id = "webchat-chatty"
    write_log(db, [LogEntry(sender_id, "rest", "in", f"message {i}") for i in range(230)])

    lines = handoffs.transcript(db, sender_id)

    assert len(lines) == 200
    assert lines[0].text == "message 30" and lines[-1].text == "message 229"


# ---- handing back -----------------------------------------------------------------------------
async def test_handing_back_closes_it_and_the_bot_speaks_again_in_the_citizens_language(console):
    handoff_id, sender_id = ask_for_a_person(console.database, language="ary")
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    await reply(console, token, handoff_id, "تم حل المشكل ديالك.")

    page = await (await hand_back(console, token, handoff_id)).text()

    row = request_row(console.database, handoff_id)
    assert row.status == "closed" and row.closed_at is not None
    assert not handoff_is_active(console.database, sender_id)
    assert 'data-flash="handed_back"' in page and 'data-result="no_channel"' in page
    assert 'id="reply-form"' not in page
    last = log_of(console.database, sender_id)[-1]
    assert (last.direction, last.text) == ("out", t("handoff_assistant_back", "ary"))
    assert bubbles(page)[-2:] == [
        ("agent", "تم حل المشكل ديالك."), ("bot", t("handoff_assistant_back", "ary")),
    ]
    assert audit_actions(console.database, handoff_id) == [
        ("amina", "handoff.take"), ("amina", "handoff.reply"), ("amina", "handoff.close"),
    ]


async def test_a_closed_conversation_leaves_the_queue_and_can_be_asked_for_again(console):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    await hand_back(console, token, handoff_id)

    queue = await (await console.get("/admin/handoffs")).text()
    again = request_handoff(console.database, COMMUNE, sender_id, "rest", sender_id, "fr", "agent")

    assert f'data-id="{handoff_id}"' not in queue
    assert again


async def test_an_admin_may_hand_back_a_conversation_an_agent_left_open(console, aiohttp_client):
    handoff_id, sender_id = ask_for_a_person(console.database)
    token = await console_login(console, CONSOLE_AGENT)
    await take(console, token, handoff_id)
    admin = await aiohttp_client(console.server)
    admin_token = await console_login(admin, CONSOLE_ADMIN)

    await hand_back(admin, admin_token, handoff_id)

    assert request_row(console.database, handoff_id).status == "closed"
    assert not handoff_is_active(console.database, sender_id)
    assert audit_actions(console.database, handoff_id)[-1] == ("admin", "handoff.close")


# ---- WhatsApp: the Notifier's answers ---------------------------------------------------------
@pytest.fixture
async def whatsapp_console(aiohttp_client: Any, tmp_path: Path, fake_whatsapp: Any) -> Any:
    """The console's gateway with WhatsApp on, pointed at the local fake of the Cloud API."""
    from bot.db.migrate import prepare
    from bot.gateway import create_app

    settings = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
        SAWT_ADMIN_USER=CONSOLE_ADMIN[0],
        SAWT_ADMIN_PASSWORD=CONSOLE_ADMIN[1],
        WHATSAPP_TOKEN=fake_whatsapp.token,
        WHATSAPP_PHONE_NUMBER_ID=fake_whatsapp.phone_number_id,
        WHATSAPP_APP_SECRET=fake_whatsapp.app_secret,
        WHATSAPP_VERIFY_TOKEN="sawt-verify-token",
        WHATSAPP_API_BASE=fake_whatsapp.api_base,
    )
    database = Database(settings.database_url)
    prepare(database)
    client = await aiohttp_client(create_app(settings, database=database))
    create_account(database, *CONSOLE_AGENT, role="agent")
    client.database = database
    client.whatsapp = fake_whatsapp
    yield client
    database.dispose()


def whatsapp_contact(database: Database, wa_id: str, last_inbound_at: Any = None,
                     blocked: bool = False) -> None:
    with database.session() as session:
        session.add(Contact(channel="whatsapp", user_id=wa_id, last_inbound_at=last_inbound_at,
                            blocked_at=utcnow() if blocked else None))


async def test_a_whatsapp_reply_inside_the_window_is_sent_to_the_citizen(whatsapp_console):
    wa_id = "212612345678"
    whatsapp_contact(whatsapp_console.database, wa_id, last_inbound_at=utcnow())
    whatsapp_console.whatsapp.open_window(wa_id)
    handoff_id, _ = ask_for_a_person(whatsapp_console.database, "whatsapp", wa_id, "fr",
                                     "je veux parler a un agent svp")
    token = await console_login(whatsapp_console, CONSOLE_AGENT)
    await take(whatsapp_console, token, handoff_id)

    page = await (await reply(whatsapp_console, token, handoff_id, "Bonjour, je suis Amina.")).text()

    assert 'data-result="queued"' in page and "Message envoyé" in page
    sent = await whatsapp_console.whatsapp.wait_for_sent(1, to=wa_id)
    assert sent[0].text == "Bonjour, je suis Amina."


async def test_a_whatsapp_reply_after_24_hours_is_not_sent_and_the_agent_is_told(whatsapp_console):
    wa_id = "212611111111"
    whatsapp_contact(whatsapp_console.database, wa_id,
                     last_inbound_at=utcnow() - dt.timedelta(hours=25))
    handoff_id, _ = ask_for_a_person(whatsapp_console.database, "whatsapp", wa_id, "fr", "agent")
    token = await console_login(whatsapp_console, CONSOLE_AGENT)
    await take(whatsapp_console, token, handoff_id)

    page = await (await reply(whatsapp_console, token, handoff_id, "Bonjour")).text()

    assert 'data-result="window_closed"' in page and "24 h" in page
    with whatsapp_console.database.session() as session:
        assert session.execute(select(OutboxMessage.id)).first() is None


async def test_a_reply_to_a_citizen_who_blocked_the_bot_is_not_sent(whatsapp_console):
    wa_id = "212622222222"
    whatsapp_contact(whatsapp_console.database, wa_id, last_inbound_at=utcnow(), blocked=True)
    handoff_id, _ = ask_for_a_person(whatsapp_console.database, "whatsapp", wa_id, "fr", "agent")
    token = await console_login(whatsapp_console, CONSOLE_AGENT)
    await take(whatsapp_console, token, handoff_id)

    page = await (await reply(whatsapp_console, token, handoff_id, "Bonjour")).text()

    assert 'data-result="blocked"' in page and "bloqué" in page
    assert audit_actions(whatsapp_console.database, handoff_id)[-1] == ("amina", "handoff.reply")


async def test_the_assistant_is_back_message_reaches_a_whatsapp_citizen_in_darija(whatsapp_console):
    wa_id = "212633333333"
    whatsapp_contact(whatsapp_console.database, wa_id, last_inbound_at=utcnow())
    whatsapp_console.whatsapp.open_window(wa_id)
    handoff_id, _ = ask_for_a_person(whatsapp_console.database, "whatsapp", wa_id, "ary_latn")
    token = await console_login(whatsapp_console, CONSOLE_AGENT)
    await take(whatsapp_console, token, handoff_id)

    page = await (await hand_back(whatsapp_console, token, handoff_id)).text()

    assert 'data-result="queued"' in page
    sent = await whatsapp_console.whatsapp.wait_for_sent(1, to=wa_id)
    assert sent[0].text == t("handoff_assistant_back", "ary_latn")
