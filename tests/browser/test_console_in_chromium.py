"""The agents' console in a real headless Chromium, as an agent uses it: signing in, an edit the
assistant's very next answer uses (asked in the citizens' web chat), a broadcast whose bar
fills to 100 % while the fake Telegram receives it, the Arabic right-to-left layout, and an
agent answering a conversation handed to a person."""
from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from bot.console.i18n import translator
from bot.db.citizens import request_handoff, subscribe
from bot.db.content import commune_id, get_procedure
from bot.db.conversations import LogEntry, write_log
from bot.db.messaging import Contact
from bot.db.models import Procedure, utcnow
from bot.db.session import Database
from bot.identity import make_sender_id
from tests.browser.conftest import Browser, Site

pytestmark = pytest.mark.slow

FR = translator("fr")
AR = translator("ar")
DOCUMENTS_QUESTION = "quels papiers pour un extrait d'acte de naissance ?"
ANSWER_WAIT = 120.0  # the real model and action server, on a busy machine


# ---- helpers -------------------------------------------------------------------------------
def path_is(path: str) -> Any:
    return lambda driver: urlparse(driver.current_url).path == path


async def submit_login(browser: Browser, account: tuple[str, str]) -> None:
    await browser.fill('input[name="username"]', account[0])
    await browser.fill('input[name="password"]', account[1])
    await browser.click('form[action="/admin/login"] button[type="submit"]')


async def sign_in(browser: Browser, site: Site, account: tuple[str, str], page: str = "/admin/") -> None:
    """Open `page` signed out, sign in on the form it leads to, and be back on `page`."""
    await browser.open(site.url(page))
    await browser.wait_until(path_is("/admin/login"), message="no redirect to the login form")
    await submit_login(browser, account)
    await browser.wait_until(path_is(page), message=f"not back on {page} after signing in")


async def html_language(browser: Browser) -> tuple[str, str]:
    lang, direction = await browser.script(
        "return [document.documentElement.lang, document.documentElement.dir]"
    )
    return lang, direction


async def nav_links(browser: Browser) -> list[dict[str, Any]]:
    """The header's navigation links: text and position on screen."""
    return await browser.script(
        "return [...document.querySelectorAll('header.top nav a')].map(a => {"
        " const r = a.getBoundingClientRect();"
        " return {text: a.textContent.trim(), left: r.left, right: r.right, top: r.top}; })"
    )


def bot_messages_after(count: int) -> Any:
    """Wait condition: the web chat shows more than `count` answers and none is on its way."""

    def done(driver: WebDriver) -> Any:
        return driver.execute_script(
            "const shown = document.querySelectorAll('#log .msg.bot');"
            "return shown.length > arguments[0] && !document.querySelector('#log .typing')"
            " ? [...shown].slice(arguments[0]).map(m => m.textContent) : null;",
            count,
        )

    return done


async def ask_in_web_chat(browser: Browser, question: str) -> str:
    """Type a question in the citizens' web chat and return the assistant's answers."""
    before = len(await browser.find_all("#log .msg.bot"))
    await browser.fill("#text", question)
    await browser.click('#composer button[type="submit"]')
    answers = await browser.wait_until(
        bot_messages_after(before), ANSWER_WAIT, f"no answer to {question!r}"
    )
    return "\n".join(answers)


def restore_documents(database: Database, commune: str, key: str, documents: list[dict[str, str]]) -> None:
    """Put the session's shared database back as it was (the other slow tests read it)."""
    with database.session() as session:
        row = session.execute(
            select(Procedure).where(
                Procedure.commune_id == commune_id(session, commune), Procedure.key == key
            )
        ).scalar_one()
        row.documents = documents


