"""The `/api/v1` JSON API for integrations (CONTRACT §5): bearer tokens made by
`sawt token create`, creating a broadcast, and reading its progress — against the real
gateway over a seeded database, no model needed."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import subprocess
import sys
from typing import Any, Callable

import pytest
from sqlalchemy import select

from bot.appkeys import BROADCASTS
from bot.db.access import ApiToken, create_token
from bot.db.citizens import subscribe, unsubscribe
from bot.db.messaging import Broadcast, OutboxMessage
from bot.db.session import Database
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port, make_settings, platform_settings, start_platform_gateway

COMMUNE = "benguerir"
CONTRACT_KEYS = {"id", "status", "total", "sent", "delivered", "failed", "pending"}
COUNT_KEYS = CONTRACT_KEYS - {"id", "status"}
TEXT = {"fr": "Coupure d'eau demain", "ary": "غدا غادي يتقطع الما", "ary_latn": "ghda ghadi yt9te3 lma"}


# ---- helpers ---------------------------------------------------------------------------------
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_broadcast(client: Any, token: str, body: Any) -> Any:
    return await client.post("/api/v1/broadcasts", json=body, headers=bearer(token))


async def created_id(client: Any, token: str, body: Any) -> int:
    response = await post_broadcast(client, token, body)
    assert response.status == 201, await response.text()
    payload = await response.json()
    assert set(payload) == {"id"} and isinstance(payload["id"], int)
    return int(payload["id"])


async def status_of(client: Any, token: str, broadcast_id: Any) -> Any:
    return await client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=bearer(token))


async def progress_until(
    client: Any, token: str, broadcast_id: int, done: Callable[[dict[str, Any]], bool],
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Poll the API as an integration would, until `done(progress)`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await status_of(client, token, broadcast_id)
        assert response.status == 200, await response.text()
        progress = await response.json()
        if done(progress):
            return progress
        if loop.time() > deadline:
            raise AssertionError(f"progress never reached the expected state: {progress}")
        await asyncio.sleep(0.1)


def broadcasts(database: Database) -> list[Broadcast]:
    with database.session() as session:
        return list(session.execute(select(Broadcast).order_by(Broadcast.id)).scalars())


def outbox_rows(database: Database, broadcast_id: int) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.execute(
            select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
        ).scalars())


async def assert_unauthorized(response: Any) -> None:
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"]


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=120,
    )


# Telegram users (all reachable as soon as Telegram is on): one per language, and one who
# unsubscribed again and must not be counted.
PEOPLE = [
    ("telegram", "900000001", "fr", "medina", ["works"]),
    ("telegram", "900000002", "ary", "ville_verte", ["taxes"]),
    ("telegram", "900000003", "ary_latn", None, []),
]
GONE = ("telegram", "900000004", "fr", "medina", ["works"])


def seed_people(database: Database) -> None:
    for channel, user_id, language, district, topics in [*PEOPLE, GONE]:
        subscribe(database, COMMUNE, channel, user_id, language, district, topics)
    unsubscribe(database, GONE[0], GONE[1])


# ---- authentication ----------------------------------------------------------------------------
async def test_a_request_without_authorization_is_refused_with_a_bearer_challenge(console):
    await assert_unauthorized(await console.post("/api/v1/broadcasts", json={"text": TEXT}))
    await assert_unauthorized(await console.get("/api/v1/broadcasts/1"))
    assert broadcasts(console.database) == []


@pytest.mark.parametrize("header", [
    pytest.param("Basic YWRtaW46Y29ycmVjdCBob3JzZSBiYXR0ZXJ5", id="basic-scheme"),
    pytest.param("Bearer", id="bearer-without-token"),
    pytest.param("Bearer sawt_" + "A" * 43, id="forged-token"),
    pytest.param("Bearer not-even-a-sawt-token", id="foreign-token"),
])
async def test_a_request_with_a_wrong_scheme_or_unknown_token_is_refused(console, header):
    response = await console.post(
        "/api/v1/broadcasts", json={"text": TEXT}, headers={"Authorization": header}
    )
    await assert_unauthorized(response)
    assert broadcasts(console.database) == []


async def test_a_real_token_used_with_the_basic_scheme_is_still_refused(console):
    token = create_token(console.database, "crm")
    response = await console.post(
        "/api/v1/broadcasts", json={"text": TEXT}, headers={"Authorization": f"Basic {token}"}
    )
    await assert_unauthorized(response)


async def test_a_valid_token_is_accepted_and_its_last_use_recorded(console):
    token = create_token(console.database, "crm")
    await created_id(console, token, {"text": TEXT})
    with console.database.session() as session:
        row = session.execute(select(ApiToken).where(ApiToken.name == "crm")).scalar_one()
        assert row.last_used_at is not None


async def test_a_revoked_token_no_longer_works_while_another_one_still_does(console):
    kept, revoked = create_token(console.database, "kept"), create_token(console.database, "old")
    await created_id(console, revoked, {"text": TEXT})
    result = await asyncio.get_running_loop().run_in_executor(
        None, run_cli, console.settings.database_url, "token", "revoke", "old"
    )
    assert result.returncode == 0 and "1 token(s)" in result.stdout, result.stderr
    await assert_unauthorized(await post_broadcast(console, revoked, {"text": TEXT}))
    await assert_unauthorized(await status_of(console, revoked, 1))
    await created_id(console, kept, {"text": TEXT})


async def test_the_cli_prints_a_working_token_and_the_database_keeps_only_its_digest(console):
    result = await asyncio.get_running_loop().run_in_executor(
        None, run_cli, console.settings.database_url, "token", "create", "partner-portal"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    token = lines[0].strip()
    assert token.startswith("sawt_") and len(token) >= 40

    broadcast_id = await created_id(console, token, {"text": TEXT})
    assert broadcasts(console.database)[-1].created_by == "partner-portal"
    assert (await status_of(console, token, broadcast_id)).status == 200

    with console.database.session() as session:
        rows = session.execute(select(ApiToken)).scalars().all()
        assert [row.name for row in rows] == ["partner-portal"]
        stored = [
            str(getattr(row, column.key))
            for row in rows for column in ApiToken.__table__.columns
        ]
    assert not any(token in value or token[5:] in value for value in stored)
    assert rows[0].digest == hashlib.sha256(token.encode("utf-8")).hexdigest()


async def test_two_tokens_for_the_same_name_are_different(console):
    first, second = create_token(console.database, "crm"), create_token(console.database, "crm")
    assert first != second
    for token in (first, second):
        await created_id(console, token, {"text": TEXT})


# ---- creating a broadcast ----------------------------------------------------------------------
async def test_a_broadcast_is_created_with_its_texts_audience_and_the_tokens_name(console):
    token = create_token(console.database, "municipal-site")
    audience = {"channels": ["telegram"], "languages": ["fr", "ary"], "districts": ["medina"],
                "topics": ["works"]}
    broadcast_id = await created_id(console, token, {"text": TEXT, "audience": audience})
    [row] = broadcasts(console.database)
    assert row.id == broadcast_id
    assert row.text == TEXT
    assert row.audience == audience
    assert row.template is None
    assert row.created_by == "municipal-site"


@pytest.mark.parametrize("body_audience", [
    pytest.param({}, id="audience-missing"),
    pytest.param({"audience": {}}, id="audience-empty"),
    pytest.param({"audience": None}, id="audience-null"),
    pytest.param({"audience": {"channels": [], "topics": []}}, id="audience-empty-lists"),
])
async def test_without_an_audience_everyone_subscribed_is_addressed(console, body_audience):
    """Telegram is off in this gateway: every active subscriber is counted as skipped, the
    unsubscribed one is not, and the broadcast finishes."""
    seed_people(console.database)
    token = create_token(console.database, "crm")
    broadcast_id = await created_id(console, token, {"text": TEXT, **body_audience})
    progress = await progress_until(console, token, broadcast_id, lambda p: p["status"] == "done")
    assert (progress["total"], progress["sent"], progress["pending"]) == (0, 0, 0)
    assert broadcasts(console.database)[0].skipped == len(PEOPLE)
    assert broadcasts(console.database)[0].audience == {}


async def test_an_audience_filter_narrows_who_is_addressed(console):
    seed_people(console.database)
    token = create_token(console.database, "crm")
    broadcast_id = await created_id(
        console, token, {"text": TEXT, "audience": {"districts": ["medina"]}}
    )
    await progress_until(console, token, broadcast_id, lambda p: p["status"] == "done")
    assert broadcasts(console.database)[0].skipped == 1  # the fr one; GONE left


async def test_a_broadcast_scheduled_later_waits_and_sends_nothing(console):
    seed_people(console.database)
    token = create_token(console.database, "crm")
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).replace(microsecond=0)
    in_casablanca = later.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()
    scheduled = await created_id(console, token, {"text": TEXT, "scheduled_at": in_casablanca})
    now = await created_id(console, token, {"text": TEXT})

    engine = console.server.app[BROADCASTS]
    await asyncio.get_running_loop().run_in_executor(None, engine.expand_due)
    progress = await (await status_of(console, token, scheduled)).json()
    assert progress["status"] == "scheduled"
    assert (progress["sent"], progress["delivered"], progress["failed"]) == (0, 0, 0)
    assert outbox_rows(console.database, scheduled) == []
    row = next(b for b in broadcasts(console.database) if b.id == scheduled)
    assert row.scheduled_at == later.replace(tzinfo=None)  # stored in UTC
    assert row.started_at is None
    # The broadcast sent at once went through the same pass.
    assert (await (await status_of(console, token, now)).json())["status"] != "scheduled"


async def test_a_zulu_scheduled_at_is_read_as_utc(console):
    token = create_token(console.database, "crm")
    broadcast_id = await created_id(
        console, token, {"text": {"fr": "Plus tard"}, "scheduled_at": "2099-05-01T08:30:00Z"}
    )
    row = next(b for b in broadcasts(console.database) if b.id == broadcast_id)
    assert row.scheduled_at == dt.datetime(2099, 5, 1, 8, 30)
    assert row.status == "scheduled"


async def test_a_template_is_stored_for_whatsapp_citizens_outside_the_window(console):
    token = create_token(console.database, "crm")
    template = {"name": "water_cut", "language": "fr", "parameters": ["demain"]}
    await created_id(console, token, {"text": TEXT, "template": template})
    assert broadcasts(console.database)[0].template == template


INVALID = [
    ("text", {"audience": {}}),
    ("text", {"text": "Coupure d'eau"}),
    ("text", {"text": {}}),
    ("text", {"text": {"en": "Water cut"}}),
    ("text", {"text": {"fr": "   "}}),
    ("4,000", {"text": {"fr": "x" * 4001}}),
    ("4,000", {"text": {"fr": "ok", "ary": "😀" * 2001}}),  # 4,002 UTF-16 units
    ("audience", {"text": TEXT, "audience": ["telegram"]}),
    ("cities", {"text": TEXT, "audience": {"cities": ["benguerir"]}}),
    ("audience.channels", {"text": TEXT, "audience": {"channels": "telegram"}}),
    ("audience.topics", {"text": TEXT, "audience": {"topics": [1, 2]}}),
    ("sms", {"text": TEXT, "audience": {"channels": ["sms"]}}),
    ("en", {"text": TEXT, "audience": {"languages": ["en"]}}),
    ("atlantis", {"text": TEXT, "audience": {"districts": ["atlantis"]}}),
    ("weather", {"text": TEXT, "audience": {"topics": ["weather"]}}),
    ("scheduled_at", {"text": TEXT, "scheduled_at": "tomorrow morning"}),
    ("scheduled_at", {"text": TEXT, "scheduled_at": "2099-13-01T10:00:00"}),
    ("scheduled_at", {"text": TEXT, "scheduled_at": 4102444800}),
    ("template", {"text": TEXT, "template": "water_cut"}),
    ("template.name", {"text": TEXT, "template": {"name": "Water Cut!"}}),
    ("template.language", {"text": TEXT, "template": {"name": "water_cut", "language": "french"}}),
    ("template.parameters", {"text": TEXT, "template": {"name": "water_cut", "parameters": "x"}}),
]


@pytest.mark.parametrize(
    "hint,body", [pytest.param(h, b, id=f"{i}-{h}") for i, (h, b) in enumerate(INVALID)]
)
async def test_an_invalid_body_is_refused_with_an_error_naming_the_problem(console, hint, body):
    token = create_token(console.database, "crm")
    response = await post_broadcast(console, token, body)
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert hint in error
    assert broadcasts(console.database) == []


@pytest.mark.parametrize("raw,hint", [
    pytest.param(b"{not json", "JSON", id="not-json"),
    pytest.param(b"", "JSON", id="empty-body"),
    pytest.param(b'["text"]', "object", id="json-array"),
    pytest.param(b'"text"', "object", id="json-string"),
    pytest.param(b"null", "object", id="json-null"),
])
async def test_a_body_that_is_not_a_json_object_is_refused(console, raw, hint):
    token = create_token(console.database, "crm")
    response = await console.post(
        "/api/v1/broadcasts", data=raw,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert response.status == 400, await response.text()
    assert hint in (await response.json())["error"]
    assert broadcasts(console.database) == []


# ---- reading a broadcast's progress -----------------------------------------------------------
async def test_progress_has_the_contract_keys_with_integer_counts(console):
    seed_people(console.database)
    token = create_token(console.database, "crm")
    broadcast_id = await created_id(console, token, {"text": TEXT})
    for wanted in (lambda p: True, lambda p: p["status"] == "done"):  # at once, and at the end
        progress = await progress_until(console, token, broadcast_id, wanted)
        assert CONTRACT_KEYS <= set(progress)
        assert progress["id"] == broadcast_id
        assert progress["status"] in ("scheduled", "expanding", "sending", "done")
        for key in COUNT_KEYS:
            assert type(progress[key]) is int and progress[key] >= 0, (key, progress)


async def test_another_tokens_broadcast_is_readable_too(console):
    """Tokens are for the commune's integrations, not per-tenant: any valid one reads any id."""
    first, second = create_token(console.database, "a"), create_token(console.database, "b")
    broadcast_id = await created_id(console, first, {"text": TEXT})
    assert (await (await status_of(console, second, broadcast_id)).json())["id"] == broadcast_id


