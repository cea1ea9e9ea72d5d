"""The broadcasts section: audience, form steps, creation, progress, report, subscribers, and a
real send through the outbox to the Telegram and WhatsApp fakes."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from typing import Any, Callable, Iterable, Optional

import pytest
from multidict import MultiDict
from sqlalchemy import select

from bot.db.citizens import subscribe, unsubscribe
from bot.db.console import AuditEntry
from bot.db.content import list_districts
from bot.db.messaging import Broadcast, Contact
from bot.db.models import SUBSCRIPTION_TOPICS, Subscriber, utcnow
from bot.db.session import Database
from bot.i18n import LANGUAGES
from tests.conftest import (
    CONSOLE_AGENT,
    console_login,
    csrf_of,
    free_port,
    make_settings,
    platform_settings,
    start_platform_gateway,
)

COMMUNE = "benguerir"
CONTRACT_KEYS = {"id", "status", "total", "sent", "delivered", "failed", "pending"}


# ---- helpers ---------------------------------------------------------------------------------
def subscribe_all(database: Database, people: Iterable[tuple[str, str, str, Optional[str], list[str]]]) -> None:
    for channel, user_id, language, district, topics in people:
        subscribe(database, COMMUNE, channel, user_id, language, district, topics)


def form(token: Optional[str], action: str, **fields: Any) -> MultiDict[str]:
    """The broadcast form as a browser posts it (lists = ticked boxes)."""
    data: MultiDict[str] = MultiDict()
    if token is not None:
        data.add("csrf_token", token)
    data.add("action", action)
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return data


async def count_of(client: Any, **audience: list[str]) -> dict[str, Any]:
    query = [(name, value) for name, values in audience.items() for value in values]
    response = await client.get("/admin/broadcasts/audience-count", params=query)
    assert response.status == 200, await response.text()
    return await response.json()


async def create(client: Any, token: str, **fields: Any) -> int:
    response = await client.post(
        "/admin/broadcasts/new", data=form(token, "create", **fields), allow_redirects=False
    )
    assert response.status == 302, await response.text()
    match = re.fullmatch(r"/admin/broadcasts/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


async def progress_until(
    client: Any, broadcast_id: int, done: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await client.get(f"/admin/broadcasts/{broadcast_id}/progress.json")
        assert response.status == 200
        progress = await response.json()
        if done(progress):
            return progress
        if loop.time() > deadline:
            raise AssertionError(f"progress never reached the expected state: {progress}")
        await asyncio.sleep(0.1)


def broadcast_row(database: Database, broadcast_id: int) -> Broadcast:
    with database.session() as session:
        row = session.get(Broadcast, broadcast_id)
        assert row is not None
        return row


def audit_entries(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def mark_contacts(database: Database, channel: str, user_ids: Iterable[str], last_inbound: dt.datetime) -> None:
    with database.session() as session:
        session.add_all(
            Contact(channel=channel, user_id=user_id, last_inbound_at=last_inbound) for user_id in user_ids
        )


PEOPLE = [
    ("telegram", "1001", "fr", "medina", ["works"]),
    ("telegram", "1002", "fr", "ville_verte", ["taxes", "works"]),
    ("telegram", "1003", "ary", "medina", ["events"]),
    ("whatsapp", "212600000001", "ary", "medina", ["works"]),
    ("whatsapp", "212600000002", "ary_latn", None, []),  # no topics chosen = every topic
    ("telegram", "1004", "fr", "medina", ["works"]),  # unsubscribes below
]


def seed_people(database: Database) -> None:
    """PEOPLE subscribed, the last of them unsubscribed again."""
    subscribe_all(database, PEOPLE)
    unsubscribe(database, *PEOPLE[-1][:2])


def expected_count(channels=(), languages=(), districts=(), topics=()) -> int:
    """The audience rule written plainly: every non-empty filter must match."""
    count = 0
    for channel, _user, language, district, chosen in PEOPLE[:-1]:
        chosen = chosen or list(SUBSCRIPTION_TOPICS)
        if channels and channel not in channels:
            continue
        if languages and language not in languages:
            continue
        if districts and district not in districts:
            continue
        if topics and not set(topics) & set(chosen):
            continue
        count += 1
    return count


# ---- the console fixture (no platform configured) ---------------------------------------------
async def test_every_broadcast_page_needs_a_session(console):
    for path in ("/admin/broadcasts", "/admin/broadcasts/new", "/admin/broadcasts/subscribers",
                 "/admin/broadcasts/audience-count", "/admin/broadcasts/1/progress.json"):
        response = await console.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/admin/login")


async def test_new_form_offers_the_districts_of_the_database_every_topic_and_an_rtl_darija_text(console):
    await console_login(console)
    page = await (await console.get("/admin/broadcasts/new")).text()
    for district in list_districts(console.database, COMMUNE):
        assert f'name="districts" value="{district.slug}"' in page
    for topic in SUBSCRIPTION_TOPICS:
        assert f'name="topics" value="{topic}"' in page
    for language in LANGUAGES:
        assert f'name="languages" value="{language}"' in page
    assert re.search(r'<textarea name="text_ary"[^>]*dir="rtl"', page)
    assert 'type="datetime-local" name="scheduled_at"' in page
    assert "/admin/static/broadcasts.js" in page


async def test_audience_count_matches_the_subscribers_of_each_filter(console):
    seed_people(console.database)
    await console_login(console)
    cases = [
        {},
        {"channels": ["telegram"]},
        {"channels": ["whatsapp"], "languages": ["ary"]},
        {"districts": ["medina"]},
        {"topics": ["works"]},
        {"topics": ["taxes"], "languages": ["fr", "ary_latn"]},
        {"districts": ["ville_verte", "medina"], "topics": ["events"]},
    ]
    for audience in cases:
        data = await count_of(console, **audience)
        assert data["total"] == expected_count(**audience), audience
    everyone = await count_of(console)
    assert everyone["by_channel"] == {"telegram": 3, "whatsapp": 2}
    # No platform is configured on this gateway: nobody would be reached.
    assert everyone["reach"]["off"] == everyone["total"] == 5


async def test_audience_count_refuses_a_value_that_is_not_a_choice(console):
    await console_login(console)
    response = await console.get("/admin/broadcasts/audience-count", params={"districts": "atlantis"})
    assert response.status == 400


async def test_preview_without_javascript_shows_what_each_language_will_read(console):
    subscribe_all(console.database, PEOPLE[:3])
    token = await console_login(console)
    response = await console.post("/admin/broadcasts/new", data=form(
        token, "preview", channels=["telegram"], languages=["fr"],
        text_fr="Coupure d'eau demain\nde 9 h à 12 h", text_ary="الماء غادي يتقطع غدا",
    ))
    assert response.status == 200
    page = await response.text()
    previews = re.findall(
        r'data-preview-for="(\w+)".*?<p class="bc-bubble" dir="(\w+)" data-role="text">(.*?)</p>', page, re.S
    )
    by_language = {language: (direction, text) for language, direction, text in previews}
    assert by_language["fr"] == ("ltr", "Coupure d&#39;eau demain\nde 9 h à 12 h")
    assert by_language["ary"] == ("rtl", "الماء غادي يتقطع غدا")
    # No Latin-script Darija text: those citizens get the Arabic-script one, and are told so.
    assert by_language["ary_latn"] == ("rtl", "الماء غادي يتقطع غدا")
    assert 'id="audience-count" data-estimate="total">2<' in page
    assert 'value="telegram" id="channels-telegram" checked' in page


async def test_confirmation_shows_the_audience_size_and_who_cannot_be_reached(console):
    seed_people(console.database)
    token = await console_login(console)
    response = await console.post("/admin/broadcasts/new", data=form(
        token, "confirm", districts=["medina"], text_fr="Travaux rue 12",
    ))
    assert response.status == 200
    page = await response.text()
    expected = expected_count(districts=["medina"])
    assert f'data-testid="confirm-total">{expected}<' in page
    assert re.search(rf'data-testid="confirm-off" data-count="{expected}"', page)
    # The confirmation carries the draft, and creating needs the session's token.
    assert '<input type="hidden" name="text_fr" value="Travaux rue 12">' in page
    assert '<input type="hidden" name="districts" value="medina">' in page
    assert csrf_of(page) == token


async def test_a_broadcast_created_from_the_form_is_stored_audited_and_reports_progress(console):
    subscribe_all(console.database, PEOPLE[:3])
    token = await console_login(console)
    broadcast_id = await create(
        console, token, channels=["telegram"], topics=["works"], text_fr="Travaux", text_ary="خدمة",
    )
    row = broadcast_row(console.database, broadcast_id)
    assert row.text == {"fr": "Travaux", "ary": "خدمة"}
    assert row.audience == {"channels": ["telegram"], "topics": ["works"]}
    assert row.created_by == "admin" and row.template is None
    entries = audit_entries(console.database, "broadcast_create")
    assert [(e.actor, e.entity, e.entity_id) for e in entries] == [("admin", "broadcast", str(broadcast_id))]
    assert entries[0].details["estimated_recipients"] == 2
    # Telegram is not configured here: both recipients are skipped and the broadcast ends.
    progress = await progress_until(console, broadcast_id, lambda p: p["status"] == "done")
    assert CONTRACT_KEYS <= set(progress)
    assert (progress["total"], progress["skipped"], progress["percent"]) == (0, 2, 100)
    page = await (await console.get(f"/admin/broadcasts/{broadcast_id}")).text()
    assert re.search(r'data-testid="broadcast-progress" data-percent="100" data-status="done"', page)
    listing = await (await console.get("/admin/broadcasts")).text()
    assert f'data-broadcast-id="{broadcast_id}"' in listing


async def test_submitting_the_confirmation_twice_sends_one_broadcast(console):
    token = await console_login(console)
    first = await create(console, token, text_fr="Une seule fois")
    response = await console.post(
        "/admin/broadcasts/new", data=form(token, "create", text_fr="Une seule fois"), allow_redirects=False
    )
    assert response.headers["Location"] == f"/admin/broadcasts/{first}?duplicate=1"
    with console.database.session() as session:
        assert len(session.execute(select(Broadcast)).scalars().all()) == 1


async def test_a_schedule_is_read_in_casablanca_time_stored_in_utc_and_can_be_cancelled(console):
    token = await console_login(console, CONSOLE_AGENT)
    broadcast_id = await create(console, token, text_fr="Fête de la ville", scheduled_at="2030-06-15T10:00")
    row = broadcast_row(console.database, broadcast_id)
    # Morocco is UTC+1 outside Ramadan (which falls in January–February in 2030).
    assert row.scheduled_at == dt.datetime(2030, 6, 15, 9, 0)
    assert row.status == "scheduled"
    page = await (await console.get(f"/admin/broadcasts/{broadcast_id}")).text()
    assert "2030-06-15 10:00" in page and 'id="cancel-form"' in page

    refused = await console.post(f"/admin/broadcasts/{broadcast_id}/cancel", allow_redirects=False)
    assert refused.status == 403
    assert broadcast_row(console.database, broadcast_id).status == "scheduled"
    response = await console.post(
        f"/admin/broadcasts/{broadcast_id}/cancel", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 302
    assert broadcast_row(console.database, broadcast_id).status == "cancelled"
    entries = audit_entries(console.database, "broadcast_cancel")
    assert [(e.actor, e.entity_id) for e in entries] == [("amina", str(broadcast_id))]
    again = await console.post(
        f"/admin/broadcasts/{broadcast_id}/cancel", data={"csrf_token": token}, allow_redirects=False
    )
    assert again.headers["Location"].endswith("?cancel=refused")
    assert len(audit_entries(console.database, "broadcast_cancel")) == 1
    progress = await (await console.get(f"/admin/broadcasts/{broadcast_id}/progress.json")).json()
    assert progress["status"] == "cancelled" and progress["finished"] is True


@pytest.mark.parametrize("fields, message", [
    ({}, "Écrivez le texte"),
    ({"text_fr": "x" * 4001}, "Texte trop long"),
    ({"text_fr": "😀" * 2001}, "Texte trop long"),  # 4,002 UTF-16 units: Telegram would split it
    ({"text_fr": "ok", "scheduled_at": "2020-01-01T10:00"}, "La date d&#39;envoi est passée"),
    ({"text_fr": "ok", "scheduled_at": "demain"}, "illisibles"),
    ({"text_fr": "ok", "template_parameters": "Benguerir"}, "sans nom de modèle"),
    ({"text_fr": "ok", "template_name": "Town News!"}, "Modèle invalide"),
    ({"text_fr": "ok", "districts": ["atlantis"]}, "inconnu"),
])
async def test_an_invalid_form_creates_nothing_and_says_why(console, fields, message):
    token = await console_login(console)
    response = await console.post("/admin/broadcasts/new", data=form(token, "create", **fields), allow_redirects=False)
    assert response.status == 400
    assert message in await response.text()
    with console.database.session() as session:
        assert session.execute(select(Broadcast)).first() is None


async def test_a_form_without_the_session_token_is_forbidden(console):
    await console_login(console)
    response = await console.post(
        "/admin/broadcasts/new", data=form(None, "create", text_fr="Sans jeton"), allow_redirects=False
    )
    assert response.status == 403
    with console.database.session() as session:
        assert session.execute(select(Broadcast)).first() is None


async def test_subscriber_counts_and_an_export_reserved_to_administrators(console):
    seed_people(console.database)
    await console_login(console, CONSOLE_AGENT)
    page = await (await console.get("/admin/broadcasts/subscribers")).text()
    assert 'id="subscribers-active" data-count="5"' in page
    assert 'id="subscribers-opted-out" data-count="1"' in page
    assert re.search(r'<tr data-key="medina">\s*<th>[^<]+</th>\s*<td class="bc-num">3</td>', page)
    assert 'id="subscribers-csv"' not in page
    assert (await console.get("/admin/broadcasts/subscribers.csv")).status == 403

    await console_login(console)  # a new session, as the administrator
    response = await console.get("/admin/broadcasts/subscribers.csv")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert len(rows) == len(PEOPLE)
    by_id = {row["user_id"]: row for row in rows}
    assert by_id["1002"]["topics"] == "taxes;works" and by_id["1002"]["district"] == "ville_verte"
    assert by_id["1004"]["status"] == "opted_out"
    assert len(audit_entries(console.database, "subscribers_export")) == 1


@pytest.mark.parametrize("language", ["fr", "ar"])
async def test_every_page_is_fully_translated_in_both_console_languages(console, language):
    seed_people(console.database)
    token = await console_login(console)
    await console.post("/admin/language", data={"language": language, "csrf_token": token})
    broadcast_id = await create(console, token, text_fr="Annonce", text_ary="إعلان", districts=["medina"])
    await progress_until(console, broadcast_id, lambda p: p["finished"])
    pages = {
        "list": await console.get("/admin/broadcasts"),
        "new": await console.get("/admin/broadcasts/new"),
        "detail": await console.get(f"/admin/broadcasts/{broadcast_id}"),
        "subscribers": await console.get("/admin/broadcasts/subscribers"),
        "confirm": await console.post("/admin/broadcasts/new", data=form(token, "confirm", text_fr="x")),
    }
    for name, response in pages.items():
        assert response.status == 200, name
        page = await response.text()
        assert f'dir="{"rtl" if language == "ar" else "ltr"}"' in page, name
        untranslated = re.findall(r"\bbc_[a-z0-9_]+", page)
        assert not untranslated, (name, untranslated)


# ---- a real send: the gateway with Telegram and WhatsApp on, against the fakes ----------------
@pytest.fixture
async def platform_console(aiohttp_server, aiohttp_client, tmp_path, fake_telegram, fake_whatsapp):
    """The gateway (no model) with both platforms pointed at the fakes, and a console admin."""
    from bot.db.migrate import prepare

    base = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
        SAWT_ADMIN_USER="admin",
        SAWT_ADMIN_PASSWORD="correct horse battery",
    )
    settings = platform_settings(base, free_port(), fake_telegram, fake_whatsapp, tmp_path / "media")
    database = Database(settings.database_url)
    prepare(database)
    gateway = await start_platform_gateway(
        aiohttp_server, aiohttp_client, settings, None, database, fake_telegram, fake_whatsapp
    )
    gateway.database = database
    yield gateway
    database.dispose()


async def test_a_broadcast_reaches_each_telegram_subscriber_once_and_unsubscribes_a_blocked_one(
    platform_console,
):
    gateway, fake = platform_console, platform_console.telegram
    chats = [str(800_000_000 + i) for i in range(41)]
    blocked = chats[17]
    subscribe_all(gateway.database, [("telegram", chat, "fr", None, []) for chat in chats])
    mark_contacts(gateway.database, "telegram", chats, utcnow())
    fake.block(int(blocked))
    token = await console_login(gateway.client)

    broadcast_id = await create(gateway.client, token, channels=["telegram"], text_fr="Collecte des encombrants samedi")
    await fake.wait_for_sent(40, timeout=20)
    progress = await progress_until(gateway.client, broadcast_id, lambda p: p["finished"])
    assert (progress["status"], progress["percent"]) == ("done", 100)
    assert (progress["total"], progress["sent"], progress["failed"], progress["pending"]) == (41, 40, 1, 0)

    sent = fake.sent()
    assert len(sent) == 40
    assert sorted(str(m["chat_id"]) for m in sent) == sorted(c for c in chats if c != blocked)
    assert {m["text"] for m in sent} == {"Collecte des encombrants samedi"}
    with gateway.database.session() as session:
        subscriber = session.execute(
            select(Subscriber).where(Subscriber.channel == "telegram", Subscriber.user_id == blocked)
        ).scalar_one()
        assert not subscriber.active
        contact = session.execute(
            select(Contact).where(Contact.channel == "telegram", Contact.user_id == blocked)
        ).scalar_one()
        assert contact.blocked_at is not None

    page = await (await gateway.client.get(f"/admin/broadcasts/{broadcast_id}")).text()
    failure = re.search(r'<tr data-error-code="403">.*?</tr>', page, re.S)
    assert failure and "bloqué le bot" in failure.group(0)
    export = await gateway.client.get(f"/admin/broadcasts/{broadcast_id}/deliveries.csv")
    rows = list(csv.DictReader(io.StringIO((await export.read()).decode("utf-8-sig"))))
    assert len(rows) == 41
    assert [(r["user_id"], r["status"], r["error_code"]) for r in rows if r["status"] != "sent"] == [
        (blocked, "failed", "403")
    ]


async def test_whatsapp_citizens_outside_the_window_get_the_template_and_a_closed_window_is_reported(
    platform_console,
):
    gateway, fake = platform_console, platform_console.whatsapp
    inside, outside, stale = "212611111111", "212622222222", "212633333333"
    subscribe_all(gateway.database, [("whatsapp", n, "fr", None, []) for n in (inside, outside, stale)])
    # `stale` wrote recently as far as the database knows, but WhatsApp's window is closed.
    mark_contacts(gateway.database, "whatsapp", [inside, stale], utcnow())
    fake.open_window(inside)
    fake.auto_statuses = True  # Meta's delivered / read / failed webhooks follow each send
    token = await console_login(gateway.client)

    confirm = await (await gateway.client.post("/admin/broadcasts/new", data=form(
        token, "confirm", channels=["whatsapp"], text_fr="Réunion publique jeudi",
    ))).text()
    assert 'data-testid="confirm-total">3<' in confirm
    assert 'data-testid="confirm-outside" data-count="1"' in confirm

    broadcast_id = await create(
        gateway.client, token, channels=["whatsapp"], text_fr="Réunion publique jeudi",
        template_name="reunion_publique", template_language="fr", template_parameters="jeudi\n18 h\n",
    )
    await fake.wait_for_sent(3, timeout=20)
    (to_outside,) = fake.sent_to(outside)
    assert to_outside.type == "template"
    assert to_outside["template"]["name"] == "reunion_publique"
    assert [p["text"] for p in to_outside["template"]["components"][0]["parameters"]] == ["jeudi", "18 h"]
    assert [m.text for m in fake.sent_to(inside)] == ["Réunion publique jeudi"]

    progress = await progress_until(gateway.client, broadcast_id, lambda p: p["failed"] == 1 and p["delivered"] >= 1)
    assert progress["total"] == 3 and progress["skipped"] == 0
    page = await (await gateway.client.get(f"/admin/broadcasts/{broadcast_id}")).text()
    failure = re.search(r'<tr data-error-code="131047">.*?</tr>', page, re.S)
    assert failure and "Fenêtre de 24 h fermée" in failure.group(0)
