"""A local WhatsApp Cloud API (Graph API) that behaves as Meta's reference describes.

Tests point `WHATSAPP_API_BASE` at `fake.api_base`. The fake checks the Bearer token on every
call, validates send requests with the limits of the reference pages (text 4,096 characters;
reply buttons 1–3, title ≤ 20, id ≤ 256; lists ≤ 10 sections and ≤ 10 rows, row title ≤ 24,
row id ≤ 200, description ≤ 72, body ≤ 4,096; header and footer ≤ 60), answers with Graph error
bodies (`{"error": {"message": "(#code) Title", "type", "code", "error_data", "fbtrace_id"}}`),
serves media through a token-protected download URL, and plays Meta's side of webhooks:
the verification handshake, signed deliveries (`X-Hub-Signature-256`), and message statuses.

Like the real API it *accepts* a free-form message to a citizen whose 24-hour customer-service
window is closed and reports error 131047 afterwards, in a `failed` status webhook
(`window_policy="async"`); `window_policy="sync"` answers 400 at once instead.

HTTP statuses: the error-codes page tells clients to rely on `code`, not on the HTTP status;
older transcriptions of its table give 401 for 0/190, 403 for 10/368/131005/131031, 500 for
131000/131016/131057, 503 for 2 and 400 for the rest (one transcription says 429 for the
throughput codes, another 400): the fake uses 400 there, and `fail_next(http_status=…)`
overrides any of them.

Throughput: `throughput_limit(per_second)` caps the phone number as Meta does (80 messages
per second by default): a send beyond it in any sliding one-second window is refused with
130429 "Rate limit hit" (HTTP 400, as above) and counted in `throttled`.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal, Optional, Union

import aiohttp
from aiohttp import web

from tests.fakes import whatsapp_payloads as wp

Payload = dict[str, Any]
AUTO = "auto"
WINDOW_SECONDS = 24 * 3600
MEDIA_URL_TTL = 5 * 60  # the reference: media URLs expire after 5 minutes
TOKEN_MESSAGE = "Invalid OAuth access token - Cannot parse access token"

# code: (title, details, HTTP status). Titles as the error-codes page gave them (the message
# is "(#code) title"); details as its `details` column.
ERRORS: dict[int, tuple[str, str, int]] = {
    0: ("AuthException", "We were unable to authenticate the app user.", 401),
    1: ("API Unknown", "Invalid request or possible server error.", 400),
    2: ("API Service", "Temporary due to downtime or due to being overloaded.", 503),
    3: ("API Method", "Capability or permissions issue.", 500),
    4: ("API Too Many Calls", "The app has reached its API call rate limit.", 400),
    10: ("Permission Denied", "Permission is either not granted or has been removed.", 403),
    100: (
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
        400,
    ),
    190: ("Access token has expired", "Your access token has expired.", 401),
    368: (
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account associated with the app has been restricted or "
        "disabled for violating a platform policy.",
        403,
    ),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    130472: (
        "User's number is part of an experiment",
        "Message was not sent as part of an experiment.",
        400,
    ),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131005: ("Access denied", "Permission is either not granted or has been removed.", 403),
    131008: ("Required parameter is missing", "The request is missing a required parameter.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131016: ("Service unavailable", "A service is temporarily unavailable.", 500),
    131021: ("Recipient cannot be sender", "Sender and recipient phone number is the same.", 400),
    131026: (
        "Message Undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a "
        "WhatsApp phone number, the recipient has not accepted the new Terms of Service and "
        "Privacy Policy, or the recipient is using an old WhatsApp version.",
        400,
    ),
    131031: (
        "Account has been locked",
        "The WhatsApp Business Account associated with the app has been restricted or "
        "disabled for violating a platform policy.",
        403,
    ),
    131042: (
        "Business eligibility payment issue",
        "There was an error related to your payment method.",
        400,
    ),
    131047: (
        "Re-engagement message",
        "More than 24 hours have passed since the recipient last replied to the sender number.",
        400,
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number. This may be because too many previous messages were "
        "blocked or flagged as spam.",
        400,
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be "
        "delivered.",
        400,
    ),
    131051: ("Unsupported message type", "Unsupported message type.", 400),
    131052: ("Media download error", "Unable to download the media sent by the user.", 400),
    131053: ("Media upload error", "Unable to upload the media used in the message.", 400),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
        400,
    ),
    131057: (
        "Account in maintenance mode",
        "Business Account is in maintenance mode",
        500,
    ),
    132000: (
        "Template Param Count Mismatch",
        "The number of variable parameter values included in the request did not match the "
        "number of variable parameters defined in the template.",
        400,
    ),
    132001: (
        "Template does not exist",
        "The template does not exist in the specified language or the template has not been "
        "approved.",
        400,
    ),
    133010: ("Phone number Not Registered", "The phone number is not registered.", 400),
}

SEND_TYPES = frozenset(
    {
        "text", "interactive", "template", "image", "audio", "video", "document",
        "sticker", "location", "contacts", "reaction",
    }
)
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
INTERACTIVE_TYPES = frozenset(
    {
        "button", "list", "cta_url", "flow", "location_request_message", "product",
        "product_list", "catalog_message", "voice_call", "call_permission_request",
    }
)


def fbtrace_id() -> str:
    return secrets.token_urlsafe(16)


def graph_error_body(
    code: int,
    *,
    details: Optional[str] = None,
    title: Optional[str] = None,
    subcode: Optional[int] = None,
) -> Payload:
    """The Graph error body of the error-codes page (`error_subcode` only when asked:
    it is deprecated and not returned from v16.0 on)."""
    known_title, known_details, _ = ERRORS.get(code, ("Unknown error", "", 400))
    error: Payload = {
        "message": f"(#{code}) {title or known_title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or known_details},
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def http_status_of(code: int) -> int:
    return ERRORS.get(code, ("", "", 400))[2]


class GraphError(Exception):
    """Raised inside a handler; the middleware turns it into the Graph error response."""

    def __init__(self, status: int, body: Payload, headers: Optional[dict[str, str]] = None):
        super().__init__(body["error"].get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def of(cls, code: int, details: Optional[str] = None) -> "GraphError":
        return cls(http_status_of(code), graph_error_body(code, details=details))

    @classmethod
    def unsupported(cls, method: str, node: str) -> "GraphError":
        """Graph's answer for an object id that does not exist (or cannot take the call)."""
        message = (
            f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        )
        body = {
            "error": {
                "message": message,
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": fbtrace_id(),
            }
        }
        return cls(400, body)

    @classmethod
    def token(cls) -> "GraphError":
        body = {
            "error": {
                "message": TOKEN_MESSAGE,
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": fbtrace_id(),
            }
        }
        header = f'OAuth "Facebook Platform" "invalid_token" "{TOKEN_MESSAGE}"'
        return cls(401, body, {"WWW-Authenticate": header})


