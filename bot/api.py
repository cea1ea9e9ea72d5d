"""`/api/v1`: the JSON API for integrations, authenticated with `sawt token create` tokens."""
from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot.appkeys import BROADCASTS, DATABASE, SETTINGS
from bot.broadcast.audience import AudienceError, validate_audience
from bot.broadcast.engine import BroadcastError, validate_template, validate_text
from bot.db.access import token_owner
from bot.db.console import audit
from bot.db.content import list_districts
from bot.db.models import SUBSCRIPTION_TOPICS
from bot.i18n import LANGUAGES
from bot.identity import PLATFORM_CHANNELS

TOKEN_NAME = "api_token_name"
# A broadcast id as the database stores it: ASCII digits within a signed 64-bit integer
# (`int()` alone also takes "0_1", Arabic-Indic digits, and numbers SQLite cannot bind).
BROADCAST_ID = re.compile(r"[0-9]{1,18}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="sawt"'} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "missing bearer token (create one with `sawt token create NAME`)")
    loop = asyncio.get_running_loop()
    owner = await loop.run_in_executor(None, token_owner, request.config_dict[DATABASE], token.strip())
    if owner is None:
        return _error(401, "invalid or revoked token")
    request[TOKEN_NAME] = owner
    return await handler(request)


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise BroadcastError("scheduled_at must be an ISO 8601 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BroadcastError(f"scheduled_at: {error}") from error
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _check_choices(audience: dict[str, list[str]], districts: list[str]) -> None:
    """Refuse a value that is not a choice, as the console's form does: a typo ("Telegram",
    "medina ") would otherwise silently send the broadcast to nobody."""
    allowed = {
        "channels": PLATFORM_CHANNELS, "languages": LANGUAGES,
        "districts": districts, "topics": SUBSCRIPTION_TOPICS,
    }
    for key, values in audience.items():
        unknown = [v for v in values if v not in allowed[key]]
        if unknown:
            raise AudienceError(
                f"audience.{key}: unknown {', '.join(unknown)} "
                f"(one of: {', '.join(allowed[key])})"
            )


async def create_broadcast(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    try:
        text = validate_text(body.get("text"))
        audience = validate_audience(body.get("audience"))
        scheduled_at = _parse_time(body["scheduled_at"]) if body.get("scheduled_at") else None
        template = validate_template(body.get("template"))
    except (BroadcastError, AudienceError) as error:
        return _error(400, str(error))
    loop = asyncio.get_running_loop()
    districts = await loop.run_in_executor(
        None, list_districts, request.config_dict[DATABASE],
        request.config_dict[SETTINGS].commune_slug,
    ) if audience.get("districts") else []
    try:
        _check_choices(audience, [district.slug for district in districts])
    except AudienceError as error:
        return _error(400, str(error))
    engine = request.config_dict[BROADCASTS]
    broadcast_id = await loop.run_in_executor(
        None, lambda: engine.create(text, audience, template, scheduled_at, request[TOKEN_NAME])
    )
    # In the console's audit log too, beside the agents' own broadcasts.
    await loop.run_in_executor(
        None, audit, request.config_dict[DATABASE], f"api:{request[TOKEN_NAME]}"[:64],
        "broadcast_create", "broadcast", str(broadcast_id),
        {"audience": audience, "scheduled_at": scheduled_at.isoformat() if scheduled_at else None},
    )
    return web.json_response({"id": broadcast_id}, status=201)


async def broadcast_status(request: web.Request) -> web.Response:
    if not BROADCAST_ID.fullmatch(request.match_info["id"]):
        return _error(404, "no such broadcast")
    broadcast_id = int(request.match_info["id"])
    engine = request.config_dict[BROADCASTS]
    progress = await asyncio.get_running_loop().run_in_executor(None, engine.progress, broadcast_id)
    if progress is None:
        return _error(404, "no such broadcast")
    return web.json_response(progress)


def create_api() -> web.Application:
    """A sub-application mounted at `/api/v1`, with its own authentication middleware; it
    reads the database and broadcast engine from the gateway's state."""
    api = web.Application(middlewares=[bearer_auth])
    api.router.add_post("/broadcasts", create_broadcast)
    api.router.add_get("/broadcasts/{id}", broadcast_status)
    return api
