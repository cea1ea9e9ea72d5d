"""Broadcasts: the list, the new-broadcast form (preview, confirmation, creation), one
broadcast's live progress and delivery report, cancelling a scheduled one, the subscribers.

Both roles may announce (it is the commune's daily work); exporting the whole subscriber list
is for administrators. Creation goes through `BroadcastEngine.create`, which the sending side
also uses, and the confirmation shows the engine's own estimate of who will be reached — how
many WhatsApp citizens are outside the 24-hour window, and so skipped without a template.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

from aiohttp import web

from bot.appkeys import BROADCASTS, SETTINGS
from bot.broadcast.engine import BroadcastEngine
from bot.console.broadcast_form import (
    Choices,
    Draft,
    local_time,
    previews,
    read_audience,
    read_draft,
)
from bot.console.i18n import texts
from bot.console.web import admin_only, console_language, csv_response, current_agent, render, run_db
from bot.db import broadcasts as records
from bot.db import subscribers_admin as subscribers
from bot.db.console import audit
from bot.db.content import list_districts
from bot.db.models import SUBSCRIPTION_TOPICS, utcnow
from bot.i18n import LANGUAGES, pick
from bot.identity import PLATFORM_CHANNELS

# A broadcast in these states changes no more: the page stops polling.
FINISHED = ("done", "cancelled")


def _engine(request: web.Request) -> BroadcastEngine:
    return request.config_dict[BROADCASTS]


async def _off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _commune(request: web.Request) -> str:
    return request.config_dict[SETTINGS].commune_slug


def _content_language(request: web.Request) -> str:
    """District names in the agent's script: Arabic for `ar`, else French."""
    return "ary" if console_language(request) == "ar" else "fr"


async def _districts(request: web.Request) -> list[tuple[str, str]]:
    rows = await run_db(request, list_districts, _commune(request))
    language = _content_language(request)
    return [(d.slug, pick(d.name, language)) for d in rows]


def _choices(districts: list[tuple[str, str]]) -> Choices:
    return Choices(
        channels=PLATFORM_CHANNELS, languages=LANGUAGES,
        districts=[slug for slug, _name in districts], topics=SUBSCRIPTION_TOPICS,
    )


def _broadcast_id(request: web.Request) -> int:
    return int(request.match_info["id"])  # the route only matches digits


def error_explanation(code: Optional[int]) -> str:
    """The console text key explaining a platform error code."""
    key = f"bc_err_{code}" if code is not None else "bc_err_none"
    return key if key in texts() else "bc_err_other"


def progress_payload(progress: dict[str, Any]) -> dict[str, Any]:
    """CONTRACT §5's progress, plus the share of deliveries with an outcome for the bar."""
    total, pending = int(progress["total"] or 0), int(progress["pending"] or 0)
    if progress["status"] == "done":
        percent = 100
    elif total > 0 and progress["status"] != "scheduled":
        percent = min(100, round(100 * (total - pending) / total))
    else:
        percent = 0
    return {**progress, "percent": percent, "finished": progress["status"] in FINISHED}


# ---- list ------------------------------------------------------------------------------------
async def list_page(request: web.Request) -> web.Response:
    before_text = request.query.get("before", "")
    before = int(before_text) if before_text.isdigit() else None
    rows = await run_db(request, records.list_broadcasts, before)
    older = rows[-1].id if len(rows) == records.PAGE_SIZE else None
    return render(request, "broadcasts/list.html", broadcasts=rows, older=older, local_time=local_time)


# ---- the form --------------------------------------------------------------------------------
async def _estimate(request: web.Request, audience: dict[str, list[str]], with_template: bool) -> dict[str, Any]:
    return await _off_loop(_engine(request).estimate, audience, with_template)


async def _render_form(
    request: web.Request, draft: Optional[Draft], districts: list[tuple[str, str]],
    estimate: Optional[dict[str, Any]] = None, status: int = 200,
) -> web.Response:
    if estimate is None:
        audience = draft.audience if draft else {}
        estimate = await _estimate(request, audience, bool(draft and draft.template))
    response = render(
        request, "broadcasts/new.html", draft=draft, districts=districts,
        channels=PLATFORM_CHANNELS, languages=LANGUAGES, topics=SUBSCRIPTION_TOPICS,
        estimate=estimate, previews=previews(draft.texts if draft else {}),
    )
    response.set_status(status)
    return response


async def new_form(request: web.Request) -> web.Response:
    return await _render_form(request, None, await _districts(request))


