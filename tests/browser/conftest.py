"""Fixtures of the browser tests: one headless Chromium for the session, and the real gateway
served on a real TCP port (a browser cannot reach aiohttp's in-process test client).

Selenium blocks, and the gateway under test runs on the test's own event loop: a driver call
made from the loop thread would wait for a page the loop can no longer serve (a deadlock).
So every driver call goes through `Browser`, which runs it on a worker thread and awaits it,
leaving the loop free to answer the browser meanwhile.

Chromium and its driver are Debian's (`scripts/system-deps.sh` installs them for `make test`);
both paths are given to Selenium, so its selenium-manager never tries to download one.
"""
from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bot.db.session import Database
from bot.settings import Settings
from tests.conftest import (
    CONSOLE_ADMIN,
    CONSOLE_AGENT,
    free_port,
    make_settings,
    platform_settings,
    start_platform_gateway,
)

T = TypeVar("T")
SCREENSHOTS = Path("/tmp")
# Slow enough that the browser sees a broadcast's bar between 0 and 100 %, as an agent would.
TELEGRAM_RATE = "8"
WAIT = 20.0  # seconds a page element may take to appear on a loaded 2-core machine


# ---- Chromium, once per session ------------------------------------------------------------
def chromium_options() -> webdriver.ChromeOptions:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Chromium is missing: `make test` installs it (scripts/system-deps.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=fr"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    return options


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail("chromedriver is missing: `make test` installs it (scripts/system-deps.sh)")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=chromium_options())
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test, so the `browser` fixture knows of a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


class Browser:
    """The session's Chromium, every call made on a worker thread (see the module's doc)."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def open(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def current_url(self) -> str:
        return await self.call(lambda: self.driver.current_url)

    async def find(self, css: str, timeout: float = WAIT) -> WebElement:
        """The element once it is in the page."""
        wait = WebDriverWait(self.driver, timeout)
        located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        return await self.call(wait.until, located)

    async def find_all(self, css: str) -> list[WebElement]:
        return await self.call(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def fill(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self.call(element.clear)
        await self.call(element.send_keys, text)

    async def click(self, css: str) -> None:
        element = await self.find(css)
        await self.call(element.click)

    async def text(self, css: str) -> str:
        element = await self.find(css)
        return await self.call(lambda: element.text)

    async def attribute(self, css: str, name: str) -> Optional[str]:
        element = await self.find(css)
        return await self.call(element.get_attribute, name)

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, source, *args)

    async def wait_until(
        self, condition: Callable[[WebDriver], T], timeout: float = WAIT, message: str = ""
    ) -> T:
        """`condition(driver)` once it is truthy (Selenium's wait, on the worker thread); a page
        being replaced meanwhile (a reload, a form's answer) only means "not yet"."""
        wait = WebDriverWait(
            self.driver, timeout,
            ignored_exceptions=(StaleElementReferenceException, JavascriptException),
        )
        return await self.call(wait.until, condition, message)

    def screenshot(self, name: str) -> Path:
        """Blocking: only for teardown, when the test's loop no longer runs."""
        path = SCREENSHOTS / f"sawt-browser-{name}.png"
        self.driver.save_screenshot(str(path))
        path.with_suffix(".html").write_text(self.driver.page_source, encoding="utf-8")
        return path


@pytest.fixture
def browser(chromium: WebDriver, request: pytest.FixtureRequest) -> Iterator[Browser]:
    """A blank Chromium for this test: no page, no cookie left by an earlier test (every
    gateway listens on 127.0.0.1, and cookies ignore the port). On failure the page is saved
    as /tmp/sawt-browser-<test>.png (and .html)."""
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    yield Browser(chromium)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = request.node.name.replace("/", "_")
        print(f"screenshot: {Browser(chromium).screenshot(name)}")
    chromium.get("about:blank")  # stop the page's polling before its server goes away


# ---- the gateway, served -------------------------------------------------------------------
@dataclass
class Site:
    """A gateway the browser reaches at `base`, its database and the accounts it knows."""

    base: str
    database: Database
    settings: Settings
    agent: tuple[str, str]
    admin: Optional[tuple[str, str]] = None
    telegram: Any = None

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
async def console_site(
    aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, fake_telegram: Any,
    fake_whatsapp: Any,
) -> Any:
    """The gateway without the model over a fresh seeded database (as the `console` fixture),
    with Telegram and WhatsApp pointed at the fakes, an admin and an agent account."""
    from bot.db.console import create_account
    from bot.db.migrate import prepare

    base = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
        SAWT_ADMIN_USER=CONSOLE_ADMIN[0],
        SAWT_ADMIN_PASSWORD=CONSOLE_ADMIN[1],
        SAWT_TELEGRAM_RATE=TELEGRAM_RATE,
    )
    settings = platform_settings(base, free_port(), fake_telegram, fake_whatsapp, tmp_path / "media")
    database = Database(settings.database_url)
    prepare(database)
    await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, None, database, fake_telegram, fake_whatsapp
    )
    create_account(database, *CONSOLE_AGENT, role="agent")  # after start-up made the admin
    assert settings.public_url
    yield Site(settings.public_url, database, settings, CONSOLE_AGENT, CONSOLE_ADMIN, fake_telegram)
    database.dispose()


@pytest.fixture
async def assistant_site(
    aiohttp_server: Any, live_settings: Settings, live_db: Database, brain: Any,
    action_server: Any,
) -> Site:
    """The gateway with the real model and action server over the session's database, and a
    console agent of its own (the session's database is shared: names must not meet)."""
    from bot.db.console import create_account
    from bot.gateway import create_app

    agent = (f"agent-{uuid.uuid4().hex[:8]}", "a browser agent passphrase")
    create_account(live_db, *agent, role="agent")
    server = await aiohttp_server(
        create_app(live_settings, brain=brain, database=live_db), port=free_port()
    )
    base = str(server.make_url("")).rstrip("/")
    return Site(base, live_db, live_settings, agent)
