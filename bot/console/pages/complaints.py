"""Complaints and applications: the filtered inbox, one record, its status, the CSV export.

Both roles use these pages (handling complaints is the agents' daily work). A complaint's new
status is written with its history and audit entry first, then the citizen is messaged on
their own channel in their own language; the agent sees at once whether the message could be
queued (a web-chat citizen or a closed WhatsApp window cannot be reached).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Mapping, Optional
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.appkeys import NOTIFIER, SETTINGS
from bot.channels.base import Reply
from bot.console.i18n import translator
from bot.console.photos import photo_file
from bot.console.web import console_language, csv_response, current_agent, render, run_db
from bot.db import complaints_admin as records
from bot.db.complaints_admin import (
    ApplicationFilters,
    CitizenNotice,
    ComplaintFilters,
    StatusRefused,
)
from bot.db.models import APPLICATION_STATUSES, COMPLAINT_CATEGORIES, COMPLAINT_STATUSES
from bot.i18n import pick

logger = logging.getLogger(__name__)

# What the agent is told after a change; anything else in the query string is ignored.
NOTICE_OUTCOMES = ("queued", "no_channel", "window_closed", "blocked", "failed", "none")
FORM_ERRORS = ("unknown_status", "unchanged", "note_too_long")


def _commune(request: web.Request) -> str:
    return request.config_dict[SETTINGS].commune_slug


def _content_language(request: web.Request) -> str:
    """Which language of the commune's content an agent reads: Arabic script for `ar`."""
    return "ary" if console_language(request) == "ar" else "fr"


def _date(value: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _page_number(query: Mapping[str, str]) -> int:
    try:
        return max(1, int(query.get("page", "1")))
    except ValueError:
        return 1


def _one_of(value: Optional[str], allowed: tuple[str, ...]) -> Optional[str]:
    return value if value in allowed else None


def complaint_filters(query: Mapping[str, str]) -> ComplaintFilters:
    """The filters of the query string; an unknown value filters nothing rather than failing."""
    return ComplaintFilters(
        status=_one_of(query.get("status"), COMPLAINT_STATUSES),
        category=_one_of(query.get("category"), COMPLAINT_CATEGORIES),
        district=query.get("district") or None,
        date_from=_date(query.get("from")),
        date_to=_date(query.get("to")),
        text=(query.get("q") or "").strip()[:100] or None,
    )


def application_filters(query: Mapping[str, str]) -> ApplicationFilters:
    return ApplicationFilters(
        status=_one_of(query.get("status"), APPLICATION_STATUSES),
        procedure=query.get("procedure") or None,
        date_from=_date(query.get("from")),
        date_to=_date(query.get("to")),
        text=(query.get("q") or "").strip()[:100] or None,
    )


def _query_of(filters: ComplaintFilters | ApplicationFilters) -> dict[str, str]:
    """The filters back as query parameters (for the form, the pager and the CSV link)."""
    raw = {
        "status": filters.status,
        "category": getattr(filters, "category", None),
        "district": getattr(filters, "district", None),
        "procedure": getattr(filters, "procedure", None),
        "from": filters.date_from.isoformat() if filters.date_from else None,
        "to": filters.date_to.isoformat() if filters.date_to else None,
        "q": filters.text,
    }
    return {key: value for key, value in raw.items() if value}


def _when(moment: Optional[dt.datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _cell(text: Optional[str]) -> str:
    """Citizens' free text in a CSV: a leading = + - @ would run as a spreadsheet formula."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _view(request: web.Request, **context: Any) -> dict[str, Any]:
    """What every page of the section gives its template."""
    language = _content_language(request)
    return {
        "name_of": lambda texts: pick(texts, language),
        "when": _when,
        **context,
    }


async def notify_citizen(request: web.Request, notice: Optional[CitizenNotice]) -> str:
    """Queue the citizen's message off the event loop; returns the outcome shown to the agent."""
    if notice is None:
        return "none"
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            None, request.config_dict[NOTIFIER].send, notice.channel, notice.user_id,
            Reply(text=notice.text), notice.language,
        )
    except Exception:  # the status is saved; the agent must know the citizen was not told
        logger.exception("could not notify %s:%s", notice.channel, notice.user_id)
        return "failed"
    if result.ok:
        return "queued"
    return result.reason if result.reason in NOTICE_OUTCOMES else "failed"


def _outcome(request: web.Request) -> dict[str, Optional[str]]:
    changed = request.query.get("changed")
    notice = request.query.get("notice")
    return {
        "changed": changed if changed in COMPLAINT_STATUSES + APPLICATION_STATUSES else None,
        "notice": notice if notice in NOTICE_OUTCOMES else None,
    }


# ---- complaints ---------------------------------------------------------------------------------
async def complaints_list(request: web.Request) -> web.Response:
    filters = complaint_filters(request.query)
    page = await run_db(
        request, records.list_complaints, _commune(request), filters, _page_number(request.query)
    )
    choices = await run_db(request, records.filter_choices, _commune(request))
    query = _query_of(filters)
    return render(
        request, "complaints/list.html",
        **_view(request, page=page, filters=query, choices=choices, query=urlencode(query)),
    )


async def complaints_csv(request: web.Request) -> web.Response:
    filters = complaint_filters(request.query)
    rows = await run_db(request, records.export_complaints, _commune(request), filters)
    _ = translator(console_language(request))
    language = _content_language(request)
    header = [
        _(f"complaints_col_{column}") for column in (
            "reference", "date", "updated", "status", "category", "district", "channel",
            "language", "description", "place", "latitude", "longitude", "photo",
        )
    ]
    return csv_response(
        "reclamations.csv", header,
        (
            [
                row.reference, _when(row.created_at), _when(row.updated_at),
                _(f"complaints_status_{row.status}"), _(f"complaints_category_{row.category}"),
                pick(row.district.name, language) if row.district else "",
                _(f"complaints_channel_{row.channel}"), _(f"complaints_lang_{row.language}"),
                _cell(row.description), _cell(row.place_text),
                "" if row.latitude is None else row.latitude,
                "" if row.longitude is None else row.longitude,
                _("complaints_yes") if row.photo_path else "",
            ]
            for row in rows
        ),
    )


async def _complaint_page(
    request: web.Request, error: Optional[str] = None, status: int = 200
) -> web.Response:
    complaint = await run_db(
        request, records.complaint_detail, _commune(request), request.match_info["reference"]
    )
    if complaint is None:
        raise web.HTTPNotFound(text=translator(console_language(request))("complaints_not_found"))
    media_dir = request.config_dict[SETTINGS].media_dir
    photo = await asyncio.get_running_loop().run_in_executor(
        None, photo_file, media_dir, complaint.photo_path
    )
    response = render(
        request, "complaints/complaint.html",
        **_view(
            request, complaint=complaint, has_photo=photo is not None,
            statuses=COMPLAINT_STATUSES, error=error if error in FORM_ERRORS else None,
            **_outcome(request),
        ),
    )
    response.set_status(status)
    return response


async def complaint_detail(request: web.Request) -> web.Response:
    return await _complaint_page(request)


async def complaint_photo(request: web.Request) -> web.StreamResponse:
    complaint = await run_db(
        request, records.complaint_detail, _commune(request), request.match_info["reference"]
    )
    media_dir = request.config_dict[SETTINGS].media_dir
    path = None
    if complaint is not None:
        path = await asyncio.get_running_loop().run_in_executor(
            None, photo_file, media_dir, complaint.photo_path
        )
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
    })