def _length_error(what: str, value: Any, low: int, high: int) -> Optional[GraphError]:
    """131009 in Meta's wording ("Button title length invalid. Min length: 1, Max length: 20")."""
    if not isinstance(value, str) or not low <= len(value) <= high:
        return GraphError.of(
            131009, f"{what} length invalid. Min length: {low}, Max length: {high}"
        )
    return None


def _check_length(what: str, value: Any, low: int, high: int) -> None:
    error = _length_error(what, value, low, high)
    if error:
        raise error


def _required(container: Any, key: str, path: str) -> Any:
    if not isinstance(container, dict) or container.get(key) in (None, "", [], {}):
        raise GraphError.of(131008, f"The parameter {path} is required.")
    return container[key]


def normalise_number(to: str) -> str:
    """The wa_id of a `to` value: the reference accepts +, -, parentheses and spaces."""
    return re.sub(r"[\s+\-()]", "", to)


@dataclass
class SentMessage:
    """A message the API accepted (HTTP 200 and a wamid); `error_code` is set when it will be
    reported `failed` afterwards (closed window, injected asynchronous failure)."""

    wamid: str
    wa_id: str
    body: Payload
    error_code: Optional[int] = None
    at: float = field(default_factory=time.monotonic)  # when it was accepted

    @property
    def type(self) -> str:
        return str(self.body.get("type", "text"))

    @property
    def text(self) -> Optional[str]:
        """The words a citizen would read: text body, interactive body, caption or template."""
        content = self.body.get(self.type) or {}
        if self.type == "text":
            return content.get("body")
        if self.type == "interactive":
            return (content.get("body") or {}).get("text")
        if self.type == "template":
            return content.get("name")
        return content.get("caption")

    @property
    def failed(self) -> bool:
        return self.error_code is not None

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass(frozen=True)
class Call:
    """One request the fake received, with the status it answered."""

    method: str
    path: str
    status: int
    request: Any
    response: Any
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class WebhookDelivery:
    payload: Any
    status: int
    body: str


