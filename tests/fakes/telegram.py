"""A local fake of the Telegram Bot API, faithful to the official reference, errors included.

Why: the gateway must be tested against what Telegram really answers (the `{"ok": false,
"error_code", "description", "parameters"}` error format, 429 with `retry_after`, 403 for a
blocked user, 409 for getUpdates under a webhook, a bare 502 from the proxy in front of it)
without the network. Point `TELEGRAM_API_BASE` (python-telegram-bot's `base_url`) at
`fake.api_base` and `base_file_url` at `fake.file_base`.

Deliberate leniencies, so tests can run on plain local HTTP:
- setWebhook accepts `http://` and any port when the host is 127.0.0.1 or localhost (Telegram
  demands HTTPS on ports 443, 80, 88 or 8443, and the fake enforces that for any other host);
- any integer chat_id is a known chat unless `forget_chat()` was called for it;
- `sendPhoto` accepts any non-empty photo string (Telegram would fetch URLs and check file_ids).
- with `parse_mode="HTML"` tags are removed before lengths are measured; other parse modes are
  measured as sent.
"""

from __future__ import annotations

import asyncio
import collections
import html
import json
import math
import re
import socket
import time
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Mapping, Optional, TypeVar, Union
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tests.fakes.telegram_updates import utf16_len

JSON = dict[str, Any]
ChatId = Union[int, str]
T = TypeVar("T")

