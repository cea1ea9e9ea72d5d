"""One citizen turn, whatever the channel: clean the input, ask the brain, never fail silently.

Every channel (REST, web chat, Telegram, WhatsApp) hands its messages here. This is where bad
input gets a clear answer, where one sender's messages are serialised (so Rasa's polling lock
never waits), where a conversation taken over by an agent keeps the bot silent, and where a
model or action-server failure becomes a polite "temporarily unavailable" in the citizen's
language instead of a stack trace or nothing.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import weakref
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, TypeVar

from bot.brain import Brain, Turn
from bot.channels.base import Button, Reply
from bot.db.conversations import LogEntry, handoff_is_active, write_log
from bot.db.session import Database
from bot.i18n import normalise_language, t
from bot.identity import split_sender_id
from bot.nlu_components.language import detect_language
from bot.telemetry import Metrics

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000
# The bare opt-out words of CONTRACT §2, honoured even if the model were unsure.
STOP_WORDS = frozenset({"stop", "arret", "arrêt", "وقف", "stopp", "unsubscribe"})
# Intents only the gateway may trigger (they carry coordinates or a media file path).
CHANNEL_EVENT_INTENTS = frozenset({"share_location", "share_media"})
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff]")
_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_][\w-]*)(?P<entities>\{.*\})?$", re.S)

T = TypeVar("T")
HealthProbe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class CitizenMessage:
    """What a channel asks the assistant: text typed by a person, or a trusted payload."""

    sender_id: str
    text: str = ""
    # Built by a channel from a platform event (button press, location, media): trusted.
    payload: Optional[str] = None
    metadata: Optional[dict[str, Any]] = None


def clean_text(raw: str) -> str:
    """Drop NUL and control characters (keeping newlines and tabs) and outer whitespace."""
    return _CONTROL_CHARS.sub("", raw).strip()


def citizen_payload_allowed(text: str) -> bool:
    """May text typed by a citizen be sent to Rasa as a `/intent{…}` payload?

    Buttons of the web chat send their payloads as text (Rasa's REST convention), so payloads
    are allowed — except the channel-event intents, which carry coordinates and file paths
    that only the gateway may assert.
    """
    match = _PAYLOAD.match(text)
    if not match:
        # Not a payload at all, or a broken one ("/help{not json"): plain text for the model.
        return not text.startswith("/")
    if match.group("intent") in CHANNEL_EVENT_INTENTS:
        return False
    entities = match.group("entities")
    if entities:
        try:
            parsed = json.loads(entities)
        except ValueError:
            return False
        if not isinstance(parsed, dict) or {"media_ref", "latitude", "longitude"} & set(parsed):
            return False
    return True


def replies_from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    replies = []
    for message in messages:
        text = message.get("text") or ""
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
        )
        if text or buttons or message.get("image"):
            replies.append(Reply(text=text, buttons=buttons, image=message.get("image")))
    return replies


class SenderLocks:
    """One asyncio lock per sender, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = (
            weakref.WeakValueDictionary()
        )

    def lock(self, sender_id: str) -> asyncio.Lock:
        lock = self._locks.get(sender_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[sender_id] = lock
        return lock


class Conversations:
    """The turn service shared by all channels."""

    def __init__(
        self,
        brain: Brain,
        database: Database,
        metrics: Metrics,
        action_server_up: HealthProbe,
    ) -> None:
        self.brain = brain
        self.database = database
        self.metrics = metrics
        self.action_server_up = action_server_up
        self.locks = SenderLocks()
        # The language of the last reply per sender: for texts the gateway itself sends.
        self._last_language: dict[str, str] = {}

    def last_language(self, sender_id: str) -> str:
        """The language of the last reply to this sender (for texts rendered after the turn)."""
        return normalise_language(self._last_language.get(sender_id))

    def _language_for(self, sender_id: str, text: str) -> str:
        detected = detect_language(text) if text else None
        return normalise_language(detected or self._last_language.get(sender_id))

    async def handle(self, message: CitizenMessage) -> list[Reply]:
        channel, _user = split_sender_id(message.sender_id)
        text = clean_text(message.text or "")
        self.metrics.messages_in.labels(channel=channel).inc()
        if message.payload is None:
            refusal = self._refusal(message.sender_id, text)
            if refusal is not None:
                await self._log(
                    LogEntry(message.sender_id, channel, "in", text),
                    LogEntry(message.sender_id, channel, "out", refusal.text),
                )
                return [refusal]
        rasa_text = message.payload or self._to_rasa_text(text)
        async with self.locks.lock(message.sender_id):
            if await self._run_db(handoff_is_active, self.database, message.sender_id):
                await self._log(LogEntry(message.sender_id, channel, "in", text or rasa_text))
                return []
            replies, turn = await self._ask_brain(
                message.sender_id, rasa_text, text, message.metadata
            )
        language = normalise_language(
            turn.language if turn else self._language_for(message.sender_id, text)
        )
        self._last_language[message.sender_id] = language
        is_fallback = bool(turn and turn.intent == "nlu_fallback")
        if is_fallback:
            self.metrics.fallbacks.labels(language=language).inc()
        await self._log(
            LogEntry(
                message.sender_id, channel, "in", text or rasa_text,
                intent=turn.intent if turn else None,
                confidence=turn.confidence if turn else None,
                language=language, is_fallback=is_fallback,
            ),
            *(
                LogEntry(message.sender_id, channel, "out", reply.text, language=language)
                for reply in replies
            ),
        )
        self.metrics.messages_out.labels(channel=channel).inc(len(replies))
        return replies

    def _refusal(self, sender_id: str, text: str) -> Optional[Reply]:
        """A clear answer to input the model should never see."""
        language = self._language_for(sender_id, text)
        if not text:
            return Reply(text=t("empty_message", language))
        if len(text) > MAX_TEXT_LENGTH:
            return Reply(text=t("too_long", language, length=len(text), limit=MAX_TEXT_LENGTH))
        return None

    @staticmethod
    def _to_rasa_text(text: str) -> str:
        if text.casefold().strip(" .!") in STOP_WORDS:
            return "/unsubscribe"
        if not citizen_payload_allowed(text):
            return text.lstrip("/")
        return text

    async def _ask_brain(
        self, sender_id: str, rasa_text: str, text: str, metadata: Optional[dict[str, Any]]
    ) -> tuple[list[Reply], Optional[Turn]]:
        started = time.perf_counter()
        try:
            turn = await self.brain.handle(sender_id, rasa_text, metadata)
        except Exception:  # the citizen gets an answer whatever broke; the log gets the trace
            logger.exception("turn failed for %s", sender_id)
            self.metrics.turn_errors.inc()
            return [Reply(text=t("unavailable", self._language_for(sender_id, text)))], None
        finally:
            self.metrics.turn_seconds.observe(time.perf_counter() - started)
        replies = replies_from_rasa(turn.messages)
        if replies:
            return replies, turn
        # Rasa answers nothing when a custom action could not run: say so rather than nothing.
        language = normalise_language(turn.language)
        key = "not_understood" if await self.action_server_up() else "unavailable"
        if key == "unavailable":
            self.metrics.turn_errors.inc()
        return [Reply(text=t(key, language))], turn

    @staticmethod
    async def _run_db(fn: Callable[..., T], *args: Any) -> T:
        """Run a synchronous data-layer call off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def _log(self, *entries: LogEntry) -> None:
        try:
            await self._run_db(write_log, self.database, entries)
        except Exception:  # the log must never cost a citizen their answer
            logger.exception("could not write the conversation log")
