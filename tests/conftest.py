"""Shared fixtures.

Unit level: `settings`, `empty_db`, `db` (a real SQLite file per test, seeded).
Assistant level (session-scoped, real parts): `trained_model_path` (the model trained with
`config.yml`, cached by Rasa's fingerprint in `models/`), `live_settings` and
`live_db` (one seeded database for the session), `action_server` (a real `sawt actions`
process), `brain` (the loaded model), and per test `gateway` (an aiohttp test client of the
real gateway app) and `chat` (one REST turn).
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest

from bot.db.session import Database
from bot.settings import PROJECT_ROOT, Settings

# The suite trains the real configuration (config.yml) into models/, the same model `make run`
# then reuses (Rasa's fingerprint skips training when nothing changed).
TEST_CONFIG = PROJECT_ROOT / "config.yml"
TEST_MODELS = PROJECT_ROOT / "models"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(directory: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{directory / 'sawt.db'}",
            "SAWT_MEDIA_DIR": str(directory / "media"),
            **extra,
        },
        dotenv=directory / "no.env",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def empty_db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A database holding Benguérir's seed content, as `make run` creates it."""
    from bot.db.seed import seed_database

    seed_database(empty_db)
    return empty_db


# ---- the real assistant, once per session ---------------------------------------------------
@pytest.fixture(scope="session")
def trained_model_path() -> Path:
    from bot.training import train

    return train(TEST_CONFIG, TEST_MODELS)


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    directory = tmp_path_factory.mktemp("live")
    return make_settings(
        directory, ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook"
    )


@pytest.fixture(scope="session")
def live_db(live_settings: Settings) -> Iterator[Database]:
    from bot.db.migrate import prepare

    database = Database(live_settings.database_url)
    prepare(database)
    yield database
    database.dispose()


def start_action_server(settings: Settings) -> "subprocess.Popen[bytes]":
    from bot.supervisor import is_healthy, wait_until

    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ACTION_SERVER_URL": settings.action_server_url,
        "SAWT_MEDIA_DIR": str(settings.media_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "actions"], env=env, cwd=PROJECT_ROOT
    )
    wait_until(lambda: is_healthy(settings.action_server_health_url), 90, "action server", process)
    return process


class ActionServer:
    """The real `sawt actions` process of the session; a test may stop and restart it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.action_server_url
        self.process: "subprocess.Popen[bytes] | None" = None

    def start(self) -> None:
        self.process = start_action_server(self.settings)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None


@pytest.fixture(scope="session")
def action_server(live_settings: Settings, live_db: Database) -> Iterator[ActionServer]:
    server = ActionServer(live_settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def brain(live_settings: Settings, live_db: Database, trained_model_path: Path) -> Iterator[Any]:
    from bot.brain import Brain

    loaded = Brain(live_settings, model_path=trained_model_path)
    loaded.load()
    yield loaded
    loaded.close()


@pytest.fixture
async def gateway(
    aiohttp_client: Any, live_settings: Settings, live_db: Database, brain: Any,
    action_server: ActionServer,
) -> Any:
    from bot.gateway import create_app

    return await aiohttp_client(create_app(live_settings, brain=brain, database=live_db))


Chat = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture
def citizen() -> str:
    """A fresh sender id, so tests sharing the session's database never meet."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def chat(gateway: Any, citizen: str) -> Chat:
    """`await chat("text")` → the REST channel's answer for this test's citizen."""

    async def send(text: str, sender: str = citizen) -> list[dict[str, Any]]:
        response = await gateway.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        assert response.status == 200, await response.text()
        return await response.json()

    return send


# ---- actions without a server (rasa-sdk), against a real seeded database ---------------------
@pytest.fixture
def actions_db(db: Database, settings: Settings) -> Database:
    """The seeded database, wired into the action modules as `sawt actions` does."""
    import actions.common

    actions.common.configure(db, settings)
    return db


