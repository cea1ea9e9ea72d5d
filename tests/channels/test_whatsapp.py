"""WhatsApp end to end: the fake Graph API signs webhooks to the real gateway and takes its calls."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.appkeys import DATABASE, OUTBOX
from bot.db.messaging import Contact, InboxMessage, OutboxMessage
from bot.db.models import Complaint, Vote
from bot.i18n import t
from tests.conftest import WHATSAPP_VERIFY_TOKEN
from tests.conversations.expect import first_line, response
from tests.fakes import whatsapp_payloads as wa
from tests.fakes.whatsapp_payloads import sign

pytestmark = pytest.mark.slow

BENGUERIR = (32.2359, -7.9538)


@pytest.fixture
def wa_id(chat_id: int) -> str:
    return f"2126{chat_id}"


def rows(platforms: Any, model: Any, wa_id: str) -> list[Any]:
    with platforms.app[DATABASE].session() as session:
        found = session.execute(
            select(model).where(model.channel == "whatsapp", model.user_id == wa_id).order_by(model.id)
        ).scalars().all()
        session.expunge_all()
        return list(found)


async def say(platforms: Any, payload: dict[str, Any]) -> None:
    status, body = await platforms.whatsapp.deliver_message(payload)
    assert status == 200, body


async def settle(platforms: Any, wa_id: str) -> None:
    def done() -> bool:
        inbox = rows(platforms, InboxMessage, wa_id)
        outbox = rows(platforms, OutboxMessage, wa_id)
        return bool(inbox) and all(r.status == "done" for r in inbox) and all(
            r.status not in ("pending", "sending") for r in outbox
        )

    await platforms.whatsapp.wait_for(done, timeout=30)


def words(platforms: Any, wa_id: str) -> str:
    return "\n".join(m.text or "" for m in platforms.whatsapp.sent_to(wa_id))


def last(platforms: Any, wa_id: str) -> Any:
    return platforms.whatsapp.sent_to(wa_id)[-1]


# ---- authenticity ----------------------------------------------------------------------------
async def test_metas_verification_handshake_echoes_the_challenge(platforms):
    url = f"{platforms.settings.public_url}/webhooks/whatsapp"
    status, body, challenge = await platforms.whatsapp.verify_webhook(url, WHATSAPP_VERIFY_TOKEN)
    assert status == 200 and body == challenge
    status, _body, _challenge = await platforms.whatsapp.verify_webhook(url, "not-the-token")
    assert status == 403


@pytest.mark.parametrize("forge, status", [
    (lambda body: None, 401),
    (lambda body: "sha256=" + "0" * 64, 403),
    (lambda body: sign(body, "another-app-secret"), 403),
    (lambda body: sign(body + b" ", "app-secret"), 403),
    (lambda body: sign(body, "app-secret").replace("sha256=", ""), 403),
])
async def test_a_forged_or_unsigned_webhook_is_refused_and_nothing_is_stored(platforms, wa_id, forge, status):
    body = json.dumps(wa.text("Bonjour", wa_id=wa_id)).encode()
    got, _text = await platforms.whatsapp.deliver(body, signature=forge(body))
    assert got == status
    assert rows(platforms, InboxMessage, wa_id) == []


async def test_a_signed_body_that_is_not_json_is_a_clear_400(platforms):
    got, text = await platforms.whatsapp.deliver(b"{oops", signature=sign(b"{oops", platforms.whatsapp.app_secret))
    assert got == 400 and "JSON" in text


# ---- messages ------------------------------------------------------------------------------
async def test_a_text_is_marked_read_and_answered(platforms, wa_id):
    payload = wa.text("Bonjour", wa_id=wa_id)
    await say(platforms, payload)
    await settle(platforms, wa_id)
    assert wa.messages_of(payload)[0]["id"] in platforms.whatsapp.read_receipts
    assert first_line(response("utter_greet", "fr")) in words(platforms, wa_id)


async def test_a_retried_delivery_is_answered_once(platforms, wa_id):
    payload = wa.text("merci", wa_id=wa_id)
    await say(platforms, payload)
    await say(platforms, payload)
    await settle(platforms, wa_id)
    assert len(rows(platforms, InboxMessage, wa_id)) == 1
    assert len(platforms.whatsapp.sent_to(wa_id)) == len(
        [r for r in rows(platforms, OutboxMessage, wa_id) if r.request["params"].get("type")]
    )


async def test_a_batched_webhook_stores_every_citizens_message(platforms, wa_id):
    other = wa_id + "1"
    await say(platforms, wa.batch(wa.text("Bonjour", wa_id=wa_id), wa.text("merci", wa_id=other)))
    await settle(platforms, wa_id)
    await settle(platforms, other)
    assert first_line(response("utter_greet", "fr")) in words(platforms, wa_id)
    assert first_line(response("utter_thank", "fr")) in words(platforms, other)


# ---- buttons as WhatsApp shows them ----------------------------------------------------------
async def test_a_choice_of_consultations_is_a_list_whose_rows_vote(platforms, wa_id):
    await say(platforms, wa.text("je veux voter", wa_id=wa_id))
    await settle(platforms, wa_id)
    message = last(platforms, wa_id)
    assert message.body["interactive"]["type"] == "list"
    rows_ = message.body["interactive"]["action"]["sections"][0]["rows"]
    assert all(len(r["title"]) <= 24 for r in rows_)
    assert "/consultation_participate" not in (message.text or "")
    chosen = next(r for r in rows_ if "budget" in r["id"] or "Budget" in r.get("description", r["title"]))
    await say(platforms, wa.interactive_list_reply(chosen["id"], chosen["title"], wa_id=wa_id))
    await settle(platforms, wa_id)
    options = last(platforms, wa_id).body["interactive"]["action"]["sections"][0]["rows"]
    await say(platforms, wa.interactive_list_reply(options[0]["id"], options[0]["title"], wa_id=wa_id))
    await settle(platforms, wa_id)
    assert len(rows(platforms, Vote, wa_id)) == 1


async def test_two_short_buttons_are_reply_buttons_and_pressing_one_works(platforms, wa_id):
    await say(platforms, wa.audio("voice-1", voice=True, wa_id=wa_id))
    await settle(platforms, wa_id)
    message = last(platforms, wa_id)
    assert message.body["interactive"]["type"] == "button"
    buttons = message.body["interactive"]["action"]["buttons"]
    assert 1 <= len(buttons) <= 3 and all(len(b["reply"]["title"]) <= 20 for b in buttons)
    assert message.text == t("media_voice", "fr")
    menu = next(b["reply"] for b in buttons if b["reply"]["id"] == "/help")
    await say(platforms, wa.interactive_button_reply(menu["id"], menu["title"], wa_id=wa_id))
    await settle(platforms, wa_id)
    assert first_line(response("utter_help", "fr")) in words(platforms, wa_id)


async def test_more_than_ten_choices_are_numbered_and_a_number_picks_one(platforms, wa_id):
    await say(platforms, wa.text("quels documents faut-il fournir ?", wa_id=wa_id))
    await settle(platforms, wa_id)
    message = last(platforms, wa_id)
    assert message.type == "text", message.body
    assert re.search(r"^11\. ", message.text or "", re.M), message.text
    assert "/procedure_documents" not in (message.text or "")
    second = re.search(r"^2\. (.+)$", message.text or "", re.M).group(1)
    await say(platforms, wa.text("2", wa_id=wa_id))
    await settle(platforms, wa_id)
    assert second.lower()[:12] in (last(platforms, wa_id).text or "").lower()


# ---- statuses and failures -------------------------------------------------------------------
def reply_rows(platforms: Any, wa_id: str) -> list[Any]:
    return [r for r in rows(platforms, OutboxMessage, wa_id) if r.request["params"].get("type")]


async def test_delivery_statuses_move_the_outbox_rows_forward_only(platforms, wa_id):
    await say(platforms, wa.text("Bonjour", wa_id=wa_id))
    await settle(platforms, wa_id)
    wamid = reply_rows(platforms, wa_id)[0].platform_message_id
    for state in ("delivered", "read", "delivered"):
        status, _ = await platforms.whatsapp.deliver(wa.status(wamid, state, wa_id))
        assert status == 200
    assert reply_rows(platforms, wa_id)[0].status == "read"


async def test_a_failed_status_records_its_error_code(platforms, wa_id):
    await say(platforms, wa.text("Bonjour", wa_id=wa_id))
    await settle(platforms, wa_id)
    wamid = reply_rows(platforms, wa_id)[0].platform_message_id
    error = wa.status_error(131026, "Message undeliverable", "Unable to deliver")
    await platforms.whatsapp.deliver(wa.status(wamid, "failed", wa_id, errors=[error]))
    row = reply_rows(platforms, wa_id)[0]
    assert row.status == "failed" and row.error_code == 131026


async def test_a_throughput_error_is_retried_and_the_reply_sent_once(platforms, wa_id):
    platforms.whatsapp.fail_next(130429, to=wa_id)
    await say(platforms, wa.text("Bonjour", wa_id=wa_id))
    await settle(platforms, wa_id)
    row = reply_rows(platforms, wa_id)[0]
    assert row.status == "sent" and row.attempts == 2
    assert len(platforms.whatsapp.sent_to(wa_id)) == len(reply_rows(platforms, wa_id))


@pytest.mark.parametrize("code", [131026, 131047, 131051])
async def test_a_permanent_error_is_recorded_and_not_retried(platforms, wa_id, code):
    platforms.whatsapp.fail_next(code, to=wa_id)
    await say(platforms, wa.text("merci", wa_id=wa_id))
    await settle(platforms, wa_id)
    row = reply_rows(platforms, wa_id)[0]
    assert row.status == "failed" and row.error_code == code and row.attempts == 1


async def test_no_free_form_message_leaves_outside_the_24_hour_window(platforms, wa_id):
    await say(platforms, wa.text("merci", wa_id=wa_id))
    await settle(platforms, wa_id)
    before = len(platforms.whatsapp.calls)
    database = platforms.app[DATABASE]
    with database.session() as session:
        session.execute(
            update(Contact).where(Contact.channel == "whatsapp", Contact.user_id == wa_id)
            .values(last_inbound_at=dt.datetime.utcnow() - dt.timedelta(hours=25))
        )
        session.add(OutboxMessage(
            channel="whatsapp", user_id=wa_id, request={
                "method": "messages", "window": True, "params": {
                    "messaging_product": "whatsapp", "to": wa_id, "type": "text",
                    "text": {"body": "Un agent vous répond"},
                },
            },
        ))
    platforms.app[OUTBOX].wake()
    await settle(platforms, wa_id)
    late = reply_rows(platforms, wa_id)[-1]
    assert late.status == "failed" and late.error_code == 131047
    assert len(platforms.whatsapp.calls) == before


# ---- media and places ------------------------------------------------------------------------
async def test_an_image_during_the_complaint_form_is_fetched_and_attached(platforms, wa_id):
    platforms.whatsapp.add_media("media-77", b"\x89PNG-fake", "image/png")

    async def step(payload: dict[str, Any]) -> None:
        await say(platforms, payload)
        await settle(platforms, wa_id)

    await step(wa.text("je veux signaler des déchets dans ma rue", wa_id=wa_id))
    await step(wa.image("media-77", mime_type="image/png", wa_id=wa_id))
    assert t("complaint_photo_attached", "fr") in words(platforms, wa_id)
    await step(wa.text("Des sacs de poubelle sont entassés depuis une semaine", wa_id=wa_id))
    await step(wa.location(*BENGUERIR, wa_id=wa_id))
    assert re.search(r"REC-\d{4}-\d{6}", words(platforms, wa_id)), words(platforms, wa_id)
    with platforms.app[DATABASE].session() as session:
        complaint = session.execute(
            select(Complaint).where(Complaint.channel == "whatsapp", Complaint.user_id == wa_id)
        ).scalar_one()
        assert complaint.latitude == pytest.approx(BENGUERIR[0])
        photo = Path(platforms.settings.media_dir) / complaint.photo_path
    assert photo.read_bytes() == b"\x89PNG-fake"


async def test_a_location_outside_a_form_gives_the_nearest_office(platforms, wa_id):
    await say(platforms, wa.location(*BENGUERIR, wa_id=wa_id))
    await settle(platforms, wa_id)
    assert "🕘" in words(platforms, wa_id)


@pytest.mark.parametrize("build", [
    lambda wa_id: wa.sticker("st-1", wa_id=wa_id),
    lambda wa_id: wa.document("doc-1", filename="plan.pdf", wa_id=wa_id),
    lambda wa_id: wa.video("vid-1", wa_id=wa_id),
    lambda wa_id: wa.contacts([wa.contact_card("Fatima Zahra", phone="+212 6 61 23 45 67")], wa_id=wa_id),
    lambda wa_id: wa.unsupported(wa_id=wa_id),
])
async def test_what_cannot_be_read_gets_a_reply_saying_so(platforms, wa_id, build):
    await say(platforms, build(wa_id))
    await settle(platforms, wa_id)
    assert t("media_other", "fr") in words(platforms, wa_id)


async def test_a_reaction_is_acknowledged_and_not_answered(platforms, wa_id):
    await say(platforms, wa.reaction("wamid.earlier", "👍", wa_id=wa_id))
    assert rows(platforms, InboxMessage, wa_id) == []


async def test_statuses_that_arrive_right_after_the_send_are_not_lost(platforms, wa_id):
    platforms.whatsapp.auto_statuses = True
    await say(platforms, wa.text("Bonjour", wa_id=wa_id))
    await settle(platforms, wa_id)
    await platforms.whatsapp.wait_for(
        lambda: all(r.status == "delivered" for r in reply_rows(platforms, wa_id)), timeout=30
    )


# ---- bad input -------------------------------------------------------------------------------
async def test_a_huge_text_gets_a_clear_answer_in_the_citizens_language(platforms, wa_id):
    await say(platforms, wa.text("ana bghit " * 3000, wa_id=wa_id))
    await settle(platforms, wa_id)
    assert t("too_long", "ary_latn", length=len(("ana bghit " * 3000).strip()), limit=2000) in words(platforms, wa_id)


async def test_an_emoji_only_message_is_answered(platforms, wa_id):
    await say(platforms, wa.text("🙏🙏🙏", wa_id=wa_id))
    await settle(platforms, wa_id)
    assert words(platforms, wa_id).strip()


async def test_a_signed_binary_body_is_refused_with_400_and_nothing_stored(platforms, wa_id):
    body = b"\x00\xff\xfe binary \x89"
    status, _ = await platforms.whatsapp.deliver(body, signature=sign(body, platforms.whatsapp.app_secret))
    assert status == 400
    assert rows(platforms, InboxMessage, wa_id) == []


async def test_metrics_count_refused_webhooks_and_outbox_outcomes(platforms, wa_id):
    body = json.dumps(wa.text("Bonjour", wa_id=wa_id)).encode()
    await platforms.whatsapp.deliver(body, signature="sha256=" + "0" * 64)
    platforms.whatsapp.fail_next(130429, to=wa_id)
    await say(platforms, wa.text("Bonjour", wa_id=wa_id))
    await settle(platforms, wa_id)
    metrics = await (await platforms.client.get("/metrics")).text()
    assert 'sawt_webhook_requests_total{channel="whatsapp",outcome="refused"} 1.0' in metrics
    assert 'sawt_webhook_requests_total{channel="whatsapp",outcome="stored"} 1.0' in metrics
    assert 'sawt_outbox_attempts_total{channel="whatsapp",outcome="retry"} 1.0' in metrics
    assert re.search(r'sawt_outbox_attempts_total\{channel="whatsapp",outcome="sent"\} [1-9]', metrics)