# ---- signing in ----------------------------------------------------------------------------
async def test_an_agent_signs_in_through_the_form_after_a_wrong_password_is_refused(
    console_site: Site, browser: Browser,
):
    await browser.open(console_site.url("/admin/"))
    await browser.wait_until(path_is("/admin/login"), message="the console let a stranger in")
    assert await browser.text("main h1") == FR("login_title")

    await submit_login(browser, (console_site.agent[0], "not the agent's password"))
    assert await browser.text('.error[role="alert"]') == FR("login_invalid")
    assert urlparse(await browser.current_url()).path == "/admin/login"
    assert await browser.call(browser.driver.get_cookie, "sawt_session") is None

    await submit_login(browser, console_site.agent)
    await browser.wait_until(path_is("/admin/"), message="not on the dashboard after signing in")
    assert await browser.text("main h1") == FR("home_title")
    assert len(await browser.find_all("main .tile")) == 4
    links = [link["text"] for link in await nav_links(browser)]
    assert links[:2] == [FR("nav_home"), FR("nav_content")]
    assert FR("nav_accounts") not in links  # an agent, not an administrator
    assert console_site.agent[0] in await browser.text('form[action="/admin/logout"] button')
    assert await browser.call(browser.driver.get_cookie, "sawt_session") is not None


# ---- content edit → the assistant's next answer ----------------------------------------------
async def test_an_agents_edit_of_the_documents_is_in_the_assistants_next_answer_in_the_web_chat(
    assistant_site: Site, browser: Browser,
):
    site = assistant_site
    commune = site.settings.commune_slug
    procedure = get_procedure(site.database, commune, "birth_certificate")
    assert procedure is not None
    original = [dict(item) for item in procedure.documents]
    new_text = f"Une photo d'identité récente sur fond blanc (réf. {uuid.uuid4().hex[:6]})"
    page = "/admin/content/procedures/birth_certificate"
    try:
        await sign_in(browser, site, site.agent, page)
        field = await browser.find("#documents-0-fr")
        assert await browser.call(field.get_property, "value") == original[0]["fr"]
        await browser.fill("#documents-0-fr", new_text)
        await browser.click("#content-save")

        assert await browser.text('[data-testid="content-saved"]') == FR("content_saved")
        field = await browser.find("#documents-0-fr")  # the page as the server draws it again
        assert await browser.call(field.get_property, "value") == new_text

        await browser.open(site.url("/"))
        await browser.wait_until(bot_messages_after(0), ANSWER_WAIT, "the web chat never greeted")
        answer = await ask_in_web_chat(browser, DOCUMENTS_QUESTION)
        assert new_text in answer
        assert original[0]["fr"] not in answer
        assert original[1]["fr"] in answer  # the rows the agent did not touch are still there
    finally:
        restore_documents(site.database, commune, "birth_certificate", original)


# ---- a broadcast and its live progress -------------------------------------------------------
async def test_a_broadcast_made_in_the_form_fills_its_bar_to_100_percent_and_reaches_each_subscriber_once(
    console_site: Site, browser: Browser,
):
    site, fake = console_site, console_site.telegram
    chats = [str(810_000_000 + i) for i in range(35)]
    for chat in chats:
        subscribe(site.database, site.settings.commune_slug, "telegram", chat, "fr", None, [])
    with site.database.session() as session:
        session.add_all(Contact(channel="telegram", user_id=chat, last_inbound_at=utcnow()) for chat in chats)
    text = f"Collecte des encombrants samedi matin, quartier par quartier ({uuid.uuid4().hex[:6]})."

    await sign_in(browser, site, site.agent, "/admin/broadcasts/new")
    await browser.click("#channels-telegram")
    await browser.fill("#text_fr", text)
    await browser.click("#confirm-button")
    assert await browser.text('[data-testid="confirm-total"]') == str(len(chats))
    await browser.click("#create-button")
    await browser.wait_until(
        lambda driver: re.fullmatch(r"/admin/broadcasts/\d+", urlparse(driver.current_url).path),
        message="no broadcast page after creating it",
    )

    seen: list[int] = []
    deadline = asyncio.get_running_loop().time() + 60
    while not seen or seen[-1] < 100:
        assert asyncio.get_running_loop().time() < deadline, f"the bar stopped at {seen[-1:]}"
        percent = await browser.script(
            "const bar = document.querySelector('[data-testid=\"broadcast-progress\"]');"
            "return bar ? bar.dataset.percent : null;"
        )
        if percent is not None and (not seen or int(percent) != seen[-1]):
            seen.append(int(percent))
        await asyncio.sleep(0.1)
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    assert any(0 < percent < 100 for percent in seen), f"the bar never showed progress: {seen}"

    # Finished, the page reloads with the report the server draws.
    await browser.wait_until(
        lambda driver: driver.execute_script(
            "const bar = document.querySelector('[data-testid=\"broadcast-progress\"]');"
            "return bar !== null && bar.dataset.status === 'done'"
            " && document.querySelector('#report-by-channel') !== null;"
        ),
        message="the finished broadcast's report never showed",
    )
    assert await browser.text('[data-testid="broadcast-progress"] [data-field="percent"]') == "100 %"
    assert await browser.attribute('[data-testid="broadcast-progress"] progress', "value") == "100"
    assert await browser.text("#count-sent") == str(len(chats))
    assert await browser.text("#count-failed") == "0"

    sent = fake.sent()
    assert sorted(str(message["chat_id"]) for message in sent) == sorted(chats)  # each once
    assert {message["text"] for message in sent} == {text}


