"""Accounts and the audit log, for admins only: creating agents, roles, deactivation (sessions
end, login refused), password resets, never losing the last admin; every change audited."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Optional

from sqlalchemy import select

from bot.db.console import AuditEntry, ConsoleAccount, audit
from bot.db.session import Database
from tests.conftest import CONSOLE_ADMIN, CONSOLE_AGENT, console_login

NEW_AGENT = ("youssef", "a brand new passphrase")


async def login(client: Any, account: tuple[str, str]) -> Any:
    return await client.post(
        "/admin/login", data={"username": account[0], "password": account[1]},
        allow_redirects=False,
    )


def account_id(database: Database, username: str) -> int:
    with database.session() as session:
        return int(session.execute(
            select(ConsoleAccount.id).where(ConsoleAccount.username == username)
        ).scalar_one())


def account(database: Database, username: str) -> Optional[ConsoleAccount]:
    with database.session() as session:
        return session.execute(
            select(ConsoleAccount).where(ConsoleAccount.username == username)
        ).scalar_one_or_none()


def audited(database: Database, action: str, entity_id: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(session.execute(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.entity_id == entity_id)
        ).scalars())


async def create(client: Any, token: str, username: str = NEW_AGENT[0],
                 password: str = NEW_AGENT[1], role: str = "agent") -> Any:
    return await client.post("/admin/accounts", data={
        "csrf_token": token, "username": username, "display_name": "Youssef B.",
        "role": role, "password": password, "language": "ar",
    })


# ---- who may ---------------------------------------------------------------------------------
async def test_an_agent_is_refused_every_accounts_and_audit_page_and_form(console):
    token = await console_login(console, CONSOLE_AGENT)
    admin_id = account_id(console.database, "admin")

    for path in ("/admin/accounts", f"/admin/accounts/{admin_id}", "/admin/audit", "/admin/audit.csv"):
        assert (await console.get(path)).status == 403, path
    posts = {
        "/admin/accounts": {"username": "intruder", "display_name": "x", "role": "admin",
                            "password": "a long enough password"},
        f"/admin/accounts/{admin_id}/role": {"role": "agent"},
        f"/admin/accounts/{admin_id}/active": {"active": "0"},
        f"/admin/accounts/{admin_id}/password": {"password": "taken over passphrase"},
    }
    for path, form in posts.items():
        assert (await console.post(path, data={"csrf_token": token, **form})).status == 403, path

    assert account(console.database, "intruder") is None
    admin = account(console.database, "admin")
    assert admin is not None and admin.role == "admin" and not admin.disabled
    assert (await login(console, CONSOLE_ADMIN)).status == 302


async def test_the_navigation_shows_accounts_and_audit_to_admins_only(console):
    await console_login(console, CONSOLE_AGENT)
    agent_home = await (await console.get("/admin/")).text()
    await console_login(console, CONSOLE_ADMIN)
    admin_home = await (await console.get("/admin/")).text()

    assert 'href="/admin/accounts"' not in agent_home and 'href="/admin/audit"' not in agent_home
    assert 'href="/admin/accounts"' in admin_home and 'href="/admin/audit"' in admin_home


async def test_a_form_without_the_csrf_token_is_forbidden(console):
    await console_login(console, CONSOLE_ADMIN)

    response = await console.post("/admin/accounts", data={
        "username": "sneaky", "display_name": "x", "role": "admin",
        "password": "a long enough password",
    })

    assert response.status == 403
    assert account(console.database, "sneaky") is None


# ---- accounts --------------------------------------------------------------------------------
async def test_the_list_shows_each_account_with_its_role_state_and_last_login(console):
    await console_login(console, CONSOLE_ADMIN)

    page = await (await console.get("/admin/accounts")).text()

    rows = dict(re.findall(r'data-testid="account-row" data-username="(\w+)"(.*?)</tr>', page, re.S))
    assert set(rows) == {"admin", "amina"}
    assert 'data-role="admin" data-active="1"' in rows["admin"]
    assert 'data-role="agent" data-active="1"' in rows["amina"]
    assert "jamais" in rows["amina"] and "jamais" not in rows["admin"]


async def test_an_admin_creates_an_agent_who_can_then_log_in(console, aiohttp_client):
    token = await console_login(console, CONSOLE_ADMIN)

    response = await create(console, token)

    assert response.status == 200 and response.url.query.get("flash") == "created"
    created = account(console.database, "youssef")
    assert created is not None
    assert (created.role, created.display_name, created.language) == ("agent", "Youssef B.", "ar")
    assert created.password_hash.startswith("$argon2")
    entry = audited(console.database, "account.create", "youssef")
    assert [(e.actor, e.details["role"]) for e in entry] == [("admin", "agent")]
    browser = await aiohttp_client(console.server)
    assert (await login(browser, NEW_AGENT)).status == 302
    home = await (await browser.get("/admin/")).text()
    assert 'dir="rtl"' in home  # the language chosen for the account
    assert (await browser.get("/admin/accounts")).status == 403


async def test_a_password_shorter_than_12_characters_is_refused(console):
    token = await console_login(console, CONSOLE_ADMIN)

    response = await create(console, token, password="elevenchars")

    page = await response.text()
    assert response.status == 400 and 'data-error="accounts_password_short"' in page
    assert 'value="youssef"' in page  # what was typed stays, except the password
    assert account(console.database, "youssef") is None
    assert audited(console.database, "account.create", "youssef") == []


async def test_a_username_already_taken_or_malformed_is_refused(console):
    token = await console_login(console, CONSOLE_ADMIN)

    taken = await create(console, token, username="Amina")
    malformed = await create(console, token, username="a b")

    assert taken.status == 409 and 'data-error="accounts_username_taken"' in await taken.text()
    assert malformed.status == 400
    with console.database.session() as session:
        assert len(session.execute(select(ConsoleAccount.id)).all()) == 2


async def test_a_deactivated_account_is_logged_out_and_cannot_log_in(console, aiohttp_client):
    amina = await aiohttp_client(console.server)
    await console_login(amina, CONSOLE_AGENT)
    assert (await amina.get("/admin/", allow_redirects=False)).status == 200
    token = await console_login(console, CONSOLE_ADMIN)
    amina_id = account_id(console.database, "amina")

    response = await console.post(f"/admin/accounts/{amina_id}/active",
                                  data={"csrf_token": token, "active": "0"})

    assert response.url.query.get("flash") == "deactivated"
    assert 'data-active="0"' in await response.text()
    assert (await amina.get("/admin/", allow_redirects=False)).status == 302
    assert (await login(amina, CONSOLE_AGENT)).status == 401
    assert [e.actor for e in audited(console.database, "account.deactivate", "amina")] == ["admin"]


async def test_a_reactivated_account_can_log_in_again(console):
    token = await console_login(console, CONSOLE_ADMIN)
    amina_id = account_id(console.database, "amina")
    await console.post(f"/admin/accounts/{amina_id}/active", data={"csrf_token": token, "active": "0"})

    await console.post(f"/admin/accounts/{amina_id}/active", data={"csrf_token": token, "active": "1"})

    assert (await login(console, CONSOLE_AGENT)).status == 302
    assert len(audited(console.database, "account.reactivate", "amina")) == 1


async def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(console):
    token = await console_login(console, CONSOLE_ADMIN)
    admin_id = account_id(console.database, "admin")

    deactivate = await console.post(f"/admin/accounts/{admin_id}/active",
                                    data={"csrf_token": token, "active": "0"})
    demote = await console.post(f"/admin/accounts/{admin_id}/role",
                                data={"csrf_token": token, "role": "agent"})

    for response in (deactivate, demote):
        assert response.status == 409
        assert 'data-error="accounts_last_admin"' in await response.text()
    admin = account(console.database, "admin")
    assert admin is not None and admin.role == "admin" and not admin.disabled
    assert audited(console.database, "account.deactivate", "admin") == []
    assert audited(console.database, "account.role", "admin") == []
    assert (await console.get("/admin/accounts")).status == 200  # still signed in


async def test_with_a_second_admin_the_first_may_step_down(console):
    token = await console_login(console, CONSOLE_ADMIN)
    amina_id = account_id(console.database, "amina")
    admin_id = account_id(console.database, "admin")

    promoted = await console.post(f"/admin/accounts/{amina_id}/role",
                                  data={"csrf_token": token, "role": "admin"})
    stepped_down = await console.post(f"/admin/accounts/{admin_id}/role",
                                      data={"csrf_token": token, "role": "agent"})

    assert promoted.status == 200 and stepped_down.status == 200
    assert stepped_down.url.path == "/admin/"
    assert account(console.database, "amina").role == "admin"
    assert account(console.database, "admin").role == "agent"
    # The role is read on every request: the former admin is refused at once.
    assert (await console.get("/admin/accounts")).status == 403
    changes = audited(console.database, "account.role", "amina")
    assert [(e.actor, e.details) for e in changes] == [("admin", {"old": "agent", "new": "admin"})]


async def test_a_password_reset_replaces_the_password_and_ends_the_sessions(console, aiohttp_client):
    amina = await aiohttp_client(console.server)
    await console_login(amina, CONSOLE_AGENT)
    token = await console_login(console, CONSOLE_ADMIN)
    amina_id = account_id(console.database, "amina")

    short = await console.post(f"/admin/accounts/{amina_id}/password",
                               data={"csrf_token": token, "password": "too short"})
    reset = await console.post(f"/admin/accounts/{amina_id}/password",
                               data={"csrf_token": token, "password": "a fresh passphrase 2026"})

    assert short.status == 400
    assert reset.url.query.get("flash") == "password_reset"
    assert (await amina.get("/admin/", allow_redirects=False)).status == 302
    assert (await login(amina, CONSOLE_AGENT)).status == 401
    assert (await login(amina, ("amina", "a fresh passphrase 2026"))).status == 302
    assert len(audited(console.database, "account.password_reset", "amina")) == 1


async def test_a_reset_lifts_a_lock_out(console, aiohttp_client):
    amina = await aiohttp_client(console.server)
    for _ in range(5):
        await login(amina, ("amina", "wrong guess wrong"))
    assert (await login(amina, CONSOLE_AGENT)).status == 429
    token = await console_login(console, CONSOLE_ADMIN)
    page = await (await console.get("/admin/accounts")).text()
    assert "bloqué jusqu" in page

    await console.post(f"/admin/accounts/{account_id(console.database, 'amina')}/password",
                       data={"csrf_token": token, "password": "a fresh passphrase 2026"})

    assert (await login(amina, ("amina", "a fresh passphrase 2026"))).status == 302


# ---- the audit log ---------------------------------------------------------------------------
async def test_the_audit_log_lists_changes_and_filters_by_user_and_action(console):
    token = await console_login(console, CONSOLE_ADMIN)
    await create(console, token)
    audit(console.database, "amina", "handoff.take", "handoff", "7")

    everything = await (await console.get("/admin/audit")).text()
    by_amina = await (await console.get("/admin/audit?actor=amina")).text()
    creations = await (await console.get("/admin/audit?action=account.create")).text()

    def rows(page: str) -> list[tuple[str, str]]:
        return re.findall(r'data-testid="audit-row" data-action="([\w.]+)" data-actor="(\w+)"', page)

    assert ("account.create", "admin") in rows(everything)
    assert ("handoff.take", "amina") in rows(everything)
    assert rows(by_amina) == [("handoff.take", "amina")]
    assert set(rows(creations)) == {("account.create", "admin"), ("account.create", "system")}
    assert "youssef" in creations


async def test_the_audit_log_is_paginated_newest_first(console):
    for i in range(120):
        audit(console.database, "amina", "content.update", "procedure", str(i))
    await console_login(console, CONSOLE_ADMIN)

    first = await (await console.get("/admin/audit?action=content.update")).text()
    third = await (await console.get("/admin/audit?action=content.update&page=3")).text()

    def ids(page: str) -> list[str]:
        return re.findall(r"procedure <code>(\d+)</code>", page)

    assert ids(first) == [str(i) for i in range(119, 69, -1)]
    assert ids(third) == [str(i) for i in range(19, -1, -1)]
    assert 'data-total="120"' in first
    assert 'href="/admin/audit?action=content.update&amp;page=2"' in first
    assert "audit-next" not in third


async def test_the_audit_csv_export_has_every_filtered_entry_and_no_formulas(console):
    audit(console.database, "amina", "handoff.reply", "handoff", "=1+2", {"text": "salam"})
    audit(console.database, "amina", "handoff.take", "handoff", "3")
    await console_login(console, CONSOLE_ADMIN)

    response = await console.get("/admin/audit.csv?actor=amina")

    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0] == ["at_utc", "actor", "action", "entity", "entity_id", "details"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("amina", "handoff.take"), ("amina", "handoff.reply")]
    assert rows[2][4:] == ["'=1+2", '{"text": "salam"}']  # a spreadsheet shows it as text


async def test_every_account_change_leaves_one_audit_entry(console):
    token = await console_login(console, CONSOLE_ADMIN)
    with console.database.session() as session:
        before = len(session.execute(select(AuditEntry.id)).all())

    await create(console, token)
    youssef = account_id(console.database, "youssef")
    for path, form in (
        (f"/admin/accounts/{youssef}/role", {"role": "admin"}),
        (f"/admin/accounts/{youssef}/active", {"active": "0"}),
        (f"/admin/accounts/{youssef}/active", {"active": "1"}),
        (f"/admin/accounts/{youssef}/password", {"password": "another passphrase!"}),
    ):
        await console.post(path, data={"csrf_token": token, **form})

    with console.database.session() as session:
        actions = list(session.execute(
            select(AuditEntry.action).where(AuditEntry.entity_id == "youssef").order_by(AuditEntry.id)
        ).scalars())
        total = len(session.execute(select(AuditEntry.id)).all())
    assert actions == ["account.create", "account.role", "account.deactivate",
                       "account.reactivate", "account.password_reset"]
    assert total - before == 5
