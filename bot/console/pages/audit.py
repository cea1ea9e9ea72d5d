"""The audit log, for admins: who changed what and when, filtered by user or action, and as CSV."""
from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import urlencode

from aiohttp import web

from bot.console.web import admin_only, csv_response, render, run_db
from bot.db.audit_log import AuditFilter, AuditRow, audit_choices, audit_export, audit_page

# A spreadsheet runs a cell starting with one of these as a formula: an audited text
# (an agent's reply, a display name) must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _filter(request: web.Request) -> AuditFilter:
    return AuditFilter(
        actor=request.query.get("actor") or None, action=request.query.get("action") or None
    )


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


def details_text(details: Optional[dict[str, Any]]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _query(where: AuditFilter, **extra: Any) -> str:
    params = {"actor": where.actor or "", "action": where.action or "", **extra}
    return urlencode({key: value for key, value in params.items() if value})


@admin_only
async def audit_list(request: web.Request) -> web.Response:
    where = _filter(request)
    page = await run_db(request, audit_page, where, _page_number(request))
    actors, actions = await run_db(request, audit_choices)
    return render(
        request, "audit/list.html", page=page, where=where, actors=actors, actions=actions,
        details_text=details_text,
        previous_query=_query(where, page=page.page - 1) if page.page > 1 else None,
        next_query=_query(where, page=page.page + 1) if page.page < page.pages else None,
        export_query=_query(where),
    )


@admin_only
async def audit_csv(request: web.Request) -> web.Response:
    rows: list[AuditRow] = await run_db(request, audit_export, _filter(request))
    return csv_response(
        "audit.csv",
        ("at_utc", "actor", "action", "entity", "entity_id", "details"),
        (
            (row.at.isoformat(timespec="seconds"), _cell(row.actor), _cell(row.action),
             _cell(row.entity), _cell(row.entity_id), _cell(details_text(row.details)))
            for row in rows
        ),
    )


def add_routes(console: web.Application) -> None:
    console.router.add_get("/audit", audit_list)
    console.router.add_get("/audit.csv", audit_csv)