# ---- Arabic, right to left ---------------------------------------------------------------------
async def test_the_console_switched_to_arabic_is_laid_out_right_to_left(
    console_site: Site, browser: Browser,
):
    await sign_in(browser, console_site, console_site.agent)
    assert await html_language(browser) == ("fr", "ltr")
    first, second = (await nav_links(browser))[:2]
    assert first["top"] == second["top"] and first["left"] < second["left"]

    await browser.click('form[action="/admin/language"] button')
    await browser.wait_until(
        lambda driver: driver.execute_script("return document.documentElement.dir") == "rtl",
        message="the page did not turn right to left",
    )
    assert await html_language(browser) == ("ar", "rtl")
    assert await browser.script(
        "return getComputedStyle(document.querySelector('header.top nav')).direction"
    ) == "rtl"
    first, second = (await nav_links(browser))[:2]
    assert (first["text"], second["text"]) == (AR("nav_home"), AR("nav_content"))
    assert first["top"] == second["top"] and first["left"] > second["right"]
    assert await browser.text("main h1") == AR("home_title")

    await browser.click('header.top nav a[href="/admin/content"]')  # the choice is kept
    await browser.wait_until(path_is("/admin/content"))
    assert await html_language(browser) == ("ar", "rtl")


# ---- a conversation handed to a person ----------------------------------------------------------
async def test_an_agent_takes_a_waiting_conversation_and_the_reply_shows_in_the_transcript(
    console_site: Site, browser: Browser,
):
    site, fake = console_site, console_site.telegram
    chat = str(820_000_000 + uuid.uuid4().int % 1_000_000)
    sender = make_sender_id("telegram", chat)
    question = "Bonjour, je voudrais parler à une personne de la commune."
    write_log(site.database, [LogEntry(sender, "telegram", "in", question, intent="human_handoff", language="fr")])
    assert request_handoff(site.database, site.settings.commune_slug, sender, "telegram", chat, "fr", question)
    reply = f"Bonjour, je suis Amina, de la commune. Je m'occupe de votre demande ({uuid.uuid4().hex[:4]})."

    await sign_in(browser, site, site.agent, "/admin/handoffs")
    await browser.click('[data-testid="handoff-row"][data-status="waiting"] [data-testid="handoff-open"]')
    await browser.find('[data-testid="take"]')
    assert question in await browser.text('[data-testid="message"][data-speaker="citizen"] p')

    await browser.click('[data-testid="take"]')
    assert await browser.attribute('[data-testid="handoff-flash"]', "data-flash") == "taken"
    assert await browser.attribute('[data-testid="handoff-status"]', "data-status") == "active"

    await browser.fill('[data-testid="reply-text"]', reply)
    await browser.click('[data-testid="reply-send"]')
    assert await browser.attribute('[data-testid="reply-result"]', "data-result") == "queued"
    assert await browser.text('[data-testid="reply-result"]') == FR("handoffs_notice_queued")
    assert await browser.script(
        "return [...document.querySelectorAll('[data-testid=\"message\"][data-speaker=\"agent\"] p')]"
        ".map(p => p.textContent)"
    ) == [reply]

    [message] = await fake.wait_for_sent(1, chat_id=int(chat), timeout=20)
    assert message["text"] == reply