async def submit(request: web.Request) -> web.StreamResponse:
    """One endpoint for the form's steps: `action` is preview, confirm, edit or create."""
    form = await request.post()
    districts = await _districts(request)
    draft = read_draft(form, _choices(districts), utcnow())
    action = str(form.get("action", "preview"))
    if action not in ("confirm", "create"):
        return await _render_form(request, draft, districts)
    if not draft.ok:
        return await _render_form(request, draft, districts, status=400)
    estimate = await _estimate(request, draft.audience, draft.template is not None)
    if action == "confirm":
        return render(
            request, "broadcasts/confirm.html", draft=draft, estimate=estimate,
            districts=dict(districts), scheduled=local_time(draft.scheduled_at),
        )
    agent = current_agent(request)
    existing = await run_db(
        request, records.recent_duplicate, agent.username, draft.text, draft.audience, draft.template
    )
    if existing is not None:
        raise web.HTTPFound(f"/admin/broadcasts/{existing}?duplicate=1")
    broadcast_id = await _off_loop(
        _engine(request).create, draft.text, draft.audience, draft.template, draft.scheduled_at,
        agent.username,
    )
    await run_db(request, audit, agent.username, "broadcast_create", "broadcast", str(broadcast_id), {
        "audience": draft.audience, "languages": sorted(draft.text),
        "template": draft.template["name"] if draft.template else None,
        "scheduled_at": draft.scheduled_at.isoformat() + "Z" if draft.scheduled_at else None,
        "estimated_recipients": estimate["total"],
    })
    raise web.HTTPFound(f"/admin/broadcasts/{broadcast_id}")


async def audience_count(request: web.Request) -> web.Response:
    """The live count of the form (its light JS calls it as the boxes are ticked)."""
    districts = await _districts(request)
    audience, valid = read_audience(request.query, _choices(districts))
    if not valid:
        return web.json_response({"error": "unknown audience value"}, status=400)
    with_template = bool(request.query.get("template_name", "").strip())
    return web.json_response(await _estimate(request, audience, with_template))


# ---- one broadcast ---------------------------------------------------------------------------
async def detail_page(request: web.Request) -> web.Response:
    broadcast_id = _broadcast_id(request)
    broadcast = await run_db(request, records.get_broadcast, broadcast_id)
    if broadcast is None:
        raise web.HTTPNotFound()
    report = await run_db(request, records.delivery_report, broadcast_id)
    progress = await _off_loop(_engine(request).progress, broadcast_id)
    return render(
        request, "broadcasts/detail.html", broadcast=broadcast, report=report,
        progress=progress_payload(progress), local_time=local_time,
        districts=dict(await _districts(request)), explain=error_explanation,
        duplicate=request.query.get("duplicate") == "1",
        cancel_refused=request.query.get("cancel") == "refused",
    )


async def progress_json(request: web.Request) -> web.Response:
    progress = await _off_loop(_engine(request).progress, _broadcast_id(request))
    if progress is None:
        return web.json_response({"error": "no such broadcast"}, status=404)
    return web.json_response(progress_payload(progress), headers={"Cache-Control": "no-store"})


async def deliveries_csv(request: web.Request) -> web.Response:
    broadcast_id = _broadcast_id(request)
    if await run_db(request, records.get_broadcast, broadcast_id) is None:
        raise web.HTTPNotFound()
    rows = await run_db(request, records.delivery_rows, broadcast_id)
    agent = current_agent(request)
    await run_db(request, audit, agent.username, "broadcast_deliveries_export", "broadcast",
                 str(broadcast_id), {"rows": len(rows)})
    return csv_response(f"broadcast-{broadcast_id}-deliveries.csv", records.DELIVERY_COLUMNS, rows)


async def cancel(request: web.Request) -> web.StreamResponse:
    broadcast_id = _broadcast_id(request)
    cancelled = await _off_loop(_engine(request).cancel, broadcast_id)
    if not cancelled:
        raise web.HTTPFound(f"/admin/broadcasts/{broadcast_id}?cancel=refused")
    agent = current_agent(request)
    await run_db(request, audit, agent.username, "broadcast_cancel", "broadcast", str(broadcast_id), {})
    raise web.HTTPFound(f"/admin/broadcasts/{broadcast_id}")


# ---- subscribers -----------------------------------------------------------------------------
async def subscribers_page(request: web.Request) -> web.Response:
    counts = await run_db(request, subscribers.subscriber_counts, _commune(request))
    return render(
        request, "broadcasts/subscribers.html", counts=counts,
        districts=dict(await _districts(request)),
    )


@admin_only
async def subscribers_csv(request: web.Request) -> web.Response:
    rows = await run_db(request, subscribers.subscriber_rows, _commune(request))
    agent = current_agent(request)
    await run_db(request, audit, agent.username, "subscribers_export", "subscribers", None, {"rows": len(rows)})
    return csv_response("subscribers.csv", subscribers.EXPORT_COLUMNS, rows)


def add_routes(console: web.Application) -> None:
    router = console.router
    router.add_get("/broadcasts", list_page)
    router.add_get("/broadcasts/new", new_form)
    router.add_post("/broadcasts/new", submit)
    router.add_get("/broadcasts/audience-count", audience_count)
    router.add_get("/broadcasts/subscribers", subscribers_page)
    router.add_get("/broadcasts/subscribers.csv", subscribers_csv)
    router.add_get(r"/broadcasts/{id:\d+}", detail_page)
    router.add_get(r"/broadcasts/{id:\d+}/progress.json", progress_json)
    router.add_get(r"/broadcasts/{id:\d+}/deliveries.csv", deliveries_csv)
    router.add_post(r"/broadcasts/{id:\d+}/cancel", cancel)