# Parameters whose value is a JSON-serialized object or array when sent as a form field.
JSON_FIELDS = frozenset(
    "reply_markup allowed_updates entities caption_entities commands scope reply_parameters "
    "link_preview_options media results options".split()
)
INT_FIELDS = frozenset(
    "chat_id offset limit timeout message_id max_connections cache_time message_thread_id "
    "reply_to_message_id".split()
)
BOOL_FIELDS = frozenset(
    "drop_pending_updates disable_notification protect_content show_alert "
    "disable_web_page_preview allow_sending_without_reply has_spoiler".split()
)
# Methods that address a chat: blocking and forgetting a chat applies to all of them.
CHAT_METHODS = frozenset(
    "sendmessage sendphoto sendchataction editmessagetext editmessagereplymarkup "
    "deletemessage".split()
)
# Methods that post a new message: what `sent()` records, `rate_limit()` paces per chat and
# `global_rate_limit()` caps for the whole bot.
SEND_METHODS = frozenset({"sendmessage", "sendphoto"})
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)
# Without an allowed_updates setting, Telegram sends every type except these.
NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
INLINE_BUTTON_ACTIONS = frozenset(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay".split()
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

TOO_OLD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class Call:
    """One request to the Bot API, as the fake understood it (status is the HTTP status)."""

    method: str
    params: JSON
    at: float  # time.monotonic(), so tests can measure pacing
    status: int = 200


@dataclass
class UploadedFile:
    """A file sent as a multipart part (e.g. a photo uploaded as bytes)."""

    filename: Optional[str]
    content_type: str
    content: bytes


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class _Failure:
    method: str  # lower-case method name, or "*" for any
    status: int
    description: str
    parameters: JSON = field(default_factory=dict)
    remaining: int = 1
    chat_id: Optional[ChatId] = None
    bare: bool = False  # a non-JSON body, as a proxy in front of Telegram answers

    def matches(self, method: str, params: JSON) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id


@dataclass
class _Described:
    """A successful result that Telegram accompanies with a description (webhook methods)."""

    result: Any
    description: str


class ApiError(Exception):
    """Raised by a method handler to answer with the reference's error object."""

    def __init__(self, status: int, description: str, parameters: Optional[JSON] = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters or {}


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _error_body(status: int, description: str, parameters: Optional[JSON] = None) -> JSON:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _bare_page(status: int) -> str:
    """The HTML nginx answers with when Telegram behind it is unreachable."""
    title = f"{status} {HTTPStatus(status).phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


def _coerce(name: str, value: Any) -> Any:
    """Form fields arrive as strings: decode the JSON ones, numbers and booleans."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name.replace('_', ' ')} JSON object") from None
    if name in INT_FIELDS and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if name in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def _visible(text: str, parse_mode: Optional[str]) -> str:
    """The text a user sees: Telegram measures limits after parsing entities out of markup."""
    if parse_mode and parse_mode.upper() == "HTML":
        return html.unescape(re.sub(r"<[^>]*>", "", text))
    return text


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class FakeTelegram:
    """The Bot API on 127.0.0.1 with test controls. See the module docstring for leniencies."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        username: str = "sawt_test_bot",
        bot_id: int = 123456,
    ) -> None:
        self.token = token
        self.username = username
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.answered_callbacks: list[str] = []
        self.downloads: list[str] = []
        self.webhook: Optional[JSON] = None
        self.port = 0

        self._failures: list[_Failure] = []
        self._blocked: set[ChatId] = set()
        self._forgotten: set[ChatId] = set()
        self._per_second: Optional[float] = None
        self._last_send: dict[ChatId, float] = {}
        self._global_per_second: Optional[float] = None
        self._recent_sends: collections.deque[float] = collections.deque()
        # 429s answered because of the bot-wide limit (`global_rate_limit`).
        self.global_429s = 0
        self._expired_callbacks: set[str] = set()
        self._files: dict[str, _StoredFile] = {}
        self._chats: dict[ChatId, JSON] = {}
        self._messages: dict[tuple[ChatId, int], JSON] = {}  # the bot's own messages
        self._incoming: set[tuple[ChatId, int]] = set()  # messages the bot received
        self._next_message_id: dict[ChatId, int] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._pending: list[JSON] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: Optional[list[str]] = None
        self._webhook_error: Optional[tuple[int, str]] = None
        self._poll_generation = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._closing = False
        self._file_counter = 0
        self._runner: Optional[web.AppRunner] = None
        self._session: Optional[aiohttp.ClientSession] = None

        handlers: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
        }
        # Bot API method names are case-insensitive.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)

    # ---- lifecycle ----------------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        self._closing = True
        self._wake()  # long polls answer now instead of holding the shutdown
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTelegram":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- test controls: errors ----------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 400,
        description: Optional[str] = None,
        *,
        retry_after: Optional[int] = None,
        migrate_to_chat_id: Optional[int] = None,
        times: int = 1,
        chat_id: Optional[ChatId] = None,
    ) -> None:
        """Make the next `times` calls of `method` ("*" = any; to `chat_id` only, if given) fail.

        Without a description: 429 says "Too Many Requests: retry after N" (N defaults to 1),
        a migration says the group was upgraded, anything else is the HTTP phrase.
        """
        parameters: JSON = {}
        if status == 429 and retry_after is None:
            retry_after = 1
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            elif migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                description = HTTPStatus(status).phrase
        self._failures.append(
            _Failure(method.lower(), status, description, parameters, times, chat_id)
        )

    def fail_with_status(self, method: str, status: int = 502, *, times: int = 1) -> None:
        """Answer the next `times` calls with a bare HTML error page, as the proxy does."""
        self._failures.append(
            _Failure(method.lower(), status, HTTPStatus(status).phrase, remaining=times, bare=True)
        )

    def block(self, chat_id: ChatId) -> None:
        """The user blocked the bot: every call addressing this chat gets 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: ChatId) -> None:
        self._blocked.discard(chat_id)

    def forget_chat(self, chat_id: ChatId) -> None:
        """Telegram no longer knows this chat: calls addressing it get 400 chat not found."""
        self._forgotten.add(chat_id)

    def rate_limit(self, per_second: Optional[float]) -> None:
        """Answer 429 (retry_after >= 1) to sends closer than 1/per_second apart in one chat."""
        self._per_second = per_second
        self._last_send.clear()

    def global_rate_limit(self, per_second: Optional[float]) -> None:
        """Cap the whole bot (this token), as Telegram does for broadcasts (about 30 messages
        per second): a send that would make more than `per_second` accepted sends (at least
        1) in any sliding one-second window answers 429 "Too Many Requests: retry after N",
        N >= 1 the seconds until the window has room again. Refused sends do not count
        towards the window; each is counted in `global_429s`. None removes the cap."""
        self._global_per_second = per_second
        self._recent_sends.clear()

    def expire_callback(self, callback_query_id: str) -> None:
        """Answering this callback query now fails as a too-old one does."""
        self._expired_callbacks.add(callback_query_id)

    def add_file(
        self, file_id: str, content: bytes, file_path: str, *, file_unique_id: Optional[str] = None
    ) -> None:
        """Make `getFile(file_id)` and the download of `file_path` work."""
        unique = file_unique_id or f"AgAD{zlib.crc32(file_id.encode()):08x}"
        self._files[file_id] = _StoredFile(file_id, unique, file_path, content)

    # ---- test controls: updates ---------------------------------------------------------------
    def queue_update(self, update: JSON) -> int:
        """Queue an update for getUpdates and return its update_id.

        As on Telegram, an update of a type excluded by the current allowed_updates setting
        is never stored (the id is still consumed).
        """
        update = self._numbered(update)
        if self._is_allowed(update):
            self._remember_chats(update)
            self._pending.append(update)
            self._wake()
        return int(update["update_id"])

    async def deliver(self, update: JSON) -> int:
        """POST the update to the webhook, as Telegram does, and return the HTTP status.

        Returns 0 when the connection failed. A JSON answer naming a `method` is executed, as
        the reference allows. Raises AssertionError when no webhook is set or the update's type
        is excluded by allowed_updates (Telegram would not send it).
        """
        if self.webhook is None:
            raise AssertionError("deliver() needs a webhook: the bot never called setWebhook")
        update = self._numbered(update)
        if not self._is_allowed(update):
            raise AssertionError(
                f"{_update_type(update)!r} is not in allowed_updates "
                f"{self._allowed_updates!r}: Telegram would not send it"
            )
        return await self._post_to_webhook(update)

    async def deliver_until_ok(
        self, update: JSON, attempts: int = 3, delay: float = 0.05
    ) -> list[int]:
        """Deliver like Telegram: repeat the same update on non-2xx; return every status seen."""
        update = self._numbered(update)
        statuses: list[int] = []
        for attempt in range(attempts):
            statuses.append(await self.deliver(update))
            if 200 <= statuses[-1] < 300:
                break
            if attempt + 1 < attempts:
                await asyncio.sleep(delay)
        return statuses

    # ---- recording ----------------------------------------------------------------------------
    def sent(self, chat_id: Optional[ChatId] = None) -> list[JSON]:
        """Parameters of the successful sendMessage/sendPhoto calls, in order."""
        return [
            call.params
            for call in self.calls
            if call.status == 200
            and call.method.lower() in SEND_METHODS
            and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    async def wait_for(
        self, predicate: Callable[[], T], timeout: float = 10.0, *, what: Optional[str] = None
    ) -> T:
        """Poll `predicate` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                label = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}; calls so far:\n"
                    + self.describe_calls()
                )
            await asyncio.sleep(0.01)

    async def wait_for_sent(
        self, count: int, chat_id: Optional[ChatId] = None, timeout: float = 10.0
    ) -> list[JSON]:
        """Wait until at least `count` messages were sent (to `chat_id`), and return them all."""

        def enough() -> Optional[list[JSON]]:
            sent = self.sent(chat_id)
            return sent if len(sent) >= count else None

        where = "" if chat_id is None else f" to chat {chat_id}"
        return await self.wait_for(enough, timeout, what=f"{count} sent message(s){where}")

    def describe_calls(self, last: int = 30) -> str:
        lines = []
        for call in self.calls[-last:]:
            shown = {k: v for k, v in call.params.items() if not isinstance(v, UploadedFile)}
            lines.append(
                f"  {call.method} {json.dumps(shown, ensure_ascii=False)[:200]} -> {call.status}"
            )
        return "\n".join(lines) or "  (none)"

    # ---- HTTP ---------------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        method = entry[0] if entry else name
        params: JSON = {}
        unreadable: Optional[ApiError] = None
        try:
            params = await self._read_params(request)
        except ApiError as error:
            unreadable = error
        if request.match_info["token"] != self.token:
            return self._record_error(method, params, ApiError(401, "Unauthorized"))
        if entry is None:
            return self._record_error(method, params, ApiError(404, "Not Found"))
        if unreadable is not None:
            return self._record_error(method, params, unreadable)
        return await self._dispatch(method, params)

    async def _dispatch(self, method: str, params: JSON) -> web.Response:
        """Run one method: injected failures, chat checks, then the handler."""
        key = method.lower()
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        failure = self._take_failure(key, params)
        try:
            if failure is not None and failure.bare:
                call.status = failure.status
                return web.Response(
                    status=failure.status, text=_bare_page(failure.status), content_type="text/html"
                )
            if failure is not None:
                raise ApiError(failure.status, failure.description, failure.parameters)
            if key in CHAT_METHODS:
                self._check_chat(params)
            result = await self._methods[key][1](params)
        except ApiError as error:
            call.status = error.status
            return web.json_response(
                _error_body(error.status, error.description, error.parameters), status=error.status
            )
        if isinstance(result, _Described):
            return web.json_response(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return web.json_response({"ok": True, "result": result})

    def _record_error(self, method: str, params: JSON, error: ApiError) -> web.Response:
        self.calls.append(Call(method, params, time.monotonic(), error.status))
        return web.json_response(
            _error_body(error.status, error.description, error.parameters), status=error.status
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(_error_body(401, "Unauthorized"), status=401)
        path = request.match_info["file_path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(_error_body(404, "Not Found"), status=404)
        self.downloads.append(path)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _read_params(self, request: web.Request) -> JSON:
        """Query string, JSON, urlencoded or multipart: the four ways the reference allows."""
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                raw.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                for name, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        with value.file:  # aiohttp spools uploads to a temporary file
                            content = value.file.read()
                        raw[name] = UploadedFile(value.filename, value.content_type, content)
                    else:
                        raw[name] = value
        return {name: _coerce(name, value) for name, value in raw.items()}

    # ---- shared checks ------------------------------------------------------------------------
    def _take_failure(self, method: str, params: JSON) -> Optional[_Failure]:
        for failure in self._failures:
            if failure.matches(method, params):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _check_chat(self, params: JSON) -> None:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            if "inline_message_id" in params:
                return
            raise bad_request("chat_id is empty")
        if chat_id in self._forgotten or not isinstance(chat_id, (int, str)):
            raise bad_request("chat not found")
        if isinstance(chat_id, str) and not chat_id.startswith("@"):
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_rate(self, chat_id: ChatId) -> None:
        """The per-chat pacing (`rate_limit`), then the bot-wide cap (`global_rate_limit`);
        a send is recorded against either only when both let it through."""
        now = time.monotonic()
        if self._per_second:
            interval = 1.0 / self._per_second
            last = self._last_send.get(chat_id)
            if last is not None and now - last < interval:
                wait = max(1, math.ceil(interval - (now - last)))
                raise _too_many_requests(wait)
        if self._global_per_second:
            recent = self._recent_sends
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            allowed = max(1, math.floor(self._global_per_second))
            if len(recent) >= allowed:
                self.global_429s += 1
                # Room again once the oldest send that fills the window is a second old.
                wait = max(1, math.ceil(recent[len(recent) - allowed] + 1.0 - now))
                raise _too_many_requests(wait)
            recent.append(now)
        if self._per_second:
            self._last_send[chat_id] = now

    def _check_text(self, params: JSON) -> str:
        text = params.get("text")
        if not isinstance(text, str):
            raise bad_request("message text is empty")
        visible = _visible(text, params.get("parse_mode"))
        if not visible.strip():
            raise bad_request("message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise bad_request("message is too long")
        return visible

    def _check_markup(self, markup: Any) -> Optional[JSON]:
        """Validate reply_markup; return it when it is an inline keyboard (kept on the message)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None  # reply keyboards and removals are not echoed on the Message
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for button in (button for row in keyboard for button in row):
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise bad_request("BUTTON_DATA_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                if not 1 <= size <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif not INLINE_BUTTON_ACTIONS & button.keys():
                raise bad_request("text buttons are unallowed in the inline keyboard")
        return markup

    # ---- messages -----------------------------------------------------------------------------
    def _bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Sawt", "username": self.username}

    def _chat(self, chat_id: ChatId) -> JSON:
        """The Chat object for a chat_id: as last seen in an update, else a plausible one."""
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if isinstance(chat_id, str):
            fake_id = -1_000_000_000_000 - zlib.crc32(chat_id.encode()) % 10**9
            return {"id": fake_id, "type": "channel", "title": chat_id[1:], "username": chat_id[1:]}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Group"}

    def _new_message(self, params: JSON, content: JSON) -> JSON:
        chat_id = params["chat_id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: JSON = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _stored_message(self, params: JSON, missing: str) -> JSON:
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        message = self._messages.get((params["chat_id"], params["message_id"]))
        if message is None:
            raise bad_request(missing)
        return message

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _send_message(self, params: JSON) -> JSON:
        text = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(params["chat_id"])
        content: JSON = {"text": text}
        if params.get("entities"):
            content["entities"] = params["entities"]
        if markup is not None:
            content["reply_markup"] = markup
        return self._new_message(params, content)

    async def _send_photo(self, params: JSON) -> JSON:
        photo = params.get("photo")
        if not photo:
            raise bad_request("there is no photo in the request")
        caption = _visible(str(params.get("caption") or ""), params.get("parse_mode"))
        if utf16_len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(params["chat_id"])
        self._file_counter += 1
        base = f"AgACAgQAAxkDAAI{self._file_counter:04d}"
        content: JSON = {
            "photo": [
                {
                    "file_id": f"{base}-{w}",
                    "file_unique_id": f"AQAD{self._file_counter}{w}",
                    "width": w,
                    "height": w * 3 // 4,
                    "file_size": w * w // 10,
                }
                for w in (90, 320, 800)
            ]
        }
        if caption:
            content["caption"] = caption
        if params.get("caption_entities"):
            content["caption_entities"] = params["caption_entities"]
        if markup is not None:
            content["reply_markup"] = markup
        return self._new_message(params, content)

    async def _send_chat_action(self, params: JSON) -> bool:
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _edit_message_text(self, params: JSON) -> Union[JSON, bool]:
        text = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return True
        message = self._stored_message(params, "message to edit not found")
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        self._replace_markup(message, markup)
        return dict(message)

    async def _edit_message_reply_markup(self, params: JSON) -> Union[JSON, bool]:
        markup = self._check_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return True
        message = self._stored_message(params, "message to edit not found")
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        self._replace_markup(message, markup)
        return dict(message)

    @staticmethod
    def _replace_markup(message: JSON, markup: Optional[JSON]) -> None:
        message["edit_date"] = int(time.time())
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    async def _delete_message(self, params: JSON) -> bool:
        key = (params["chat_id"], params.get("message_id"))
        if self._messages.pop(key, None) is None and key not in self._incoming:
            raise bad_request("message to delete not found")
        self._incoming.discard(key)
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise bad_request("QUERY_ID_INVALID")
        query_id = str(query_id)
        if query_id in self._expired_callbacks or query_id in self.answered_callbacks:
            raise ApiError(400, TOO_OLD_QUERY)
        self.answered_callbacks.append(query_id)
        return True

    # ---- commands -----------------------------------------------------------------------------
    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for item in commands:
            if not isinstance(item, dict) or not BOT_COMMAND.fullmatch(
                str(item.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": item["command"], "description": item["description"]} for item in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return list(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    # ---- files --------------------------------------------------------------------------------
    async def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    # ---- webhook ------------------------------------------------------------------------------
    async def _set_webhook(self, params: JSON) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        local = parts.hostname in LOCAL_HOSTS
        if parts.scheme != "https" and not (local and parts.scheme == "http"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not local and (parts.port or 443) not in WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        self._remember_allowed(params)
        if params.get("drop_pending_updates"):
            self._pending.clear()
        already = self.webhook is not None and self.webhook["url"] == url
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": self._allowed_updates,
            "max_connections": int(params.get("max_connections") or 40),
            "has_custom_certificate": "certificate" in params,
        }
        self._webhook_error = None
        self._wake()  # a long poll in progress learns about the conflict
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    async def _delete_webhook(self, params: JSON) -> _Described:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was_set = self.webhook is not None
        self.webhook = None
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": bool(self.webhook and self.webhook["has_custom_certificate"]),
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _post_to_webhook(self, update: JSON) -> int:
        assert self.webhook is not None and self._session is not None
        headers = {}
        if self.webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        self._remember_chats(update)
        try:
            async with self._session.post(
                self.webhook["url"], json=update, headers=headers
            ) as resp:
                status, reason = resp.status, resp.reason or ""
                body = await resp.read()
        except aiohttp.ClientError as error:
            self._webhook_error = (int(time.time()), f"Connection failed: {error}")
            return 0
        if not 200 <= status < 300:
            self._webhook_error = (
                int(time.time()),
                f"Wrong response from the webhook: {status} {reason}",
            )
            return status
        await self._run_webhook_reply(body)
        return status

    async def _run_webhook_reply(self, body: bytes) -> None:
        """The reference lets a webhook answer with a method call; Telegram then runs it."""
        try:
            reply = json.loads(body) if body else None
        except ValueError:
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("method"), str):
            return
        entry = self._methods.get(reply["method"].lower())
        if entry is not None:
            params = {k: _coerce(k, v) for k, v in reply.items() if k != "method"}
            await self._dispatch(entry[0], params)

    # ---- updates ------------------------------------------------------------------------------
    def _numbered(self, update: JSON) -> JSON:
        """A copy of the update with an update_id (increasing, as Telegram numbers them)."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        return update

    def _remember_allowed(self, params: JSON) -> None:
        """allowed_updates: a list replaces the setting; absent keeps the previous one."""
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]

    def _is_allowed(self, update: JSON) -> bool:
        kind = _update_type(update)
        if not self._allowed_updates:
            return kind not in NOT_SENT_BY_DEFAULT
        return kind in self._allowed_updates

    def _remember_chats(self, update: JSON) -> None:
        """Keep the Chat objects and message ids updates reveal, so replies echo the same chat."""
        stack: list[Any] = [update]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                chat = item.get("chat")
                if isinstance(chat, dict) and "id" in chat and "type" in chat:
                    self._chats[chat["id"]] = chat
                    if "message_id" in item:
                        self._incoming.add((chat["id"], item["message_id"]))
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling as the reference describes offset, limit, timeout and allowed_updates."""
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._remember_allowed(params)
        offset = int(params.get("offset") or 0)
        if offset > 0:  # every update below offset is confirmed and forgotten
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:  # the last -offset updates; all earlier ones are forgotten
            self._pending = self._pending[offset:]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)

        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll is terminated by this one
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self.webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            remaining = deadline - time.monotonic()
            if self._pending or remaining <= 0 or self._closing:
                return self._pending[:limit]
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                pass
