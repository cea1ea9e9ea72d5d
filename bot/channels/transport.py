"""What the outbox needs from a platform: render a reply, send one request, fetch a media file.

Each platform (Telegram, WhatsApp) adapts its renderer and client to this one protocol, so
the inbox and outbox never contain a platform's name.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

from bot.channels.base import Inbound, Media, Reply

# A rendered request is a JSON dict: {"method": <platform method>, "params": <its body>} and,
# for the inbox and outbox only (never sent to the platform):
#   "button_keys": {key: payload}  long payloads behind short keys (bot.channels.keys)
#   "menu": [payload, ...]         buttons shown as numbered text: "2" means the 2nd payload
#   "window": true                 free-form message: only inside the service window
PLATFORM_FIELDS = ("method", "params")


@dataclass(frozen=True)
class SendResult:
    """The outcome of one platform call, classified for the outbox's retry policy."""

    ok: bool
    platform_message_id: Optional[str] = None
    # Retry no sooner than this many seconds (Telegram 429 retry_after, WhatsApp 130429…).
    retry_after: Optional[float] = None
    # Retrying can never succeed (400, blocked, window closed, undeliverable).
    permanent: bool = False
    # The citizen blocked the bot: unsubscribe them.
    blocked: bool = False
    error_code: Optional[int] = None
    error: Optional[str] = None


class Transport(Protocol):
    channel: str
    # How long after a citizen's last message free-form messages may be sent (WhatsApp's
    # 24-hour customer-service window); None when the platform has no such rule.
    service_window: Optional[dt.timedelta]

    def render(self, user_id: str, reply: Reply, language: str) -> list[dict[str, Any]]:
        """Platform requests (JSON-serialisable) that show `reply` to the citizen."""

    def acknowledgements(self, inbound: Inbound) -> list[dict[str, Any]]:
        """Requests owed for an inbound message itself (answer a callback, mark as read)."""

    def template(self, user_id: str, template: dict[str, Any]) -> Optional[dict[str, Any]]:
        """A pre-approved template message, for recipients outside the service window."""

    async def send(self, request: dict[str, Any]) -> SendResult:
        """Perform one rendered request."""

    async def fetch_media(self, media: Media, directory: Path) -> Path:
        """Download a citizen's file into `directory`; returns its path."""
