"""Complaints and applications in the console: the filtered inbox, a record, its status change
(history, audit, the citizen told on their channel in their language), CSV exports, photos."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.citizens import NewComplaint, record_complaint
from bot.db.console import AuditEntry, create_account
from bot.db.messaging import Contact, OutboxMessage
from bot.db.models import Application, Complaint, ComplaintEvent, ConversationLog, utcnow
from bot.db.session import Database
from bot.i18n import t
from tests.conftest import (
    CONSOLE_ADMIN,
    CONSOLE_AGENT,
    TELEGRAM_SECRET,
    console_login,
    free_port,
    make_settings,
)

COMMUNE = "benguerir"
SEEDED = ("REC-2026-000123", "REC-2026-000098", "REC-2026-000131")


def references_in(html: str) -> list[str]:
    """The references listed in the table, in order."""
    return re.findall(r'<tr data-reference="([^"]+)"', html)


def new_complaint(database: Database, **fields: Any) -> str:
    values: dict[str, Any] = {
        "channel": "telegram", "user_id": "5550001", "category": "water",
        "description": "Fuite d'eau devant la poste", "language": "fr",
    }
    values.update(fields)
    return record_complaint(database, COMMUNE, NewComplaint(**values))


def complaint(database: Database, reference: str) -> Complaint:
    with database.session() as session:
        return session.execute(
            select(Complaint).where(Complaint.reference == reference)
        ).scalar_one()


def events_of(database: Database, reference: str) -> list[ComplaintEvent]:
    with database.session() as session:
        return list(
            session.execute(
                select(ComplaintEvent)
                .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
                .where(Complaint.reference == reference)
                .order_by(ComplaintEvent.id)
            ).scalars()
        )


def audits(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(
            session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        )


def outbox_rows(database: Database) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode("utf-8")), "no UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def expected_notice(reference: str, category: str, status: str, language: str, note: str = "") -> str:
    params = {
        "reference": reference,
        "category": t(f"category_{category}", language),
        "status": t(f"complaint_status_{status}", language),
    }
    if note:
        return t("complaint_status_changed_note", language, note=note, **params)
    return t("complaint_status_changed", language, **params)


# ---- the inbox ------------------------------------------------------------------------------------
async def test_an_agent_sees_every_seeded_complaint_newest_first(console):
    await console_login(console, CONSOLE_AGENT)
    response = await console.get("/admin/complaints")
    assert response.status == 200
    listed = references_in(await response.text())
    # days ago: 131 → 2, 123 → 12, 098 → 30
    assert listed == ["REC-2026-000131", "REC-2026-000123", "REC-2026-000098"]


async def test_status_category_and_district_filters_narrow_the_list(console):
    water = new_complaint(console.database, category="water", district_slug="medina")
    await console_login(console)

    async def listed(query: str) -> list[str]:
        return references_in(await (await console.get(f"/admin/complaints?{query}")).text())

    assert await listed("status=resolved") == ["REC-2026-000098"]
    assert await listed("category=water") == [water]
    assert set(await listed("district=medina")) == {water, "REC-2026-000123"}
    assert await listed("district=medina&category=lighting") == ["REC-2026-000123"]
    assert await listed("status=rejected") == []


async def test_text_and_date_filters_narrow_the_list(console):
    today = utcnow().date()
    fresh = new_complaint(console.database, description="Lampadaire tombé sur le trottoir")
    await console_login(console)

    async def listed(query: str) -> list[str]:
        return references_in(await (await console.get(f"/admin/complaints?{query}")).text())

    assert await listed("q=terrain+vague") == ["REC-2026-000098"]
    assert await listed("q=rec-2026-000131") == ["REC-2026-000131"]
    assert await listed("q=LAMPADAIRE") == [fresh]
    assert await listed(f"from={today.isoformat()}") == [fresh]
    # the seeded complaints were filed 2, 12 and 30 days ago; "to" includes its whole day
    assert set(await listed(f"to={today.isoformat()}")) == {fresh, *SEEDED}
    week_ago = (today - dt.timedelta(days=7)).isoformat()
    month_ago = (today - dt.timedelta(days=20)).isoformat()
    assert await listed(f"from={month_ago}&to={week_ago}") == ["REC-2026-000123"]


async def test_a_percent_sign_in_the_search_is_taken_literally(console):
    await console_login(console)
    page = await (await console.get("/admin/complaints?q=%25")).text()
    assert references_in(page) == []


async def test_the_list_is_paged_by_fifty_with_the_total(console):
    for number in range(52):
        new_complaint(console.database, description=f"Réclamation de charge {number}")
    await console_login(console)
    first = await (await console.get("/admin/complaints")).text()
    second = await (await console.get("/admin/complaints?page=2")).text()
    assert len(references_in(first)) == 50
    assert len(references_in(second)) == 55 - 50
    assert 'data-total="55"' in first
    assert not set(references_in(first)) & set(references_in(second))
    assert 'id="page-next"' in first and 'id="page-prev"' in second


async def test_the_list_needs_a_session(console):
    response = await console.get("/admin/complaints", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"].startswith("/admin/login")


# ---- one complaint --------------------------------------------------------------------------------
async def test_a_complaint_shows_its_description_history_map_and_status_form(console):
    await console_login(console, CONSOLE_AGENT)
    page = await (await console.get("/admin/complaints/REC-2026-000123")).text()
    assert "dow dyal zen9a li mor jame3 tafi" in page
    assert re.findall(r'<li data-status="([a-z_]+)"', page) == ["received", "in_progress"]
    assert "openstreetmap.org/?mlat=32.2359&amp;mlon=-7.9549" in page
    assert 'id="status-form"' in page and 'name="csrf_token"' in page


async def test_an_unknown_reference_is_not_found(console):
    await console_login(console)
    assert (await console.get("/admin/complaints/REC-2026-999999")).status == 404
    assert (await console.get("/admin/applications/DEM-2026-999999")).status == 404


async def test_the_console_in_arabic_shows_the_complaint_right_to_left(console):
    token = await console_login(console)
    await console.post("/admin/language", data={"language": "ar", "csrf_token": token})
    page = await (await console.get("/admin/complaints/REC-2026-000098")).text()
    assert 'dir="rtl"' in page
    assert "تمت المعالجة" in page  # "resolved" in the console's Arabic


# ---- status changes -------------------------------------------------------------------------------
async def test_a_status_change_writes_the_history_and_the_audit(console):
    token = await console_login(console, CONSOLE_AGENT)
    response = await console.post(
        "/admin/complaints/REC-2026-000123/status",
        data={"status": "resolved", "note": "Les lampadaires sont réparés.", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert complaint(console.database, "REC-2026-000123").status == "resolved"
    last = events_of(console.database, "REC-2026-000123")[-1]
    # stored in the citizen's language, which `pick` falls back to for any reader
    assert last.status == "resolved" and last.note == {"ary_latn": "Les lampadaires sont réparés."}
    [entry] = audits(console.database, "complaint.status")
    assert entry.actor == CONSOLE_AGENT[0] and entry.entity_id == "REC-2026-000123"
    assert entry.details == {"from": "in_progress", "to": "resolved", "note": "Les lampadaires sont réparés."}


async def test_a_web_chat_citizen_cannot_be_notified_and_the_agent_is_told(console):
    token = await console_login(console)
    response = await console.post(
        "/admin/complaints/REC-2026-000131/status",
        data={"status": "in_progress", "note": "", "csrf_token": token},
    )
    assert response.status == 200  # after the redirect
    page = await response.text()
    assert 'data-notice="no_channel"' in page
    assert 'data-status="in_progress"' in page
    assert outbox_rows(console.database) == []
    # the message is still logged, in the citizen's language (Darija in Arabic script)
    with console.database.session() as session:
        logged = session.execute(
            select(ConversationLog.text).where(
                ConversationLog.sender_id == "demo-web-131", ConversationLog.direction == "out"
            )
        ).scalars().all()
    assert logged == [expected_notice("REC-2026-000131", "roads", "in_progress", "ary")]


async def test_an_unknown_status_is_refused_and_changes_nothing(console):
    token = await console_login(console)
    before = len(events_of(console.database, "REC-2026-000123"))
    response = await console.post(
        "/admin/complaints/REC-2026-000123/status",
        data={"status": "closed", "note": "x", "csrf_token": token}, allow_redirects=False,
    )
    assert response.status == 400
    assert 'data-error="unknown_status"' in await response.text()
    assert complaint(console.database, "REC-2026-000123").status == "in_progress"
    assert len(events_of(console.database, "REC-2026-000123")) == before
    assert audits(console.database, "complaint.status") == []


async def test_the_same_status_without_a_note_is_refused_but_a_note_alone_is_recorded(console):
    token = await console_login(console)
    url = "/admin/complaints/REC-2026-000123/status"
    refused = await console.post(url, data={"status": "in_progress", "csrf_token": token})
    assert refused.status == 400
    assert 'data-error="unchanged"' in await refused.text()
    noted = await console.post(
        url, data={"status": "in_progress", "note": "Pièces livrées demain.", "csrf_token": token},
        allow_redirects=False,
    )
    assert noted.status == 303
    assert [e.status for e in events_of(console.database, "REC-2026-000123")] == [
        "received", "in_progress", "in_progress"
    ]


async def test_a_too_long_note_is_refused(console):
    token = await console_login(console)
    response = await console.post(
        "/admin/complaints/REC-2026-000123/status",
        data={"status": "resolved", "note": "x" * 1001, "csrf_token": token},
    )
    assert response.status == 400
    assert complaint(console.database, "REC-2026-000123").status == "in_progress"


async def test_a_status_change_without_the_csrf_token_is_forbidden(console):
    await console_login(console)
    response = await console.post(
        "/admin/complaints/REC-2026-000123/status", data={"status": "resolved"},
        allow_redirects=False,
    )
    assert response.status == 403
    assert complaint(console.database, "REC-2026-000123").status == "in_progress"


async def test_a_status_change_with_another_sessions_token_is_forbidden(console):
    other_token = await console_login(console, CONSOLE_AGENT)
    await console_login(console, CONSOLE_ADMIN)  # a new session with its own token
    response = await console.post(
        "/admin/complaints/REC-2026-000123/status",
        data={"status": "resolved", "csrf_token": other_token}, allow_redirects=False,
    )
    assert response.status == 403
    assert complaint(console.database, "REC-2026-000123").status == "in_progress"


# ---- the citizen is told, on Telegram, in their language ------------------------------------------
@pytest.fixture
async def telegram_console(aiohttp_client: Any, tmp_path: Path, fake_telegram: Any) -> Any:
    """The console's gateway with Telegram on, pointed at the local fake of the Bot API."""
    from bot.db.migrate import prepare
    from bot.gateway import create_app

    settings = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
        SAWT_ADMIN_USER=CONSOLE_ADMIN[0],
        SAWT_ADMIN_PASSWORD=CONSOLE_ADMIN[1],
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE=fake_telegram.api_base,
        # a webhook secret without a public URL: no polling, the gateway only sends
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
    )
    database = Database(settings.database_url)
    prepare(database)
    client = await aiohttp_client(create_app(settings, database=database))
    create_account(database, *CONSOLE_AGENT, role="agent")
    client.database = database
    client.settings = settings
    client.telegram = fake_telegram
    yield client
    database.dispose()


