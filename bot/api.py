"""`/api/v1`: the JSON API for integrations, authenticated with `sawt token create` tokens."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot.appkeys import BROADCASTS, DATABASE
from bot.broadcast.audience import AudienceError, validate_audience
from bot.broadcast.engine import BroadcastError, validate_template, validate_text
from bot.db.access import token_owner

TOKEN_NAME = "api_token_name"

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
    engine = request.config_dict[BROADCASTS]
    broadcast_id = await asyncio.get_running_loop().run_in_executor(
        None, lambda: engine.create(text, audience, template, scheduled_at, request[TOKEN_NAME])
    )
    return web.json_response({"id": broadcast_id}, status=201)


async def broadcast_status(request: web.Request) -> web.Response:
    try:
        broadcast_id = int(request.match_info["id"])
    except ValueError:
        return _error(404, "no such broadcast")
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