async def complaint_status(request: web.Request) -> web.StreamResponse:
    agent = current_agent(request)
    reference = request.match_info["reference"]
    form = await request.post()
    try:
        change = await run_db(
            request, records.change_complaint_status, _commune(request), reference,
            str(form.get("status", "")), str(form.get("note", "")), agent.username,
        )
    except StatusRefused as refused:
        if refused.reason == "not_found":
            raise web.HTTPNotFound()
        return await _complaint_page(request, error=refused.reason, status=400)
    notice = await notify_citizen(request, change.notice)
    raise web.HTTPSeeOther(
        f"/admin/complaints/{quote(reference)}?"
        + urlencode({"changed": change.status, "notice": notice})
    )


# ---- applications -------------------------------------------------------------------------------
async def applications_list(request: web.Request) -> web.Response:
    filters = application_filters(request.query)
    page = await run_db(
        request, records.list_applications, _commune(request), filters,
        _page_number(request.query),
    )
    choices = await run_db(request, records.filter_choices, _commune(request))
    query = _query_of(filters)
    return render(
        request, "complaints/applications.html",
        **_view(request, page=page, filters=query, choices=choices, query=urlencode(query)),
    )


async def applications_csv(request: web.Request) -> web.Response:
    filters = application_filters(request.query)
    rows = await run_db(request, records.export_applications, _commune(request), filters)
    _ = translator(console_language(request))
    language = _content_language(request)
    header = [
        _(f"complaints_col_{column}")
        for column in ("reference", "submitted", "updated", "procedure", "status", "note")
    ]
    return csv_response(
        "dossiers.csv", header,
        (
            [
                row.reference, _when(row.submitted_at), _when(row.updated_at),
                pick(row.procedure.name, language), _(f"applications_status_{row.status}"),
                _cell(pick(row.note, language)),
            ]
            for row in rows
        ),
    )


async def _application_page(
    request: web.Request, error: Optional[str] = None, status: int = 200
) -> web.Response:
    application = await run_db(
        request, records.application_detail, _commune(request), request.match_info["reference"]
    )
    if application is None:
        raise web.HTTPNotFound(text=translator(console_language(request))("complaints_not_found"))
    response = render(
        request, "complaints/application.html",
        **_view(
            request, application=application, statuses=APPLICATION_STATUSES,
            error=error if error in FORM_ERRORS else None, **_outcome(request),
        ),
    )
    response.set_status(status)
    return response


async def application_detail(request: web.Request) -> web.Response:
    return await _application_page(request)


async def application_status(request: web.Request) -> web.StreamResponse:
    agent = current_agent(request)
    reference = request.match_info["reference"]
    form = await request.post()
    try:
        change = await run_db(
            request, records.change_application_status, _commune(request), reference,
            str(form.get("status", "")), str(form.get("note", "")), agent.username,
        )
    except StatusRefused as refused:
        if refused.reason == "not_found":
            raise web.HTTPNotFound()
        return await _application_page(request, error=refused.reason, status=400)
    notice = await notify_citizen(request, change.notice)
    raise web.HTTPSeeOther(
        f"/admin/applications/{quote(reference)}?"
        + urlencode({"changed": change.status, "notice": notice})
    )


def add_routes(console: web.Application) -> None:
    router = console.router
    router.add_get("/complaints", complaints_list)
    router.add_get("/complaints.csv", complaints_csv)
    router.add_get("/complaints/{reference}", complaint_detail)
    router.add_get("/complaints/{reference}/photo", complaint_photo)
    router.add_post("/complaints/{reference}/status", complaint_status)
    router.add_get("/applications", applications_list)
    router.add_get("/applications.csv", applications_csv)
    router.add_get("/applications/{reference}", application_detail)
    router.add_post("/applications/{reference}/status", application_status)