async def test_a_telegram_citizen_is_told_the_new_status_in_their_language(telegram_console):
    chat_id = 6_123_456
    reference = new_complaint(
        telegram_console.database, user_id=str(chat_id), language="ary_latn", category="waste",
        description="zbel bzaf 9dam dar",
    )
    token = await console_login(telegram_console, CONSOLE_AGENT)  # console in French
    note = "Fari9 nnadafa ghadi ydouz ghedda."
    response = await telegram_console.post(
        f"/admin/complaints/{reference}/status",
        data={"status": "in_progress", "note": note, "csrf_token": token},
    )
    assert 'data-notice="queued"' in await response.text()
    expected = expected_notice(reference, "waste", "in_progress", "ary_latn", note)
    [row] = outbox_rows(telegram_console.database)
    assert row.channel == "telegram" and row.user_id == str(chat_id)
    assert row.request["params"]["text"] == expected
    sent = await telegram_console.telegram.wait_for_sent(1, chat_id=chat_id)
    assert sent[0]["text"] == expected


async def test_a_citizen_who_blocked_the_bot_is_not_messaged_and_the_agent_is_told(telegram_console):
    reference = new_complaint(telegram_console.database, user_id="6200001")
    with telegram_console.database.session() as session:
        session.add(Contact(channel="telegram", user_id="6200001", blocked_at=utcnow()))
    token = await console_login(telegram_console)
    response = await telegram_console.post(
        f"/admin/complaints/{reference}/status", data={"status": "resolved", "csrf_token": token},
    )
    assert 'data-notice="blocked"' in await response.text()
    assert outbox_rows(telegram_console.database) == []
    assert complaint(telegram_console.database, reference).status == "resolved"


