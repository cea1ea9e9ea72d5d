"""Content pages: list and edit what the assistant answers from (agents and admins alike).

Procedures, taxes, offices and consultations (with their options) are edited in fr / ary /
ary_latn side by side. A save redirects (`?saved=1`) so a reload never posts twice; a refused
form comes back with what the agent typed and the reasons in the agent's language. The rules
and the audit entry are in the data layer (`bot.db.content_admin`); this module only turns
HTTP forms into its calls and its answers into pages.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional, Sequence

from aiohttp import web

from bot.appkeys import SETTINGS
from bot.console.i18n import translator
from bot.console.web import Handler, console_language, current_agent, render, run_db
from bot.db import content_admin as content
from bot.db.content_fields import Field, FieldError, Invalid
from bot.i18n import pick, t

STALE_AFTER = dt.timedelta(days=365)


def _commune(request: web.Request) -> str:
    return request.config_dict[SETTINGS].commune_slug


def _local(request: web.Request) -> Callable[[Any], str]:
    """A row's multilingual text in the agent's reading language (Arabic script for "ar")."""
    language = "ary" if console_language(request) == "ar" else "fr"
    return lambda value: pick(value, language) if value else ""


async def _form(request: web.Request) -> dict[str, str]:
    posted = await request.post()
    return {key: str(value) for key, value in posted.items() if key != "csrf_token"}


def _messages(request: web.Request, errors: Sequence[FieldError]) -> dict[str, list[str]]:
    """Field name → its error texts, in the agent's language."""
    _ = translator(console_language(request))
    found: dict[str, list[str]] = {}
    for error in errors:
        languages = _("content_list_separator").join(
            _(f"content_lang_{lang}") for lang in error.languages
        )
        text = _(error.key, languages=languages, **error.params)
        if "row" in error.params:
            text = f"{_('content_row', row=error.params['row'])} : {text}"
        found.setdefault(error.field, []).append(text)
    return found


def _saved(target: str, changed: bool = True, anchor: str = "") -> web.HTTPFound:
    """Redirect after a post: a reload shows the page, it does not post again."""
    return web.HTTPFound(f"{target}?saved={'1' if changed else '0'}{anchor}")


# ---- index and lists ---------------------------------------------------------------------------
async def index(request: web.Request) -> web.Response:
    counts = await run_db(request, content.content_counts, _commune(request))
    return render(request, "content/index.html", counts=counts, kinds=list(content.KINDS))


# Procedures and taxes show the same columns (name, key, languages, last verified).
LIST_TEMPLATES = {"procedures": "subjects", "taxes": "subjects"}


