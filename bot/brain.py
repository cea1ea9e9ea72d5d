"""The Rasa agent, hosted in-process on a thread of its own.

Rasa's inference and its SQL tracker store are synchronous under an async surface: a turn
blocks whatever event loop runs it for 15–25 ms. The agent therefore lives on a dedicated
thread with its own event loop, and the gateway awaits its results through futures, so
webhook acknowledgments, the console and the broadcast engine never wait behind the model.
The brain is also independent of any caller's loop, so a test session can share one.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Coroutine, Optional, TypeVar

from bot.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BrainNotReady(RuntimeError):
    """No trained model could be loaded."""


@dataclass(frozen=True)
class Turn:
    messages: list[dict[str, Any]]
    intent: Optional[str]
    confidence: Optional[float]
    language: Optional[str]


def latest_model(models_dir: Path) -> Optional[Path]:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def _tracker_store(settings: Settings) -> Any:
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.db.session import normalise_url

    return SQLTrackerStore(host=normalise_url(settings.database_url))


def _lock_store(settings: Settings) -> Any:
    """Rasa's lock store: in-process by default, Redis when replicas share conversations."""
    from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

    if not settings.redis_url:
        return InMemoryLockStore()
    from urllib.parse import urlparse

    url = urlparse(settings.redis_url)
    db = int((url.path or "/0").lstrip("/") or 0)
    return RedisLockStore(
        host=url.hostname or "localhost",
        port=url.port or 6379,
        db=db,
        password=url.password,
        key_prefix="sawt",
    )


class Brain:
    """Loads the trained model once and answers turns: `await brain.handle(sender, text)`."""

    def __init__(self, settings: Settings, model_path: Optional[Path] = None) -> None:
        self.settings = settings
        self.model_path = model_path
        self._agent: Any = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="sawt-brain", daemon=True)
        self._thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> "Future[T]":
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _on_brain_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self._submit(coro))

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Blocking: load the model (seconds). Call from a thread or at start-up."""
        self._submit(self._load(conversations=True)).result()

    def load_nlu_only(self) -> None:
        """Blocking: load the model for `parse` only: no tracker store, no action server."""
        self._submit(self._load(conversations=False)).result()

    async def _load(self, conversations: bool) -> None:
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig

        path = self.model_path or latest_model(self.settings.models_dir)
        if path is None or not path.exists():
            raise BrainNotReady(f"no trained model in {self.settings.models_dir}: run `make train`")
        if conversations:
            agent = Agent.load(
                str(path),
                tracker_store=_tracker_store(self.settings),
                lock_store=_lock_store(self.settings),
                action_endpoint=EndpointConfig(url=self.settings.action_server_url),
            )
        else:
            agent = Agent.load(str(path))
        if not agent.is_ready():
            raise BrainNotReady(f"the model {path} did not load")
        self._agent = agent
        self.model_path = path
        logger.info("model %s loaded", path.name)

    @property
    def ready(self) -> bool:
        return self._agent is not None

    # ---- turns ---------------------------------------------------------------------------
    async def handle(
        self, sender_id: str, text: str, metadata: Optional[dict[str, Any]] = None
    ) -> "Turn":
        """One turn through Rasa: the bot's messages and what the model understood."""
        if self._agent is None:
            raise BrainNotReady("the model is not loaded")
        return await self._on_brain_loop(self._handle(sender_id, text, metadata))

    async def _handle(
        self, sender_id: str, text: str, metadata: Optional[dict[str, Any]]
    ) -> "Turn":
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        output = CollectingOutputChannel()
        message = UserMessage(
            text, output, sender_id, input_channel="sawt", metadata=metadata or {}
        )
        await self._agent.handle_message(message)
        tracker = await self._agent.tracker_store.retrieve(sender_id)
        parse: dict[str, Any] = {}
        language = None
        if tracker is not None:
            language = tracker.get_slot("language")
            if tracker.latest_message is not None:
                parse = tracker.latest_message.parse_data
        intent = parse.get("intent") or {}
        return Turn(
            messages=list(output.messages),
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            language=language,
        )

    async def parse(self, text: str) -> dict[str, Any]:
        """The NLU reading of a text, without touching any conversation."""
        if self._agent is None:
            raise BrainNotReady("the model is not loaded")
        return await self._on_brain_loop(self._agent.parse_message(text))

    def parse_blocking(self, text: str) -> dict[str, Any]:
        if self._agent is None:
            raise BrainNotReady("the model is not loaded")
        return self._submit(self._agent.parse_message(text)).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
