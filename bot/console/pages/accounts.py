"""Console accounts, for admins: list, create, change role, deactivate / reactivate, reset password.

The rules (password length, the last active admin, sessions ending) are in `bot.db.accounts`;
a refused change is shown again on the same page with its reason and a 4xx status.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from aiohttp import web

from bot.console.web import admin_only, current_agent, render, run_db
from bot.db import accounts
from bot.db.accounts import Account, AccountError
from bot.db.console import ROLES

FLASHES = ("created", "role_changed", "deactivated", "reactivated", "password_reset")
# A refusal that is about the state of the accounts, not about what was typed.
CONFLICTS = ("accounts_last_admin", "accounts_username_taken")


def _account_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _status(error: AccountError) -> int:
    return 409 if error.key in CONFLICTS else 400


def _flash(request: web.Request) -> Optional[str]:
    flash = request.query.get("flash")
    return flash if flash in FLASHES else None


async def _list(request: web.Request, error: Optional[str] = None, form: Optional[dict[str, str]] = None,
                status: int = 200) -> web.Response:
    rows = await run_db(request, accounts.list_accounts)
    response = render(request, "accounts/list.html", accounts=rows, roles=ROLES, error=error,
                      form=form or {}, flash=_flash(request))
    response.set_status(status)
    return response


async def _detail(request: web.Request, error: Optional[str] = None, status: int = 200) -> web.Response:
    account: Optional[Account] = await run_db(request, accounts.get_account, _account_id(request))
    if account is None:
        raise web.HTTPNotFound()
    response = render(request, "accounts/detail.html", account=account, roles=ROLES, error=error,
                      flash=_flash(request))
    response.set_status(status)
    return response


@admin_only
async def list_page(request: web.Request) -> web.Response:
    return await _list(request)


@admin_only
async def create(request: web.Request) -> web.StreamResponse:
    form = {key: str(value) for key, value in (await request.post()).items()}
    try:
        await run_db(
            request, accounts.create, current_agent(request).username, form.get("username", ""),
            form.get("display_name", ""), form.get("role", "agent"), form.get("password", ""),
            form.get("language", "fr"),
        )
    except AccountError as refused:
        form.pop("password", None)
        form.pop("csrf_token", None)
        return await _list(request, refused.key, form, _status(refused))
    raise web.HTTPFound("/admin/accounts?flash=created")


@admin_only
async def detail_page(request: web.Request) -> web.Response:
    return await _detail(request)


async def _change(
    request: web.Request, flash: str, fn: Callable[..., Any], *args: Any,
    then: Optional[str] = None,
) -> web.StreamResponse:
    """Run one change on the account of the URL; back to its page (or `then`), with the outcome."""
    try:
        await run_db(request, fn, current_agent(request).username, _account_id(request), *args)
    except AccountError as refused:
        if refused.key == "accounts_not_found":
            raise web.HTTPNotFound()
        return await _detail(request, refused.key, _status(refused))
    raise web.HTTPFound(then or f"/admin/accounts/{_account_id(request)}?flash={flash}")


@admin_only
async def change_role(request: web.Request) -> web.StreamResponse:
    role = str((await request.post()).get("role", ""))
    # An admin who steps down may no longer see the accounts: home, not a 403.
    stepped_down = _account_id(request) == current_agent(request).id and role != "admin"
    return await _change(request, "role_changed", accounts.change_role, role,
                         then="/admin/" if stepped_down else None)


@admin_only
async def set_active(request: web.Request) -> web.StreamResponse:
    active = str((await request.post()).get("active", "")) == "1"
    return await _change(request, "reactivated" if active else "deactivated",
                         accounts.set_active, active)


@admin_only
async def reset_password(request: web.Request) -> web.StreamResponse:
    password = str((await request.post()).get("password", ""))
    return await _change(request, "password_reset", accounts.reset_password, password)


def add_routes(console: web.Application) -> None:
    console.router.add_get("/accounts", list_page)
    console.router.add_post("/accounts", create)
    console.router.add_get(r"/accounts/{id:\d+}", detail_page)
    console.router.add_post(r"/accounts/{id:\d+}/role", change_role)
    console.router.add_post(r"/accounts/{id:\d+}/active", set_active)
    console.router.add_post(r"/accounts/{id:\d+}/password", reset_password)