@dataclass
class _Failure:
    code: Optional[int]
    http_status: Optional[int]
    remaining: int
    to: Optional[str]
    details: Optional[str]
    subcode: Optional[int]
    asynchronous: bool = False


@dataclass
class _Media:
    content: bytes
    mime_type: str
    url_issued: dict[str, float] = field(default_factory=dict)


class FakeWhatsApp:
    """A WhatsApp Cloud API on 127.0.0.1 (random free port), with Meta's webhook side."""

    def __init__(
        self,
        token: str = "EAAG-test-token",
        phone_number_id: str = "106540352242922",
        app_secret: str = "app-secret",
        display_phone_number: str = "212600000000",
        *,
        waba_id: str = "102290129340398",
        api_version: str = "v21.0",
        auto_statuses: bool = False,
        window_policy: Literal["async", "sync"] = "async",
        strict_read_receipts: bool = False,
    ) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret
        self.display_phone_number = display_phone_number
        self.business = wp.Business(phone_number_id, display_phone_number, waba_id)
        self.api_version = api_version
        self.auto_statuses = auto_statuses
        self.window_policy = window_policy
        # Only ids delivered through deliver()/deliver_message() may be marked read (131009).
        self.strict_read_receipts = strict_read_receipts
        self.clock: Callable[[], float] = time.time

        self.webhook_url: Optional[str] = None
        self.verify_token: Optional[str] = None
        self.sent: list[SentMessage] = []
        self.calls: list[Call] = []
        self.read_receipts: list[str] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.inbound_ids: set[str] = set()

        self._media: dict[str, _Media] = {}
        self._last_inbound: dict[str, float] = {}
        self._throughput: Optional[float] = None
        self._recent_sends: collections.deque[float] = collections.deque()
        # Sends refused with 130429 by `throughput_limit`.
        self.throttled = 0
        self._failures: list[_Failure] = []
        self._statuses: asyncio.Queue[Payload] = asyncio.Queue()
        self._worker: Optional[asyncio.Task[None]] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._runner: Optional[web.AppRunner] = None
        self.port = 0
        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_post("/{version}/{node}/messages", self._messages)
        self.app.router.add_post("/{version}/{node}/media", self._upload)
        self.app.router.add_get("/media-download/{media_id}", self._download)
        self.app.router.add_get("/{version}/{node}", self._media_info)
        self.app.router.add_delete("/{version}/{node}", self._media_delete)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> "FakeWhatsApp":
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._deliver_statuses())
        return self

    async def close(self) -> None:
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeWhatsApp":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/{self.api_version}"

    # ---- test controls ---------------------------------------------------------------------

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        """Media a citizen sent (its id appears in image/audio/… webhooks)."""
        self._media[media_id] = _Media(content, mime_type)

    def media_content(self, media_id: str) -> Optional[bytes]:
        media = self._media.get(media_id)
        return media.content if media else None

    def fail_next(
        self,
        code: int,
        *,
        http_status: Optional[int] = None,
        times: int = 1,
        to: Optional[str] = None,
        details: Optional[str] = None,
        subcode: Optional[int] = None,
        asynchronous: bool = False,
    ) -> None:
        """The next `times` sends (to `to` only, if given) fail with Graph error `code`.

        Synchronous by default (HTTP error body). `asynchronous=True` accepts the message
        and reports the error in a `failed` status webhook instead, as Meta does for
        delivery failures. Mark-as-read requests are never affected.
        """
        recipient = normalise_number(to) if to else None
        self._failures.append(
            _Failure(code, http_status, times, recipient, details, subcode, asynchronous)
        )

    def throughput_limit(self, per_second: Optional[float]) -> None:
        """Cap this phone number's throughput: a send that would make more than `per_second`
        accepted messages (at least 1) in any sliding one-second window is refused with
        130429 "Rate limit hit" and counted in `throttled`. Refused sends do not count
        towards the window; read receipts are not messages and are never refused. None
        removes the cap."""
        self._throughput = per_second
        self._recent_sends.clear()

    def fail_with_status(self, status: int = 503, *, times: int = 1) -> None:
        """The next `times` sends get a bare HTTP `status` (no Graph body), like a front-end
        outage."""
        self._failures.append(_Failure(None, status, times, None, None, None))

    def open_window(self, wa_id: str, *, at: Optional[float] = None) -> None:
        """The citizen wrote (now, or at `at` on `self.clock`): free-form messages may go."""
        self._last_inbound[normalise_number(wa_id)] = self.clock() if at is None else at

    def close_window(self, wa_id: str) -> None:
        self._last_inbound.pop(normalise_number(wa_id), None)

    def window_open(self, wa_id: str) -> bool:
        last = self._last_inbound.get(normalise_number(wa_id))
        return last is not None and self.clock() - last < WINDOW_SECONDS

    def sent_to(self, wa_id: str, *, delivered_only: bool = False) -> list[SentMessage]:
        wanted = normalise_number(wa_id)
        return [
            s for s in self.sent if s.wa_id == wanted and not (delivered_only and s.failed)
        ]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, *, what: str = "condition"
    ) -> None:
        """Poll `predicate` until true; AssertionError naming what was awaited and what the
        fake saw, so a failing test says why."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise AssertionError(
                    f"{what} not met within {timeout:g} s; the fake saw {self.describe()}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_sent(
        self, count: int, to: Optional[str] = None, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Wait until `count` messages were accepted (to `to` if given); returns them all."""

        def accepted() -> list[SentMessage]:
            return self.sent_to(to) if to else list(self.sent)

        target = f" to {to}" if to else ""
        await self.wait_for(
            lambda: len(accepted()) >= count, timeout, what=f"{count} message(s) sent{target}"
        )
        return accepted()

    async def drain_statuses(self, timeout: float = 10.0) -> None:
        """Wait until every queued status webhook was posted."""
        await asyncio.wait_for(self._statuses.join(), timeout)

    def describe(self) -> str:
        sent = [f"{s.type} to {s.wa_id}: {s.text!r}" for s in self.sent]
        calls = [f"{c.method} {c.path} -> {c.status}" for c in self.calls[-10:]]
        return f"sent={sent}, last calls={calls}, read={self.read_receipts}"

    # ---- Meta's side of webhooks -------------------------------------------------------------

    async def verify_webhook(
        self,
        url: str,
        verify_token: str,
        *,
        challenge: Optional[str] = None,
        mode: str = "subscribe",
    ) -> tuple[int, str, str]:
        """Meta's GET handshake; returns (status, body, the challenge sent)."""
        challenge = challenge or str(secrets.randbelow(10**10))
        params = {"hub.mode": mode, "hub.challenge": challenge, "hub.verify_token": verify_token}
        async with self._client().get(url, params=params) as response:
            return response.status, await response.text(), challenge

    async def configure_webhook(self, url: str, verify_token: str) -> int:
        """Like saving the callback URL in the App Dashboard: Meta verifies it first and only
        keeps it when the endpoint answers 200 with the challenge. Returns the status."""
        status, body, challenge = await self.verify_webhook(url, verify_token)
        if status == 200 and body != challenge:
            raise AssertionError(
                f"webhook verification answered {body!r}, Meta expects the challenge "
                f"{challenge!r}"
            )
        if status == 200:
            self.webhook_url, self.verify_token = url, verify_token
        return status

    async def deliver(
        self,
        payload: Union[Payload, bytes],
        *,
        signature: Optional[str] = AUTO,
        url: Optional[str] = None,
    ) -> tuple[int, str]:
        """POST a webhook as Meta does. `signature="auto"` signs the exact raw body with the
        app secret; another string is sent as given (forged); None sends no signature.

        A dict is serialised once with non-ASCII characters escaped (`\\u0627…`), so a
        receiver that re-serialises the parsed JSON before checking the signature fails (the
        reference only says to sign "the payload"; whether Meta escapes is not documented).
        Pass bytes to send a body exactly as given."""
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook URL: call configure_webhook() or pass url=")
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == AUTO:
            headers["X-Hub-Signature-256"] = wp.sign(raw, self.app_secret)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        if isinstance(payload, dict):
            self.inbound_ids.update(m["id"] for m in wp.messages_of(payload) if "id" in m)
        try:
            async with self._client().post(target, data=raw, headers=headers) as response:
                result = (response.status, await response.text())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            result = (0, f"{type(exc).__name__}: {exc}")
        self.webhook_deliveries.append(WebhookDelivery(payload, *result))
        return result

    async def deliver_message(
        self, payload: Payload, *, signature: Optional[str] = AUTO
    ) -> tuple[int, str]:
        """Deliver a citizen's message; it opens (resets) their 24-hour window first."""
        for msg in wp.messages_of(payload):
            if "from" in msg:
                self.open_window(msg["from"])
        return await self.deliver(payload, signature=signature)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("FakeWhatsApp is not started")
        return self._session

    async def _deliver_statuses(self) -> None:
        """One worker posts status webhooks in order: sent always precedes delivered."""
        while True:
            payload = await self._statuses.get()
            try:
                if self.webhook_url:
                    await self.deliver(payload)
            except Exception as exc:  # keep the worker alive; the delivery log shows it
                self.webhook_deliveries.append(WebhookDelivery(payload, 0, repr(exc)))
            finally:
                self._statuses.task_done()

    def _queue_statuses(self, sent: SentMessage, async_error: Optional[Payload]) -> None:
        if not (self.auto_statuses and self.webhook_url):
            return
        business = self.business
        if async_error is not None:
            failed = wp.status(
                sent.wamid, "failed", sent.wa_id, errors=[async_error], business=business
            )
            self._statuses.put_nowait(failed)
            return
        template = sent.type == "template"
        category = "utility" if template else "service"
        billing = {
            "conversation": wp.conversation_info(category),
            "pricing": wp.pricing_info(category, free=not template),
        }
        self._statuses.put_nowait(
            wp.status(sent.wamid, "sent", sent.wa_id, business=business, **billing)
        )
        if sent.type != "reaction":  # the reference: reactions only get a `sent` webhook
            self._statuses.put_nowait(
                wp.status(sent.wamid, "delivered", sent.wa_id, business=business, **billing)
            )

    # ---- Graph API handlers ------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        # Multipart uploads are parsed by their handler (reading them here would consume them).
        multipart = request.content_type.startswith("multipart/")
        raw = b"" if multipart else await request.read()
        try:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise GraphError.token()
            response = await handler(request)
        except GraphError as exc:
            response = web.json_response(exc.body, status=exc.status, headers=exc.headers)
        except web.HTTPException as exc:  # no route: Graph's unknown path answer
            body = {
                "error": {
                    "message": f"Unknown path components: {request.path}",
                    "type": "OAuthException",
                    "code": 2500,
                    "fbtrace_id": fbtrace_id(),
                }
            }
            response = web.json_response(body, status=400 if exc.status == 404 else exc.status)
        recorded = _response_of(response)
        self.calls.append(
            Call(request.method, request.path, response.status, _decode(raw), recorded)
        )
        return response

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["node"] != self.phone_number_id:
            raise GraphError.unsupported("post", request.match_info["node"])
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise GraphError.of(100, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise GraphError.of(100, "The request body must be a JSON object.")
        if body.get("status") == "read" or ("message_id" in body and "to" not in body):
            return self._mark_read(body)

        to = body.get("to")
        wa_id = normalise_number(to) if isinstance(to, str) else ""
        failure = self._take_failure(wa_id)
        if failure and failure.code is None:
            return web.Response(status=failure.http_status or 503, text="Service Unavailable")
        if failure and not failure.asynchronous:
            assert failure.code is not None
            status = failure.http_status or http_status_of(failure.code)
            if failure.code == 190:
                raise GraphError(status, GraphError.token().body)
            error = graph_error_body(failure.code, details=failure.details, subcode=failure.subcode)
            raise GraphError(status, error)

        self._validate(body)
        self._check_throughput()
        async_error: Optional[Payload] = None
        if failure is not None and failure.code is not None:
            title, details, _ = ERRORS.get(failure.code, ("Unknown error", "", 400))
            async_error = wp.status_error(failure.code, title, failure.details or details)
        elif body.get("type", "text") != "template" and not self.window_open(wa_id):
            if self.window_policy == "sync":
                raise GraphError.of(131047)
            title, details, _ = ERRORS[131047]
            async_error = wp.status_error(131047, title, details)

        sent = SentMessage(
            wp.new_wamid(), wa_id, body, async_error["code"] if async_error else None
        )
        self.sent.append(sent)
        self._queue_statuses(sent, async_error)
        reply: Payload = {"id": sent.wamid}
        if sent.type == "template":
            reply["message_status"] = "accepted"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [reply],
            }
        )

    async def _media_info(self, request: web.Request) -> web.StreamResponse:
        """GET /{media-id}: a download URL valid 5 minutes, with the asset's metadata."""
        node = request.match_info["node"]
        if node == self.phone_number_id:
            return web.json_response(
                {
                    "verified_name": "Sawt",
                    "display_phone_number": self.display_phone_number,
                    "quality_rating": "GREEN",
                    "id": node,
                }
            )
        media = self._media.get(node)
        asked_phone = request.query.get("phone_number_id")
        if media is None or asked_phone not in (None, self.phone_number_id):
            raise GraphError.unsupported("get", node)
        nonce = secrets.token_hex(8)
        issued = self.clock()
        media.url_issued[nonce] = issued
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/media-download/{node}?mid={node}"
                f"&ext={int(issued)}&hash={nonce}",
                "mime_type": media.mime_type,
                "sha256": hashlib.sha256(media.content).hexdigest(),
                "file_size": len(media.content),
                "id": node,
            }
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """The media URL itself: the same Bearer token (checked by the middleware), else 401;
        an unknown or expired URL is a 404, as the reference says of failed downloads."""
        media = self._media.get(request.match_info["media_id"])
        issued = media.url_issued.get(request.query.get("hash", "")) if media else None
        if media is None or issued is None or self.clock() - issued > MEDIA_URL_TTL:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=media.content, headers={"Content-Type": media.mime_type})

    async def _media_delete(self, request: web.Request) -> web.StreamResponse:
        node = request.match_info["node"]
        if self._media.pop(node, None) is None:
            raise GraphError.unsupported("delete", node)
        return web.json_response({"success": True})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """POST /{phone-number-id}/media (multipart: messaging_product, file, type)."""
        if request.match_info["node"] != self.phone_number_id:
            raise GraphError.unsupported("post", request.match_info["node"])
        form = await request.post()
        if form.get("messaging_product") != "whatsapp":
            raise GraphError.of(100, "The parameter messaging_product must be 'whatsapp'.")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise GraphError.of(131008, "The parameter file is required.")
        mime_type = str(form.get("type") or upload.content_type)
        media_id = str(secrets.randbelow(10**15) + 10**15)
        with upload.file:
            self.add_media(media_id, upload.file.read(), mime_type)
        return web.json_response({"id": media_id})

    def _check_throughput(self) -> None:
        if not self._throughput:
            return
        now = time.monotonic()
        recent = self._recent_sends
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= max(1, math.floor(self._throughput)):
            self.throttled += 1
            raise GraphError.of(130429)
        recent.append(now)

    def _take_failure(self, wa_id: str) -> Optional[_Failure]:
        for failure in self._failures:
            if failure.to is None or failure.to == wa_id:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _mark_read(self, body: Payload) -> web.StreamResponse:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError.of(100, "messaging_product must be 'whatsapp'.")
        message_id = body.get("message_id")
        known = not self.strict_read_receipts or message_id in self.inbound_ids
        if not (isinstance(message_id, str) and message_id.startswith("wamid.") and known):
            raise GraphError.of(131009, f"Invalid message_id: {message_id!r}.")
        self.read_receipts.append(message_id)
        return web.json_response({"success": True})

    # ---- validation, per the reference pages ------------------------------------------------

    def _validate(self, body: Payload) -> None:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError.of(100, "The parameter messaging_product must be 'whatsapp'.")
        if body.get("recipient_type", "individual") != "individual":
            raise GraphError.of(100, "The parameter recipient_type must be 'individual'.")
        to = _required(body, "to", "to")
        wa_id = normalise_number(to) if isinstance(to, str) else ""
        if not re.fullmatch(r"\d{6,15}", wa_id):
            raise GraphError.of(100, f"Invalid parameter: to {to!r} is not a phone number.")
        if wa_id == normalise_number(self.display_phone_number):
            raise GraphError.of(131021)
        kind = body.get("type", "text")
        if kind not in SEND_TYPES:
            raise GraphError.of(131051, f"Unsupported message type: {kind!r}.")
        content = _required(body, kind, kind)
        if not isinstance(content, list if kind == "contacts" else dict):
            shape = "an array" if kind == "contacts" else "an object"
            raise GraphError.of(100, f"The parameter {kind} must be {shape}.")
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not text.strip():
                raise GraphError.of(100, "The parameter text['body'] is required.")
            if len(text) > 4096:
                raise GraphError.of(
                    100, "Param text['body'] must be at most 4096 characters long."
                )
        elif kind == "interactive":
            _validate_interactive(content)
        elif kind == "template":
            _required(content, "name", "template['name']")
            _required(content.get("language"), "code", "template['language']['code']")
        elif kind in MEDIA_TYPES:
            if ("id" in content) == ("link" in content):
                raise GraphError.of(
                    100, f"Exactly one of {kind}['id'] or {kind}['link'] is required."
                )
            if "caption" in content:
                _check_length(f"{kind.capitalize()} caption", content["caption"], 0, 1024)
        elif kind == "location":
            for key in ("latitude", "longitude"):
                _required(content, key, f"location['{key}']")
        elif kind == "reaction":
            _required(content, "message_id", "reaction['message_id']")


