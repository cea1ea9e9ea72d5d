"""WhatsApp Business Cloud API: the signed webhook in, Graph API calls out (aiohttp).

A POST is authenticated before anything else is done with it: the `X-Hub-Signature-256`
header must be the HMAC-SHA256 of the exact raw body under the app secret (missing: 401,
wrong: 403; compared in constant time). Then every message and status it carries is stored
or applied, and only then is it answered 200 — on a database error it is answered 503 and
Meta delivers it again.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import mimetypes
import uuid
from pathlib import Path
from typing import Any, Optional

import aiohttp
from aiohttp import web

from bot.channels.base import Inbound, Media, Reply
from bot.channels.sink import EventSink
from bot.channels.transport import SendResult
from bot.channels.whatsapp_parse import CHANNEL, parse_payload
from bot.channels.whatsapp_render import mark_read, render_reply, template_message
from bot.settings import Settings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SERVICE_WINDOW = dt.timedelta(hours=24)
MAX_MEDIA_BYTES = 16 * 1024 * 1024
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
# Graph error codes worth another try: throughput (130429), pair rate (131056), "try again"
# (131000, 131016, 1, 2), app or account call limits (4, 80007, 133016).
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133016})
# The pair rate limit allows about one message every 6 seconds to the same citizen.
PAIR_RATE_DELAY = 6.0
# An expired or wrong token: every message waits (with backoff) for the operator to fix it.
TOKEN_CODES = frozenset({190})


def signature(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def classify(http_status: int, body: Any, retry_after_header: Optional[str] = None) -> SendResult:
    """The outbox's reading of a Graph API error answer."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    message = " — ".join(str(part) for part in (error.get("message"), details) if part) or f"HTTP {http_status}"
    retry_after: Optional[float] = None
    if retry_after_header and retry_after_header.isdigit():
        retry_after = float(retry_after_header)
    elif code == 131056:
        retry_after = PAIR_RATE_DELAY
    if code in RETRYABLE_CODES or http_status == 429 or http_status >= 500:
        return SendResult(ok=False, retry_after=retry_after, error_code=code or http_status, error=message)
    if code in TOKEN_CODES or http_status == 401:
        return SendResult(ok=False, error_code=code or http_status, error=message)
    # 131047 window closed, 131026 undeliverable, 131051 unsupported, 100/131009 parameters,
    # 368 policy block, template errors…: sending it again cannot succeed.
    return SendResult(ok=False, permanent=True, error_code=code or http_status, error=message)


class WhatsAppTransport:
    channel = CHANNEL
    service_window: Optional[dt.timedelta] = SERVICE_WINDOW

    def __init__(self, http: aiohttp.ClientSession, settings: Settings) -> None:
        assert settings.whatsapp_token and settings.whatsapp_phone_number_id
        self.http = http
        self.api_base = settings.whatsapp_api_base.rstrip("/")
        self.phone_number_id = settings.whatsapp_phone_number_id
        self._auth = {"Authorization": f"Bearer {settings.whatsapp_token}"}

    def render(self, user_id: str, reply: Reply, language: str) -> list[dict[str, Any]]:
        return render_reply(user_id, reply, language)

    def acknowledgements(self, inbound: Inbound) -> list[dict[str, Any]]:
        return [mark_read(inbound.message_id)]

    def template(self, user_id: str, template: dict[str, Any]) -> Optional[dict[str, Any]]:
        return template_message(user_id, template)

    async def send(self, request: dict[str, Any]) -> SendResult:
        url = f"{self.api_base}/{self.phone_number_id}/{request['method']}"
        try:
            async with self.http.post(
                url, json=request["params"], headers=self._auth, timeout=REQUEST_TIMEOUT
            ) as response:
                text = await response.text()
                try:
                    body = json.loads(text) if text else {}
                except ValueError:
                    body = {}
                if response.status == 200:
                    messages = body.get("messages") or [{}] if isinstance(body, dict) else [{}]
                    return SendResult(ok=True, platform_message_id=messages[0].get("id"))
                return classify(response.status, body, response.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return SendResult(ok=False, error=f"{type(error).__name__}: {error}")

    async def fetch_media(self, media: Media, directory: Path) -> Path:
        """Graph API: the media id gives a short-lived URL, fetched with the same token."""
        async with self.http.get(
            f"{self.api_base}/{media.platform_id}", headers=self._auth, timeout=REQUEST_TIMEOUT
        ) as response:
            response.raise_for_status()
            info = await response.json()
        async with self.http.get(info["url"], headers=self._auth, timeout=REQUEST_TIMEOUT) as response:
            response.raise_for_status()
            content = await response.content.read(MAX_MEDIA_BYTES + 1)
        if len(content) > MAX_MEDIA_BYTES:
            raise ValueError(f"media {media.platform_id} is larger than {MAX_MEDIA_BYTES} bytes")
        mime = (info.get("mime_type") or media.mime_type or "").split(";")[0].strip()
        suffix = mimetypes.guess_extension(mime) or ""
        target = directory / CHANNEL / f"{uuid.uuid4().hex}{suffix}"
        await asyncio.get_running_loop().run_in_executor(None, _write, target, content)
        return target


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


class WhatsAppChannel:
    def __init__(self, settings: Settings, sink: EventSink) -> None:
        self.settings = settings
        self.sink = sink

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo `hub.challenge` when the verify token matches."""
        expected = self.settings.whatsapp_verify_token or ""
        given = request.query.get("hub.verify_token", "")
        if (
            request.query.get("hub.mode") == "subscribe"
            and expected
            and hmac.compare_digest(given.encode(), expected.encode())
        ):
            return web.Response(text=request.query.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            self.sink.count(CHANNEL, "refused")
            return web.json_response({"error": "missing X-Hub-Signature-256"}, status=401)
        body = await request.read()
        secret = self.settings.whatsapp_app_secret or ""
        if not secret or not hmac.compare_digest(given.encode(), signature(body, secret).encode()):
            self.sink.count(CHANNEL, "refused")
            return web.json_response({"error": "wrong X-Hub-Signature-256"}, status=403)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            self.sink.count(CHANNEL, "malformed")
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        phone_number_id = self.settings.whatsapp_phone_number_id or ""
        try:
            await self.sink.deliver_all(CHANNEL, parse_payload(payload, phone_number_id))
        except Exception:  # not all stored: a 5xx makes Meta deliver the payload again
            logger.exception("whatsapp webhook could not be stored")
            return web.json_response({"error": "try again later"}, status=503)
        return web.json_response({"ok": True})