@pytest.mark.parametrize("raw_id", [
    pytest.param("999999", id="unknown"),
    pytest.param("0", id="zero"),
    pytest.param("-1", id="negative"),
    pytest.param("abc", id="letters"),
    pytest.param("1.0", id="decimal"),
    pytest.param("0_1", id="underscore-digits"),
    pytest.param("%D9%A1", id="arabic-indic-one"),
    pytest.param("99999999999999999999999", id="beyond-64-bits"),
])
async def test_an_unknown_or_malformed_id_is_not_found(console, raw_id):
    token = create_token(console.database, "crm")
    await created_id(console, token, {"text": TEXT})  # broadcast 1 exists
    response = await status_of(console, token, raw_id)
    assert response.status in (400, 404), await response.text()
    assert (await response.json())["error"]


# ---- a real send: Telegram on, against the fake --------------------------------------------------
@pytest.fixture
async def telegram_gateway(aiohttp_server, aiohttp_client, tmp_path, fake_telegram, fake_whatsapp):
    from bot.db.migrate import prepare

    base = make_settings(
        tmp_path,
        SAWT_MODELS_DIR=str(tmp_path / "no-models"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook",
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


async def test_a_broadcast_without_audience_reaches_every_subscriber_in_their_language(
    telegram_gateway,
):
    gateway = telegram_gateway
    seed_people(gateway.database)
    token = create_token(gateway.database, "crm")
    broadcast_id = await created_id(gateway.client, token, {"text": TEXT})

    sent = await gateway.telegram.wait_for_sent(len(PEOPLE), timeout=20)
    progress = await progress_until(
        gateway.client, token, broadcast_id, lambda p: p["status"] == "done"
    )
    assert (progress["total"], progress["sent"], progress["failed"], progress["pending"]) == (
        len(PEOPLE), len(PEOPLE), 0, 0
    )
    received = {str(message["chat_id"]): message["text"] for message in sent}
    assert received == {user: TEXT[language] for _channel, user, language, _d, _t in PEOPLE}



async def test_a_broadcast_made_through_the_api_is_in_the_audit_log(console):
    from sqlalchemy import select

    from bot.db.access import create_token
    from bot.db.console import AuditEntry

    token = create_token(console.database, "city-portal")
    response = await console.post(
        "/api/v1/broadcasts", json={"text": {"fr": "Réunion publique jeudi"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 201
    broadcast_id = (await response.json())["id"]
    with console.database.session() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "broadcast_create")
        ).scalar_one()
    assert entry.actor == "api:city-portal" and entry.entity_id == str(broadcast_id)