def _validate_interactive(interactive: Payload) -> None:
    kind = _required(interactive, "type", "interactive['type']")
    if kind not in INTERACTIVE_TYPES:
        raise GraphError.of(100, f"Invalid interactive type: {kind!r}.")
    header = interactive.get("header")
    if header is not None:
        if not isinstance(header, dict) or "type" not in header:
            raise GraphError.of(131008, "The parameter interactive['header']['type'] is required.")
        if kind == "list" and header["type"] != "text":
            raise GraphError.of(131009, "List message header must be of type text.")
        if header["type"] == "text":
            _check_length("Header text", header.get("text"), 1, 60)
    footer = interactive.get("footer")
    if footer is not None:
        _check_length("Footer text", _field(footer, "text"), 1, 60)
    if kind not in ("button", "list"):
        return
    body = _required(interactive, "body", "interactive['body']")
    # Reply-button bodies hold 1,024 characters; list bodies 4,096 (both reference pages).
    _check_length("Body text", _field(body, "text"), 1, 1024 if kind == "button" else 4096)
    action = _required(interactive, "action", "interactive['action']")
    if not isinstance(action, dict):
        raise GraphError.of(100, "The parameter interactive['action'] must be an object.")
    if kind == "button":
        _validate_buttons(action)
    else:
        _validate_list(action)


