"""The Telegram fake answers the real python-telegram-bot client as the Bot API reference says.

If these pass, a gateway test that fails against the fake fails for a reason Telegram would
also give. The builders are proven by parsing them with `telegram.Update.de_json`.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, MessageHandler, filters

from tests.fakes import telegram_updates as U
from tests.fakes.telegram import FakeTelegram

CHAT = 700_100_200


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(fake.token, base_url=fake.api_base, base_file_url=fake.file_base)
    async with client:  # initialize() calls getMe
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def seconds(retry_after: Any) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after


def keyboard(data: str = "service:etat_civil") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Etat civil", callback_data=data)]])


class Webhook:
    """A tiny receiver standing in for the gateway's webhook endpoint."""

    def __init__(self, statuses: list[int], reply: Any = None) -> None:
        self.statuses = statuses
        self.reply = reply
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        status = self.statuses.pop(0) if self.statuses else 200
        if self.reply is not None and status == 200:
            return web.json_response(self.reply)
        return web.Response(status=status)

    async def __aenter__(self) -> "Webhook":
        app = web.Application()
        app.router.add_post("/telegram", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/telegram"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


# ---- identity, transport, parameters ----------------------------------------------------------
async def test_get_me_describes_the_bot_with_getme_only_fields(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "sawt_test_bot", True)
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False


async def test_a_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    intruder = Bot("999:WRONG", base_url=fake.api_base)
    with pytest.raises(InvalidToken):
        async with intruder:  # initialize() calls getMe
            pass
    assert fake.calls[-1].status == 401


async def test_unknown_methods_are_404_and_names_are_case_insensitive(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{fake.api_base}{fake.token}/sendTelepathy") as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    async with http.get(f"{fake.api_base}{fake.token}/GETME") as resp:
        assert (await resp.json())["result"]["username"] == "sawt_test_bot"
    async with http.get(f"{fake.api_base}000:nope/getMe") as resp:
        assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_query_string_json_and_form_parameters_parse_alike(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    url = f"{fake.api_base}{fake.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    await http.get(url, params={"chat_id": "5", "text": "query"})
    await http.post(url, json={"chat_id": 5, "text": "json", "reply_markup": markup})
    await http.post(url, data={"chat_id": "5", "text": "form", "reply_markup": json.dumps(markup)})
    form = aiohttp.FormData()
    form.add_field("chat_id", "5")
    form.add_field("text", "multipart")
    form.add_field("reply_markup", json.dumps(markup))
    form.add_field("document", b"%PDF", filename="a.pdf")  # forces multipart/form-data
    await http.post(url, data=form)
    sent = fake.sent(5)
    assert [p["text"] for p in sent] == ["query", "json", "form", "multipart"]
    assert all(p["chat_id"] == 5 for p in sent)
    assert [p.get("reply_markup") for p in sent[1:]] == [markup, markup, markup]


# ---- sending ----------------------------------------------------------------------------------
async def test_send_message_returns_a_message_with_its_inline_keyboard(
    fake: FakeTelegram, bot: Bot
) -> None:
    first = await bot.send_message(CHAT, "Choisissez un service :", reply_markup=keyboard())
    second = await bot.send_message(CHAT, "Merci")
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.id == bot.id
    assert first.chat.id == CHAT and first.text == "Choisissez un service :"
    assert first.reply_markup == keyboard()
    assert second.reply_markup is None
    recorded = fake.sent(CHAT)[0]
    assert recorded["chat_id"] == CHAT  # the form field "700100200" became an int
    assert (
        recorded["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "service:etat_civil"
    )


async def test_replies_echo_the_chat_seen_in_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.queue_update(U.text_message())
    message = await bot.send_message(CHAT, "Salam")
    assert message.chat.first_name == U.FIRST_NAME and message.chat.username == U.USERNAME


async def test_text_limits_count_utf16_code_units(bot: Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)  # 2049 characters, 4098 UTF-16 units
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(CHAT, "  \n ")


async def test_html_markup_does_not_count_towards_the_limit(bot: Bot) -> None:
    message = await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert message.text == "x" * 4096


@pytest.mark.parametrize("data", ["é" * 33, "x" * 65])  # 66 and 65 bytes
async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, data: str) -> None:
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(CHAT, "Menu", reply_markup=keyboard(data))


async def test_callback_data_of_64_bytes_and_url_buttons_are_accepted(bot: Bot) -> None:
    await bot.send_message(CHAT, "Menu", reply_markup=keyboard("é" * 32))
    url_button = InlineKeyboardButton("Site", url="https://benguerir.ma")
    await bot.send_message(CHAT, "Lien", reply_markup=InlineKeyboardMarkup([[url_button]]))


async def test_send_photo_by_url_and_by_upload(fake: FakeTelegram, bot: Bot) -> None:
    by_url = await bot.send_photo(CHAT, "https://example.org/carte.jpg", caption="Carte")
    uploaded = await bot.send_photo(CHAT, b"\x89PNG fake bytes")
    assert by_url.caption == "Carte" and len(by_url.photo) == 3
    assert uploaded.photo[-1].width > uploaded.photo[0].width
    assert fake.sent(CHAT)[1]["photo"].content == b"\x89PNG fake bytes"
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(CHAT, "https://example.org/x.jpg", caption="x" * 1025)


async def test_send_chat_action_accepts_known_actions_only(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, "typing") is True
    with pytest.raises(BadRequest):
        await bot.send_chat_action(CHAT, "dancing")
    assert fake.sent() == []  # chat actions are not messages


async def test_edit_and_delete_the_bots_messages(bot: Bot) -> None:
    message = await bot.send_message(CHAT, "Choisissez :", reply_markup=keyboard())
    edited = await bot.edit_message_text("Choisi : etat civil", CHAT, message.message_id)
    assert edited.text == "Choisi : etat civil" and edited.reply_markup is None
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Choisi : etat civil", CHAT, message.message_id)
    rekeyed = await bot.edit_message_reply_markup(
        CHAT, message.message_id, reply_markup=keyboard("b")
    )
    assert rekeyed.reply_markup == keyboard("b")
    assert await bot.delete_message(CHAT, message.message_id) is True
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CHAT, message.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)


async def test_commands_are_stored_per_scope_and_language(bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "Commencer"), ("help", "Aide")]) is True
    await bot.set_my_commands([("start", "Bda")], language_code="ar")
    assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
        ("start", "Commencer"),
        ("help", "Aide"),
    ]
    assert [c.command for c in await bot.get_my_commands(language_code="ar")] == ["start"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Start!", "bad")])


# ---- errors, as the reference shapes them -----------------------------------------------------
async def test_an_injected_429_raises_retry_after_then_recovers(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "Salam")
    assert seconds(caught.value.retry_after) == 7
    assert (fake.calls[-1].method, fake.calls[-1].status) == ("sendMessage", 429)
    await bot.send_message(CHAT, "Salam")
    assert [p["text"] for p in fake.sent()] == ["Salam"]


async def test_429_body_follows_the_reference(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    fake.fail_next("sendmessage", 429, retry_after=3)
    async with http.post(
        f"{fake.api_base}{fake.token}/sendMessage", json={"chat_id": 1, "text": "a"}
    ) as resp:
        assert resp.status == 429
        assert await resp.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


async def test_failures_can_target_one_chat_and_repeat(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=2, chat_id=1)
    await bot.send_message(2, "other chat is fine")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
    await bot.send_message(1, "recovered")
    assert [p["text"] for p in fake.sent()] == ["other chat is fine", "recovered"]


async def test_a_migrated_group_raises_chat_migrated(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 400, migrate_to_chat_id=-1001234567890)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4242, "Salam")
    assert caught.value.new_chat_id == -1001234567890


async def test_a_blocked_chat_is_forbidden_until_unblocked(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "Salam")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, "typing")
    await bot.send_message(CHAT + 1, "others still reachable")
    fake.unblock(CHAT)
    await bot.send_message(CHAT, "Salam")
    assert [c.status for c in fake.calls_to("sendMessage")] == [403, 200, 200]