def make_tracker(
    sender: str = "citizen-1",
    text: str = "",
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    language: str | None = None,
) -> Any:
    """A rasa-sdk tracker as the action server receives it."""
    from rasa_sdk import Tracker

    latest: dict[str, Any] = {
        "text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or [],
    }
    if language:
        latest["language"] = language
    return Tracker(
        sender_id=sender, slots=dict(slots or {}), latest_message=latest, events=[],
        paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


# ---- Telegram and WhatsApp, against local fakes of their APIs ----------------------------------
TELEGRAM_SECRET = "sawt-test-secret_0123"
WHATSAPP_VERIFY_TOKEN = "sawt-verify-token"


@pytest.fixture
async def fake_telegram() -> Any:
    from tests.fakes.telegram import FakeTelegram

    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def fake_whatsapp() -> Any:
    from tests.fakes.whatsapp import FakeWhatsApp

    async with FakeWhatsApp() as fake:
        yield fake


def platform_settings(
    base: Settings, port: int, fake_telegram: Any, fake_whatsapp: Any, media_dir: Path,
    *, telegram_webhook: bool = True,
) -> Settings:
    """Both platforms on, pointed at the fakes; Telegram by webhook (or long polling)."""
    return base.with_overrides(
        public_url=f"http://127.0.0.1:{port}",
        telegram_bot_token=fake_telegram.token,
        telegram_webhook_secret=TELEGRAM_SECRET if telegram_webhook else None,
        telegram_api_base=fake_telegram.api_base,
        whatsapp_token=fake_whatsapp.token,
        whatsapp_phone_number_id=fake_whatsapp.phone_number_id,
        whatsapp_app_secret=fake_whatsapp.app_secret,
        whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
        whatsapp_api_base=fake_whatsapp.api_base,
        media_dir=media_dir,
    )


class HeldBrain:
    """The real brain, except that no turn ever finishes: a gateway caught mid-turn."""

    def __init__(self, brain: Any) -> None:
        self._brain = brain
        self.ready = True
        self.model_path = brain.model_path
        self.turn_started = asyncio.Event()

    async def handle(self, *args: Any, **kwargs: Any) -> Any:
        self.turn_started.set()
        await asyncio.Event().wait()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._brain, name)


class PlatformGateway:
    """The real gateway with both platforms on, its HTTP client and the two fakes."""

    def __init__(self, client: Any, settings: Settings, telegram: Any, whatsapp: Any) -> None:
        self.client = client
        self.settings = settings
        self.telegram = telegram
        self.whatsapp = whatsapp

    @property
    def app(self) -> Any:
        return self.client.server.app


async def start_platform_gateway(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings, brain: Any, database: Database,
    fake_telegram: Any, fake_whatsapp: Any,
) -> PlatformGateway:
    from bot.gateway import create_app

    assert settings.public_url
    port = int(settings.public_url.rsplit(":", 1)[1])
    server = await aiohttp_server(create_app(settings, brain=brain, database=database), port=port)
    client = await aiohttp_client(server)
    fake_whatsapp.webhook_url = f"{settings.public_url}/webhooks/whatsapp"
    if settings.telegram_webhook_secret:
        await fake_telegram.wait_for(lambda: fake_telegram.webhook, timeout=10)
    return PlatformGateway(client, settings, fake_telegram, fake_whatsapp)


@pytest.fixture
async def platforms(
    aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, live_settings: Settings,
    live_db: Database, brain: Any, action_server: ActionServer, fake_telegram: Any,
    fake_whatsapp: Any,
) -> PlatformGateway:
    """The gateway receiving Telegram by webhook and WhatsApp, with the real model."""
    settings = platform_settings(
        live_settings, free_port(), fake_telegram, fake_whatsapp, tmp_path / "media"
    )
    return await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, brain, live_db, fake_telegram, fake_whatsapp
    )


@pytest.fixture
def chat_id() -> int:
    """A fresh Telegram chat / WhatsApp number per test: the session's database is shared."""
    return 700_000_000 + uuid.uuid4().int % 100_000_000


# ---- the agents' console, without the model ----------------------------------------------------
CONSOLE_ADMIN = ("admin", "correct horse battery")
CONSOLE_AGENT = ("amina", "a long agent passphrase")


@pytest.fixture
async def console(aiohttp_client: Any, tmp_path: Path) -> Any:
    """The gateway (no model, no action server) over a seeded database, with an admin account
    (from the settings, as in production) and an agent account. `console.database` is it."""
    from bot.db.console import create_account
    from bot.db.migrate import prepare
    from bot.gateway import create_app

    settings = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
        SAWT_ADMIN_USER=CONSOLE_ADMIN[0],
        SAWT_ADMIN_PASSWORD=CONSOLE_ADMIN[1],
    )
    database = Database(settings.database_url)
    prepare(database)
    client = await aiohttp_client(create_app(settings, database=database))
    # After start-up, which made the first admin (only while no account exists).
    create_account(database, *CONSOLE_AGENT, role="agent")
    client.database = database
    client.settings = settings
    yield client
    database.dispose()


def csrf_of(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def console_login(client: Any, account: tuple[str, str] = CONSOLE_ADMIN) -> str:
    """Sign in; returns the session's CSRF token for the forms that follow."""
    response = await client.post(
        "/admin/login", data={"username": account[0], "password": account[1]}, allow_redirects=False
    )
    assert response.status == 302, await response.text()
    return csrf_of(await (await client.get("/admin/")).text())
