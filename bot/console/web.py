"""What every console page needs: the signed-in agent, rendering, roles, database calls, CSV.

Page modules (`bot/console/pages/*.py`) import from here, never from `app.py`, and each
exposes `add_routes(console)`; `create_console` finds them all.
"""
from __future__ import annotations

import asyncio
import csv
import io
from typing import Any, Awaitable, Callable, Iterable, Optional, Sequence

import aiohttp_jinja2
from aiohttp import web

from bot.appkeys import DATABASE
from bot.console.i18n import CONSOLE_LANGUAGES, RTL, translator
from bot.db.console import Agent

AGENT = "agent"
LANGUAGE_COOKIE = "sawt_console_lang"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def run_db(request: web.Request, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(database, *args)` on a worker thread: SQL never blocks the gateway's loop."""
    return await asyncio.get_running_loop().run_in_executor(
        None, fn, request.config_dict[DATABASE], *args
    )


def current_agent(request: web.Request) -> Agent:
    """The signed-in agent (the session middleware guarantees one on every non-public page)."""
    agent: Optional[Agent] = request.get(AGENT)
    if agent is None:
        raise web.HTTPFound("/admin/login")
    return agent


def console_language(request: web.Request) -> str:
    agent: Optional[Agent] = request.get(AGENT)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in CONSOLE_LANGUAGES:
        return str(chosen)
    return agent.language if agent else "fr"


def forbidden(request: web.Request, key: str) -> web.Response:
    _ = translator(console_language(request))
    return web.Response(status=403, text=_(key), content_type="text/plain")


def admin_only(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        agent: Optional[Agent] = request.get(AGENT)
        if agent is None or not agent.is_admin:
            return forbidden(request, "forbidden")
        return await handler(request)

    return wrapped


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    language = console_language(request)
    agent: Optional[Agent] = request.get(AGENT)
    return aiohttp_jinja2.render_template(
        template,
        request,
        {
            "_": translator(language),
            "lang": language,
            "dir": "rtl" if language in RTL else "ltr",
            "agent": agent,
            "csrf_token": agent.csrf_token if agent else "",
            "path": request.path,
            **context,
        },
    )


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> web.Response:
    """A table as CSV (UTF-8 with BOM, so a spreadsheet opens Arabic text correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return web.Response(
        body=("\ufeff" + buffer.getvalue()).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