def _list_page(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        items = await run_db(request, content.list_items, _commune(request), kind)
        today = dt.date.today()
        return render(
            request, f"content/list_{LIST_TEMPLATES.get(kind, kind)}.html", kind=kind, items=items,
            local=_local(request),
            stale=lambda day: day is None or today - day > STALE_AFTER,
        )

    return handler


# ---- edit forms ------------------------------------------------------------------------------
def _edit_response(
    request: web.Request, view: content.EditView, fields: Sequence[Field], *,
    values: Optional[dict[str, str]] = None, errors: Sequence[FieldError] = (),
    option_values: Optional[dict[str, str]] = None, option_errors: Sequence[FieldError] = (),
    status: int = 200,
) -> web.Response:
    shown = values if values is not None else view.values
    verified = shown.get("last_verified", "")
    response = render(
        request, "content/edit.html", view=view, fields=fields, values=shown,
        errors=_messages(request, errors), option_values=option_values or {},
        option_errors=_messages(request, option_errors), local=_local(request),
        saved=request.query.get("saved"), is_new=not view.key,
        choices={"office": view.offices, "district": view.districts},
        statuses=content.CONSULTATION_STATUSES,
        verified_note=t("last_verified", "fr", date=verified).strip() if verified else "",
    )
    response.set_status(status)
    return response


async def _view(request: web.Request, kind: str, key: str) -> content.EditView:
    view = await run_db(request, content.edit_view, _commune(request), kind, key)
    if view is None:
        raise web.HTTPNotFound(text=translator(console_language(request))("content_not_found"))
    return view


def _edit_page(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        view = await _view(request, kind, request.match_info["key"])
        return _edit_response(request, view, content.KINDS[kind].fields)

    return handler


def _save(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        form = await _form(request)
        try:
            changed = await run_db(
                request, content.update_item, _commune(request), kind, key, form,
                current_agent(request).username,
            )
        except LookupError:
            raise web.HTTPNotFound() from None
        except Invalid as invalid:
            view = await _view(request, kind, key)
            return _edit_response(request, view, content.KINDS[kind].fields, values=form,
                                  errors=invalid.errors, status=400)
        raise _saved(f"/admin/content/{kind}/{key}", bool(changed))

    return handler


async def new_consultation_page(request: web.Request) -> web.Response:
    view = await run_db(request, content.new_consultation_view, _commune(request))
    return _edit_response(request, view, content.NEW_CONSULTATION_FIELDS)


async def create_consultation(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    try:
        slug = await run_db(request, content.create_consultation, _commune(request), form,
                            current_agent(request).username)
    except Invalid as invalid:
        view = await run_db(request, content.new_consultation_view, _commune(request))
        return _edit_response(request, view, content.NEW_CONSULTATION_FIELDS, values=form,
                              errors=invalid.errors, status=400)
    raise _saved(f"/admin/content/consultations/{slug}")


# ---- consultation options -------------------------------------------------------------------
async def _option_refused(
    request: web.Request, slug: str, invalid: Invalid, form: dict[str, str], status: int
) -> web.Response:
    view = await _view(request, "consultations", slug)
    return _edit_response(request, view, content.CONSULTATION_FIELDS, option_values=form,
                          option_errors=invalid.errors, status=status)


async def add_option(request: web.Request) -> web.StreamResponse:
    slug = request.match_info["key"]
    form = await _form(request)
    try:
        await run_db(request, content.add_option, _commune(request), slug, form,
                     current_agent(request).username)
    except LookupError:
        raise web.HTTPNotFound() from None
    except Invalid as invalid:
        return await _option_refused(request, slug, invalid, form, 400)
    raise _saved(f"/admin/content/consultations/{slug}", anchor="#options")


async def update_option(request: web.Request) -> web.StreamResponse:
    slug, key = request.match_info["key"], request.match_info["option"]
    form = await _form(request)
    try:
        changed = await run_db(request, content.update_option, _commune(request), slug, key,
                               form, current_agent(request).username)
    except LookupError:
        raise web.HTTPNotFound() from None
    except Invalid as invalid:
        return await _option_refused(request, slug, invalid, {"_option": key, **form}, 400)
    raise _saved(f"/admin/content/consultations/{slug}", changed, "#options")


async def remove_option(request: web.Request) -> web.StreamResponse:
    slug, key = request.match_info["key"], request.match_info["option"]
    try:
        await run_db(request, content.remove_option, _commune(request), slug, key,
                     current_agent(request).username)
    except LookupError:
        raise web.HTTPNotFound() from None
    except Invalid as invalid:
        return await _option_refused(request, slug, invalid, {}, 409)
    raise _saved(f"/admin/content/consultations/{slug}", anchor="#options")


def add_routes(console: web.Application) -> None:
    router = console.router
    router.add_get("/content", index)
    # Before `/content/consultations/{key}`, which "new" would match too.
    router.add_get("/content/consultations/new", new_consultation_page)
    router.add_post("/content/consultations/new", create_consultation)
    for kind in content.KINDS:
        router.add_get(f"/content/{kind}", _list_page(kind))
        router.add_get(f"/content/{kind}/{{key}}", _edit_page(kind))
        router.add_post(f"/content/{kind}/{{key}}", _save(kind))
    router.add_post("/content/consultations/{key}/options", add_option)
    router.add_post("/content/consultations/{key}/options/{option}", update_option)
    router.add_post("/content/consultations/{key}/options/{option}/delete", remove_option)
