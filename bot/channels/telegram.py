"""Telegram through python-telegram-bot's `Bot`: updates in (webhook or long polling), requests out.

Updates are not run through PTB's `Application`: its queue lives in memory, and an update
confirmed to Telegram but not yet handled would be lost in a crash. Here an update is stored
in the inbox first; only then is the webhook answered 200 or the polling offset moved past
it. `Bot` is still what talks to the API (typed updates, error classes, file downloads), at
`TELEGRAM_API_BASE`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import mimetypes
import uuid
import warnings
from pathlib import Path
from typing import Any, Optional

from aiohttp import web
from telegram import Bot, BotCommand
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.channels.base import Inbound, Media, Reply
from bot.channels.sink import EventSink
from bot.channels.telegram_parse import CHANNEL, COMMANDS, BotIdentity, parse_update
from bot.channels.telegram_render import answer_callback, render_reply
from bot.channels.transport import SendResult
from bot.i18n import t
from bot.settings import Settings

logger = logging.getLogger(__name__)
# Requests are rendered once into the outbox as (method, params) and replayed with
# `do_api_request`; PTB suggests its typed methods instead, which cannot replay a stored row.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25
# Outbox sends run concurrently (≈ 30 messages/s): PTB's default pool of one connection
# would serialise them.
CONNECTION_POOL = 32


def make_bot(settings: Settings) -> Bot:
    assert settings.telegram_bot_token
    api_base = settings.telegram_api_base
    file_base = api_base[: -len("/bot")] + "/file/bot" if api_base.endswith("/bot") else api_base
    return Bot(
        settings.telegram_bot_token,
        base_url=api_base,
        base_file_url=file_base,
        request=HTTPXRequest(connection_pool_size=CONNECTION_POOL),
        get_updates_request=HTTPXRequest(read_timeout=POLL_TIMEOUT + 10),
    )


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def classify(error: TelegramError) -> SendResult:
    """The outbox's reading of a Bot API error: retry (when), give up, or unsubscribe."""
    message = str(error)
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated
            warnings.simplefilter("ignore")
            delay = _seconds(error.retry_after)
        return SendResult(ok=False, retry_after=delay, error_code=429, error=message)
    if isinstance(error, Forbidden):
        # Blocked, kicked from the group, deactivated account: this chat is gone for good.
        return SendResult(ok=False, permanent=True, blocked=True, error_code=403, error=message)
    if isinstance(error, ChatMigrated):
        return SendResult(ok=False, permanent=True, error_code=400, error=message)
    if isinstance(error, BadRequest):
        return SendResult(ok=False, permanent=True, error_code=400, error=message)
    if isinstance(error, InvalidToken):
        # The operator's token is wrong: every message waits (with backoff) for it to be fixed.
        return SendResult(ok=False, error_code=401, error=message)
    if isinstance(error, Conflict):
        return SendResult(ok=False, error_code=409, error=message)
    # NetworkError (5xx, 502, timeouts, refused connections): try again later.
    return SendResult(ok=False, error=message)