def _field(container: Any, key: str) -> Any:
    return container.get(key) if isinstance(container, dict) else None


def _validate_buttons(action: Payload) -> None:
    buttons = _required(action, "buttons", "interactive['action']['buttons']")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise GraphError.of(131009, "Buttons count invalid. Min count: 1, Max count: 3")
    ids, titles = set(), set()
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise GraphError.of(131009, "Button type must be 'reply'.")
        reply = _required(button, "reply", "interactive['action']['buttons'][]['reply']")
        _check_length("Button title", _field(reply, "title"), 1, 20)
        _check_length("Button id", _field(reply, "id"), 1, 256)
        if reply["id"] in ids:
            raise GraphError.of(131009, f"Duplicate button id: {reply['id']!r}.")
        if reply["title"] in titles:
            raise GraphError.of(131009, f"Duplicate button title: {reply['title']!r}.")
        ids.add(reply["id"])
        titles.add(reply["title"])


def _validate_list(action: Payload) -> None:
    _check_length("Button text", action.get("button"), 1, 20)
    sections = _required(action, "sections", "interactive['action']['sections']")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise GraphError.of(131009, "Sections count invalid. Min count: 1, Max count: 10")
    if not all(isinstance(s, dict) and isinstance(s.get("rows", []), list) for s in sections):
        raise GraphError.of(100, "Each section must be an object with a rows array.")
    rows = [row for section in sections for row in section.get("rows", [])]
    if not all(isinstance(row, dict) for row in rows):
        raise GraphError.of(100, "Each row must be an object.")
    if not 1 <= len(rows) <= 10:
        raise GraphError.of(131009, "Total row count invalid. Min count: 1, Max count: 10")
    for section in sections:
        if len(sections) > 1 or "title" in section:
            _check_length("Section title", section.get("title"), 1, 24)
    ids: set[str] = set()
    for row in rows:
        _check_length("Row title", row.get("title"), 1, 24)
        _check_length("Row id", row.get("id"), 1, 200)
        if "description" in row:
            _check_length("Row description", row["description"], 0, 72)
        if row["id"] in ids:
            raise GraphError.of(131009, f"Duplicate row id: {row['id']!r}.")
        ids.add(row["id"])


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _response_of(response: web.StreamResponse) -> Any:
    if isinstance(response, web.Response) and response.content_type == "application/json":
        return json.loads(response.text or "null")
    if isinstance(response, web.Response) and response.content_type.startswith("text/"):
        return response.text
    return None