async def test_a_forgotten_chat_is_not_found(fake: FakeTelegram, bot: Bot) -> None:
    fake.forget_chat(-100999)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(-100999, "Salam")


async def test_a_bare_502_from_the_proxy_is_a_network_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_with_status("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "Salam")
    await bot.send_message(CHAT, "Salam")


async def test_rate_limit_paces_each_chat(fake: FakeTelegram, bot: Bot) -> None:
    fake.rate_limit(1.0)
    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "b")
    assert seconds(caught.value.retry_after) == 1
    await bot.send_message(2, "another chat is not slowed")
    fake.rate_limit(None)
    await bot.send_message(1, "c")


async def test_global_rate_limit_caps_the_whole_bot_in_a_sliding_second(
    fake: FakeTelegram, bot: Bot, http: aiohttp.ClientSession
) -> None:
    fake.global_rate_limit(3)
    for chat in (1, 2, 3):  # one chat each: only the bot-wide cap can refuse
        await bot.send_message(chat, "a")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(4, "over the cap")
    assert seconds(caught.value.retry_after) == 1
    async with http.post(
        f"{fake.api_base}{fake.token}/sendPhoto", json={"chat_id": 5, "photo": "https://x/y.jpg"}
    ) as resp:
        assert resp.status == 429
        assert await resp.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
    await bot.send_chat_action(6, "typing")  # not a message: never capped
    assert fake.global_429s == 2
    await asyncio.sleep(1.05)  # the window slid past the first three sends
    await bot.send_message(4, "room again")
    fake.global_rate_limit(None)
    for chat in range(10, 20):
        await bot.send_message(chat, "uncapped")
    assert len(fake.sent()) == 3 + 1 + 10 and fake.global_429s == 2


