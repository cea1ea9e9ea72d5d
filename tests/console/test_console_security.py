"""The console's doors: login, sessions, CSRF, lock-out, roles."""
from __future__ import annotations


import pytest

from bot.db.console import create_account
from tests.conftest import csrf_of


async def login(client, username="admin", password="correct horse battery"):
    return await client.post(
        "/admin/login", data={"username": username, "password": password}, allow_redirects=False
    )


async def test_every_admin_page_without_a_session_redirects_to_login(console):
    for path in ("/admin/", "/admin"):
        response = await console.get(path, allow_redirects=False)
        assert response.status == 302
    response = await console.get("/admin/", allow_redirects=False)
    assert response.headers["Location"].startswith("/admin/login")


async def test_login_form_has_the_contract_fields(console):
    page = await (await console.get("/admin/login")).text()
    assert 'name="username"' in page and 'name="password"' in page


async def test_first_admin_from_settings_can_log_in_and_see_the_dashboard(console):
    response = await login(console)
    assert response.status == 302 and response.headers["Location"] == "/admin/"
    cookie = response.cookies["sawt_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = await (await console.get("/admin/")).text()
    assert "Tableau de bord" in page


async def test_wrong_password_is_refused_without_a_session(console):
    response = await login(console, password="nope nope nope")
    assert response.status == 401
    assert (await console.get("/admin/", allow_redirects=False)).status == 302


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(console):
    for _ in range(5):
        await login(console, password="wrong password!")
    response = await login(console)
    assert response.status == 429
    assert "bloqué" in await response.text()


async def test_form_without_csrf_token_is_forbidden(console):
    await login(console)
    response = await console.post("/admin/language", data={"language": "ar"}, allow_redirects=False)
    assert response.status == 403


async def test_form_with_the_session_csrf_token_is_accepted_and_arabic_is_right_to_left(console):
    await login(console)
    token = csrf_of(await (await console.get("/admin/")).text())
    response = await console.post(
        "/admin/language", data={"language": "ar", "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 302
    page = await (await console.get("/admin/")).text()
    assert 'dir="rtl"' in page and 'lang="ar"' in page


async def test_logout_ends_the_session(console):
    await login(console)
    token = csrf_of(await (await console.get("/admin/")).text())
    await console.post("/admin/logout", data={"csrf_token": token}, allow_redirects=False)
    assert (await console.get("/admin/", allow_redirects=False)).status == 302


async def test_login_from_another_origin_is_refused(console):
    response = await console.post(
        "/admin/login",
        data={"username": "admin", "password": "correct horse battery"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_next_parameter_cannot_redirect_outside_the_console(console):
    response = await console.post(
        "/admin/login",
        data={"username": "admin", "password": "correct horse battery", "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/admin/"


def test_agent_accounts_need_a_real_password(empty_db):
    with pytest.raises(ValueError):
        create_account(empty_db, "amina", "short", role="agent")