class TelegramTransport:
    channel = CHANNEL
    service_window: Optional[dt.timedelta] = None

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def render(self, user_id: str, reply: Reply, language: str) -> list[dict[str, Any]]:
        return render_reply(user_id, reply)

    def acknowledgements(self, inbound: Inbound) -> list[dict[str, Any]]:
        query_id = inbound.metadata.get("callback_query_id")
        return [answer_callback(query_id)] if query_id else []

    def template(self, user_id: str, template: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None  # Telegram has no service window: a plain message always may go.

    async def send(self, request: dict[str, Any]) -> SendResult:
        try:
            result = await self.bot.do_api_request(request["method"], api_kwargs=request["params"])
        except TelegramError as error:
            return classify(error)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SendResult(ok=True, platform_message_id=str(message_id) if message_id else None)

    async def fetch_media(self, media: Media, directory: Path) -> Path:
        file = await self.bot.get_file(media.platform_id)
        suffix = Path(file.file_path or "").suffix or mimetypes.guess_extension(media.mime_type or "") or ""
        target = directory / CHANNEL / f"{uuid.uuid4().hex}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        await file.download_to_drive(target)
        return target


class TelegramChannel:
    """Receives updates (webhook route or polling task) and registers the bot at start."""

    def __init__(self, bot: Bot, settings: Settings, sink: EventSink) -> None:
        self.bot = bot
        self.settings = settings
        self.sink = sink
        self._identity: Optional[BotIdentity] = None
        self._tasks: list[asyncio.Task[None]] = []

    async def identity(self) -> BotIdentity:
        """The bot's own id and username (groups are answered only when it is mentioned)."""
        if self._identity is None:
            await self.bot.initialize()  # getMe, and the HTTP clients `shutdown` closes
            me = self.bot.bot
            self._identity = BotIdentity(me.id, me.username or "")
        return self._identity

    async def handle_update(self, data: dict[str, Any]) -> None:
        event = parse_update(data, await self.identity(), self.bot)
        await self.sink.deliver_all(CHANNEL, [event] if event is not None else [])

    # ---- webhook ---------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        secret = self.settings.telegram_webhook_secret or ""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            self.sink.count(CHANNEL, "refused")
            return web.json_response({"error": "missing secret token"}, status=401)
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            self.sink.count(CHANNEL, "refused")
            return web.json_response({"error": "wrong secret token"}, status=403)
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            self.sink.count(CHANNEL, "malformed")
            return web.json_response({"error": "the body must be a JSON Update"}, status=400)
        try:
            await self.handle_update(data)
        except Exception:  # not stored: a 5xx makes Telegram deliver it again later
            logger.exception("telegram update %s could not be stored", data.get("update_id"))
            return web.json_response({"error": "try again later"}, status=503)
        return web.json_response({"ok": True})

    # ---- start, polling --------------------------------------------------------------------
    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._register()))
        if not self.settings.telegram_webhook_secret:
            self._tasks.append(asyncio.create_task(self._poll()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.shutdown()

    async def _register(self) -> None:
        """Webhook (or its removal for polling) and the command menu; retried until Telegram
        answers, without ever holding up the gateway's start."""
        delay = 1.0
        while True:
            try:
                await self._register_once()
                return
            except (NetworkError, InvalidToken) as error:
                logger.warning("telegram registration failed (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300)

    async def _register_once(self) -> None:
        me = await self.identity()
        settings = self.settings
        if settings.telegram_webhook_secret and settings.public_url:
            url = settings.public_url.rstrip("/") + "/webhooks/telegram"
            await self.bot.set_webhook(
                url, secret_token=settings.telegram_webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            logger.info("telegram: @%s receives updates at %s", me.username, url)
        elif settings.telegram_webhook_secret:
            logger.info("telegram: @%s expects a webhook registered at <public url>/webhooks/telegram", me.username)
        else:
            # getUpdates refuses to work while a webhook is set.
            await self.bot.delete_webhook(drop_pending_updates=False)
            logger.info("telegram: @%s receives updates by long polling", me.username)
        for language_code, language in ((None, "fr"), ("fr", "fr"), ("ar", "ary")):
            commands = [BotCommand(name, t(key, language)) for name, key in COMMANDS]
            await self.bot.set_my_commands(commands, language_code=language_code)

    async def _poll(self) -> None:
        """Long polling: the offset moves past an update only once it is stored."""
        offset: Optional[int] = None
        delay = 1.0
        while True:
            try:
                params: dict[str, Any] = {"timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES}
                if offset is not None:
                    params["offset"] = offset
                updates = await self.bot.do_api_request(
                    "getUpdates", api_kwargs=params, read_timeout=POLL_TIMEOUT + 10
                )
                for data in updates or []:
                    await self.handle_update(data)
                    offset = int(data["update_id"]) + 1
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # network, Telegram down, database down: wait and retry
                logger.warning("telegram polling failed (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