async def test_global_rate_limit_and_per_chat_pacing_combine(fake: FakeTelegram, bot: Bot) -> None:
    fake.rate_limit(1.0)
    fake.global_rate_limit(2)
    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter):  # per chat: not recorded against the bot-wide window
        await bot.send_message(1, "b")
    await bot.send_message(2, "c")
    with pytest.raises(RetryAfter):
        await bot.send_message(3, "d")
    assert fake.global_429s == 1
    assert [c.status for c in fake.calls_to("sendMessage")] == [200, 429, 200, 429]


async def test_callback_queries_are_answered_once_and_expire(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.answer_callback_query("q1", text="OK") is True
    assert fake.answered_callbacks == ["q1"]
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("q1")
    fake.expire_callback("q2")
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("q2")


# ---- getUpdates -------------------------------------------------------------------------------
async def test_get_updates_confirms_updates_below_the_offset(fake: FakeTelegram, bot: Bot) -> None:
    ids = [fake.queue_update(U.text_message(f"m{i}", message_id=i)) for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["m0", "m1", "m2"]
    assert [u.update_id for u in await bot.get_updates()] == ids  # nothing confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[2])] == [ids[2]]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    later = fake.queue_update(U.text_message("m3"))
    assert [u.update_id for u in await bot.get_updates(offset=ids[0])] == [later]


async def test_get_updates_limit_and_negative_offset(fake: FakeTelegram, bot: Bot) -> None:
    ids = [fake.queue_update(U.text_message(str(i))) for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[3:]
    assert [u.update_id for u in await bot.get_updates()] == ids[3:]  # the rest was forgotten


async def test_long_polling_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegram, bot: Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    fake.queue_update(U.command("start", "consult_budget_2026"))
    updates = await asyncio.wait_for(poll, 3)
    assert updates[0].message.text == "/start consult_budget_2026"
    assert time.monotonic() - started < 2


async def test_long_polling_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_allowed_updates_filter_updates_created_after_the_setting(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.get_updates(allowed_updates=["message"])
    fake.queue_update(U.callback_query())
    fake.queue_update(U.text_message("kept"))
    assert [u.message.text for u in await bot.get_updates()] == ["kept"]  # setting persists


async def test_chat_member_updates_are_not_sent_by_default(fake: FakeTelegram, bot: Bot) -> None:
    fake.queue_update({"chat_member": {}})
    fake.queue_update(U.my_chat_member())
    assert [u.my_chat_member is not None for u in await bot.get_updates()] == [True]


# ---- webhook ----------------------------------------------------------------------------------
async def test_set_webhook_shows_in_info_and_blocks_get_updates(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.queue_update(U.text_message())
    url = "https://sawt.example.ma/telegram/webhook"
    assert await bot.set_webhook(
        url, secret_token="s3cret_-X", allowed_updates=["message", "callback_query"]
    )
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.has_custom_certificate) == (url, 1, False)
    assert tuple(info.allowed_updates) == ("message", "callback_query")
    assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret_-X"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert fake.webhook is None
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_set_webhook_validates_url_and_secret(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)https url must be provided"):
        await bot.set_webhook("http://sawt.example.ma/hook")
    with pytest.raises(BadRequest, match="(?i)ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://sawt.example.ma:8080/hook")
    with pytest.raises(BadRequest, match="(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://sawt.example.ma/hook", secret_token="not allowed!")
    assert await bot.set_webhook("http://127.0.0.1:8080/hook")  # documented local leniency


async def test_deliver_posts_json_with_the_secret_header(fake: FakeTelegram, bot: Bot) -> None:
    async with Webhook([200]) as hook:
        await bot.set_webhook(hook.url, secret_token="abc_123")
        status = await fake.deliver(U.text_message("salam"))
    assert status == 200
    body, secret = hook.received[0]
    assert secret == "abc_123"
    assert body["message"]["text"] == "salam" and isinstance(body["update_id"], int)


async def test_deliver_until_ok_retries_the_same_update(fake: FakeTelegram, bot: Bot) -> None:
    async with Webhook([500, 200]) as hook:
        await bot.set_webhook(hook.url)
        statuses = await fake.deliver_until_ok(U.text_message())
        info = await bot.get_webhook_info()
    assert statuses == [500, 200]
    assert hook.received[0][0]["update_id"] == hook.received[1][0]["update_id"]
    assert hook.received[0][1] is None  # no secret set, no header
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_a_webhook_reply_may_call_a_method(fake: FakeTelegram, bot: Bot) -> None:
    reply = {"method": "sendMessage", "chat_id": CHAT, "text": "Marhba"}
    async with Webhook([200], reply=reply) as hook:
        await bot.set_webhook(hook.url)
        await fake.deliver(U.text_message())
    assert [p["text"] for p in fake.sent(CHAT)] == ["Marhba"]


async def test_deliver_refuses_without_a_webhook(fake: FakeTelegram) -> None:
    with pytest.raises(AssertionError, match="setWebhook"):
        await fake.deliver(U.text_message())


# ---- files ------------------------------------------------------------------------------------
async def test_get_file_and_download(fake: FakeTelegram, bot: Bot, tmp_path: Path) -> None:
    fake.add_file("voice-1", b"OggS fake opus", "voice/file_0.oga")
    tg_file = await bot.get_file("voice-1")
    assert tg_file.file_size == len(b"OggS fake opus")
    assert tg_file.file_path == f"{fake.file_base}{fake.token}/voice/file_0.oga"
    target = await tg_file.download_to_drive(tmp_path / "note.oga")
    assert Path(target).read_bytes() == b"OggS fake opus"
    assert bytes(await tg_file.download_as_bytearray()) == b"OggS fake opus"
    assert fake.downloads == ["voice/file_0.oga", "voice/file_0.oga"]
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("unknown")


# ---- recording helpers ------------------------------------------------------------------------
async def test_wait_for_sent_waits_and_wait_for_explains_timeouts(
    fake: FakeTelegram, bot: Bot
) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(CHAT, "bientot")

    task = asyncio.create_task(send_later())
    sent = await fake.wait_for_sent(1, chat_id=CHAT, timeout=5)
    await task
    assert sent[0]["text"] == "bientot"
    with pytest.raises(AssertionError, match=r"(?s)2 sent message\(s\).*sendMessage"):
        await fake.wait_for_sent(2, timeout=0.2)


# ---- builders ---------------------------------------------------------------------------------
def parse(data: dict[str, Any], bot: Bot) -> Update:
    assert "update_id" not in data  # the fake numbers updates itself
    return Update.de_json({**data, "update_id": 1}, bot)


def _text(u: Update) -> Any:
    return u.effective_message.text if u.effective_message else None


BUILDER_CASES: list[tuple[str, Callable[[], dict[str, Any]], Callable[[Update], Any], Any]] = [
    (
        "text_message",
        lambda: U.text_message("Salam"),
        lambda u: (_text(u), u.effective_chat.type),
        ("Salam", "private"),
    ),
    ("language", U.text_message, lambda u: u.effective_user.language_code, "fr"),
    (
        "command",
        lambda: U.command("start", "consult_budget_2026"),
        lambda u: (
            u.message.parse_entities(["bot_command"]).popitem()[1],
            u.message.text.split()[1],
        ),
        ("/start", "consult_budget_2026"),
    ),
    (
        "edited_message",
        U.edited_message,
        lambda u: (u.edited_message is u.effective_message, u.edited_message.edit_date is not None),
        (True, True),
    ),
    (
        "callback_query",
        lambda: U.callback_query("service:etat_civil"),
        lambda u: (
            u.callback_query.data,
            u.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data,
            u.callback_query.message.from_user.is_bot,
            u.effective_chat.id,
        ),
        ("service:etat_civil", "service:etat_civil", True, U.USER_ID),
    ),
    (
        "voice",
        U.voice,
        lambda u: (u.message.voice.mime_type, u.message.voice.file_unique_id),
        ("audio/ogg", "AgADdm9pY2U"),
    ),
    (
        "photo",
        lambda: U.photo(caption="Wathiqa"),
        lambda u: (u.message.caption, [p.width for p in u.message.photo]),
        ("Wathiqa", [90, 320, 1280]),
    ),
    ("document", U.document, lambda u: u.message.document.mime_type, "application/pdf"),
    ("location", U.location, lambda u: round(u.message.location.latitude, 2), 32.24),
    (
        "venue",
        U.venue,
        lambda u: (u.message.venue.title, u.message.location is not None),
        ("Commune de Benguérir", True),
    ),
    ("contact", U.contact, lambda u: u.message.contact.user_id == u.effective_user.id, True),
    (
        "sticker",
        U.sticker,
        lambda u: (u.message.sticker.emoji, u.message.sticker.type),
        ("👍", "regular"),
    ),
    (
        "forwarded_message",
        U.forwarded_message,
        lambda u: (
            u.message.forward_origin.type,
            u.message.forward_origin.sender_user.first_name,
            "forward_from" in u.message.api_kwargs,
        ),
        ("user", "Fatima Zahra", True),
    ),
    (
        "group plain",
        U.group_message,
        lambda u: (u.effective_chat.type, u.effective_chat.id < 0),
        ("supergroup", True),
    ),
    (
        "group basic",
        lambda: U.group_message(chat_id=-4242),
        lambda u: u.effective_chat.type,
        "group",
    ),
    (
        "group mention",
        lambda: U.group_message("3afak", variant="mention"),
        lambda u: list(u.message.parse_entities(["mention"]).values()),
        ["@sawt_test_bot"],
    ),
    (
        "group command",
        lambda: U.group_message(variant="command"),
        lambda u: list(u.message.parse_entities(["bot_command"]).values()),
        ["/help@sawt_test_bot"],
    ),
    (
        "group reply",
        lambda: U.group_message(variant="reply"),
        lambda u: (
            u.message.reply_to_message.from_user.username,
            u.message.reply_to_message.chat.id == u.effective_chat.id,
        ),
        ("sawt_test_bot", True),
    ),
    (
        "channel_post",
        U.channel_post,
        lambda u: (u.effective_chat.type, u.effective_user, u.channel_post.sender_chat.username),
        ("channel", None, "commune_benguerir"),
    ),
    (
        "my_chat_member",
        U.my_chat_member,
        lambda u: (
            u.my_chat_member.old_chat_member.status,
            u.my_chat_member.new_chat_member.status,
            u.my_chat_member.new_chat_member.user.is_bot,
            u.effective_chat.type,
        ),
        ("member", "kicked", True, "private"),
    ),
    (
        "bot added to group",
        lambda: U.my_chat_member(old_status="left", new_status="administrator", chat_id=-4242),
        lambda u: (u.my_chat_member.new_chat_member.status, u.effective_chat.type),
        ("administrator", "group"),
    ),
    (
        "inline_query",
        U.inline_query,
        lambda u: (u.inline_query.query, u.effective_user.id, u.effective_chat),
        ("etat civil", U.USER_ID, None),
    ),
    (
        "animation",
        U.animation,
        lambda u: (u.message.animation.width, u.message.document is not None),
        (320, True),
    ),
    ("video_note", U.video_note, lambda u: u.message.video_note.length, 240),
    (
        "poll",
        U.poll,
        lambda u: (u.message.poll.question, len(u.message.poll.options)),
        ("Wach lbaladiya katkhdem nhar sebt?", 3),
    ),
    (
        "poll_state",
        U.poll_state,
        lambda u: (u.poll.is_closed, u.poll.total_voter_count, u.effective_message),
        (True, 4, None),
    ),
]


@pytest.mark.parametrize(
    "build, read, expected", [c[1:] for c in BUILDER_CASES], ids=[c[0] for c in BUILDER_CASES]
)
async def test_every_builder_parses_as_the_update_it_claims(
    bot: Bot, build: Callable[[], dict[str, Any]], read: Callable[[Update], Any], expected: Any
) -> None:
    assert read(parse(build(), bot)) == expected


async def test_entity_offsets_are_utf16_code_units(bot: Bot) -> None:
    text = "😀 salam @sawt_test_bot"
    mention = U.entity("mention", text, "@sawt_test_bot")
    assert mention["offset"] == 9  # the emoji is two code units
    update = parse(U.text_message(text, entities=[mention]), bot)
    assert list(update.message.parse_entities().values()) == ["@sawt_test_bot"]


async def test_builders_round_trip_through_get_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.queue_update(U.voice())
    fake.queue_update(U.callback_query())
    fake.queue_update(U.my_chat_member())
    kinds = [
        ("voice" if u.message else "callback" if u.callback_query else "member")
        for u in await bot.get_updates()
    ]
    assert kinds == ["voice", "callback", "member"]


async def test_a_polling_application_answers_a_queued_message(fake: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.api_base)
        .base_file_url(fake.file_base)
        .build()
    )

    async def echo(update: Update, context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.queue_update(U.text_message("salam"))
        fake.queue_update(U.text_message("labas?"))
        sent = await fake.wait_for_sent(2, chat_id=U.USER_ID, timeout=10)
        await app.updater.stop()
        await app.stop()
    assert [p["text"] for p in sent] == ["echo: salam", "echo: labas?"]
    assert fake.webhook is None  # start_polling deleted any webhook first