# ---- CSV ------------------------------------------------------------------------------------------
async def test_the_complaints_csv_has_a_header_and_only_the_filtered_rows(console):
    formula = new_complaint(
        console.database, category="water", description="=HYPERLINK(\"http://evil\")"
    )
    await console_login(console, CONSOLE_AGENT)
    response = await console.get("/admin/complaints.csv?category=water")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(await response.read())
    assert header[0] == "Référence" and "Description" in header
    assert [row[0] for row in rows] == [formula]
    # a citizen's text never runs as a spreadsheet formula
    assert rows[0][header.index("Description")].startswith("'=")
    everything = read_csv(await (await console.get("/admin/complaints.csv")).read())
    assert {row[0] for row in everything[1:]} == {formula, *SEEDED}


async def test_the_csv_link_keeps_the_filters_of_the_page(console):
    await console_login(console)
    page = await (await console.get("/admin/complaints?status=resolved&category=waste")).text()
    link = re.search(r'href="(/admin/complaints\.csv[^"]*)" id="export-csv"', page)
    assert link is not None, "no CSV link"
    href = link.group(1).replace("&amp;", "&")
    rows = read_csv(await (await console.get(href)).read())[1:]
    assert [row[0] for row in rows] == ["REC-2026-000098"]


# ---- photos ---------------------------------------------------------------------------------------
async def test_a_photo_in_the_media_folder_is_shown(console):
    media: Path = console.settings.media_dir
    (media / "telegram").mkdir(parents=True, exist_ok=True)
    (media / "telegram" / "abc.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    reference = new_complaint(console.database, photo_path="telegram/abc.jpg")
    await console_login(console)
    page = await (await console.get(f"/admin/complaints/{reference}")).text()
    assert f'src="/admin/complaints/{reference}/photo"' in page
    photo = await console.get(f"/admin/complaints/{reference}/photo")
    assert photo.status == 200 and await photo.read() == b"\xff\xd8\xff fake jpeg"


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
async def test_a_photo_path_outside_the_media_folder_is_refused(console, tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for agents")
    media: Path = console.settings.media_dir
    media.mkdir(parents=True, exist_ok=True)
    if kind == "dotdot":
        photo_path = "../secret.txt"
    elif kind == "absolute":
        photo_path = str(secret)
    else:
        (media / "link.jpg").symlink_to(secret)
        photo_path = "link.jpg"
    reference = new_complaint(console.database, photo_path=photo_path)
    await console_login(console)
    response = await console.get(f"/admin/complaints/{reference}/photo")
    assert response.status == 404
    assert "not for agents" not in await response.text()
    page = await (await console.get(f"/admin/complaints/{reference}")).text()
    assert "/photo" not in page and 'data-testid="photo-missing"' in page


async def test_a_photo_that_could_not_be_downloaded_is_reported_missing(console):
    reference = new_complaint(console.database, photo_path="telegram:AgACAgQAAxkBAAI")
    await console_login(console)
    assert (await console.get(f"/admin/complaints/{reference}/photo")).status == 404
    page = await (await console.get(f"/admin/complaints/{reference}")).text()
    assert 'data-testid="photo-missing"' in page


# ---- applications ---------------------------------------------------------------------------------
async def test_application_filters_narrow_the_list(console):
    await console_login(console, CONSOLE_AGENT)

    async def listed(query: str) -> list[str]:
        return references_in(await (await console.get(f"/admin/applications?{query}")).text())

    assert len(await listed("")) == 5
    assert await listed("status=ready") == ["DEM-2026-000045"]
    assert await listed("procedure=building_permit") == ["DEM-2026-000417"]
    assert await listed("q=000512") == ["DEM-2026-000512"]
    since = (utcnow().date() - dt.timedelta(days=10)).isoformat()
    assert set(await listed(f"from={since}")) == {"DEM-2026-000045", "DEM-2026-000512"}


async def test_an_application_status_change_replaces_the_note_and_is_audited(console):
    token = await console_login(console, CONSOLE_AGENT)
    response = await console.post(
        "/admin/applications/DEM-2026-000233/status",
        data={"status": "in_review", "note": "Attestation reçue, dossier complet.", "csrf_token": token},
    )
    assert 'data-notice="none"' in await response.text()
    with console.database.session() as session:
        application = session.execute(
            select(Application).where(Application.reference == "DEM-2026-000233")
        ).scalar_one()
    assert application.status == "in_review"
    assert application.note == {"fr": "Attestation reçue, dossier complet."}
    [entry] = audits(console.database, "application.status")
    assert entry.actor == CONSOLE_AGENT[0]
    assert entry.details["from"] == "missing_documents" and entry.details["to"] == "in_review"


async def test_an_application_status_without_a_note_clears_the_stale_note(console):
    token = await console_login(console)
    await console.post(
        "/admin/applications/DEM-2026-000233/status",
        data={"status": "approved", "csrf_token": token},
    )
    with console.database.session() as session:
        note = session.execute(
            select(Application.note).where(Application.reference == "DEM-2026-000233")
        ).scalar_one()
    assert note is None


async def test_an_unknown_application_status_is_refused(console):
    token = await console_login(console)
    response = await console.post(
        "/admin/applications/DEM-2026-000233/status",
        data={"status": "resolved", "csrf_token": token},  # a complaint status, not an application's
    )
    assert response.status == 400
    assert audits(console.database, "application.status") == []


async def test_the_applications_csv_has_a_header_and_the_filtered_rows(console):
    await console_login(console)
    header, *rows = read_csv(await (await console.get("/admin/applications.csv?status=approved")).read())
    assert header[0] == "Référence" and "Démarche" in header
    assert [row[0] for row in rows] == ["DEM-2026-000388"]
