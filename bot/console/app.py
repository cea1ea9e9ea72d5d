"""The console sub-application: sessions, CSRF, roles, and its pages.

The pages themselves live in `bot/console/pages/` (one module per section, each with
`add_routes`). Every page but the login form needs a session (else a redirect to /admin/login); every
state-changing form carries the session's CSRF token (else 403); admin-only pages check the
role (else 403). Handlers run their database work off the event loop.
"""
from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import secrets
from pathlib import Path
from typing import Optional
from urllib.parse import quote, urlparse

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.appkeys import SETTINGS
from bot.console import pages
from bot.console.i18n import CONSOLE_LANGUAGES, translator
from bot.console.web import (
    AGENT,
    LANGUAGE_COOKIE,
    Handler,
    console_language,
    forbidden,
    render,
    run_db,
)
from bot.db import console as accounts
from bot.db.console import Agent, LoginRefused

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "sawt_session"
PUBLIC_PATHS = ("/admin/login", "/admin/static/")


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request[AGENT] = await run_db(request, accounts.agent_for_session, token)
    if request.get(AGENT) is None and not request.path.startswith(PUBLIC_PATHS):
        raise web.HTTPFound(f"/admin/login?next={quote(request.path_qs)}")
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Forms of a session carry its token; the login form is checked by origin instead
    (CONTRACT §5 names only `username` and `password` for it)."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.path == "/admin/login":
            origin = request.headers.get("Origin")
            if origin and urlparse(origin).netloc != request.host:
                return forbidden(request, "csrf_failed")
        else:
            agent: Optional[Agent] = request.get(AGENT)
            sent = request.headers.get("X-CSRF-Token", "")
            if not sent and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data"
            ):
                sent = str((await request.post()).get("csrf_token") or "")
            if agent is None or not secrets.compare_digest(str(sent), agent.csrf_token):
                return forbidden(request, "csrf_failed")
    return await handler(request)


# ---- pages ---------------------------------------------------------------------------------
async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html", error=None, next=request.query.get("next", "/admin/"))


def _safe_next(target: str) -> str:
    """Only a path inside the console: never an open redirect."""
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin/"


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    _ = translator(console_language(request))
    try:
        account_id = await run_db(request, accounts.authenticate, username, password)
    except LoginRefused as refused:
        if refused.locked_until is not None:
            error = _("login_locked", until=refused.locked_until.strftime("%H:%M"))
        else:
            error = _("login_invalid")
        response = render(request, "login.html", error=error, next=form.get("next", "/admin/"))
        response.set_status(429 if refused.reason == "locked" else 401)
        return response
    token = await run_db(request, accounts.open_session, account_id)
    await run_db(request, accounts.audit, username.strip().lower(), "login")
    response = web.HTTPFound(_safe_next(str(form.get("next", "/admin/"))))
    secure = (request.config_dict[SETTINGS].public_url or "").startswith("https://")
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=secure,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()), path="/admin",
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_db(request, accounts.close_session, token)
    response = web.HTTPFound("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/admin")
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    language = str(form.get("language", "fr"))
    response = web.HTTPFound(_safe_next(str(form.get("next", "/admin/"))))
    if language in CONSOLE_LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, path="/admin", samesite="Lax",
                            max_age=int(dt.timedelta(days=365).total_seconds()))
    raise response


async def home(request: web.Request) -> web.Response:
    from bot.db.dashboard import home_counts

    counts = await run_db(request, home_counts)
    return render(request, "home.html", counts=counts)


def create_console() -> web.Application:
    console = web.Application(middlewares=[session_middleware, csrf_middleware])
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    console.router.add_get("/login", login_form)
    console.router.add_post("/login", login)
    console.router.add_post("/logout", logout)
    console.router.add_post("/language", switch_language)
    console.router.add_get("/", home)
    console.router.add_static("/static/", HERE / "static")
    for page in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"{pages.__name__}.{page.name}").add_routes(console)
    return console
