"""The gateway: one aiohttp application hosting the channels, the brain, health and metrics.

`create_app(settings)` only wires; every resource is opened and closed in a `cleanup_ctx`
and kept under a typed `web.AppKey`. The model loads in the background after the server
starts listening, so `/healthz` can say "loading" instead of the port being closed.
"""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import aiohttp
from aiohttp import web

from bot.api import create_api
from bot.console.app import create_console
from bot.appkeys import (
    ACTION_PROBE,
    BRAIN,
    BRAIN_ERROR,
    BROADCASTS,
    CONVERSATIONS,
    DATABASE,
    HTTP,
    INBOX,
    METRICS,
    NOTIFIER,
    OUTBOX,
    SETTINGS,
)
from bot.brain import Brain
from bot.broadcast.engine import BroadcastEngine
from bot.channels.setup import channel_routes, make_transports, start_channels
from bot.conversation import CitizenMessage, Conversations
from bot.db.console import ensure_first_admin
from bot.db.session import Database
from bot.health import ActionServerProbe, database_ok
from bot.inbox import Inbox
from bot.notify import Notifier
from bot.outbox import Outbox
from bot.settings import Settings
from bot.telemetry import Metrics

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_BODY_BYTES = 256 * 1024


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def rest_webhook(request: web.Request) -> web.Response:
    """Rasa's REST channel: `{"sender", "message"}` → `[{"recipient_id", "text", "buttons"?}]`."""
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        return _json_error(400, "the body must be JSON: {\"sender\": \"…\", \"message\": \"…\"}")
    if not isinstance(body, dict):
        return _json_error(400, "the body must be a JSON object")
    sender = body.get("sender") or "default"
    message = body.get("message", "")
    if not isinstance(sender, (str, int)) or not isinstance(message, str):
        return _json_error(400, "`sender` and `message` must be strings")
    sender_id = str(sender)[:128]
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
    replies = await request.app[CONVERSATIONS].handle(
        CitizenMessage(sender_id=sender_id, text=message, metadata=metadata)
    )
    out: list[dict[str, Any]] = []
    for reply in replies:
        item: dict[str, Any] = {"recipient_id": sender_id, "text": reply.text}
        if reply.buttons:
            item["buttons"] = [dict(b) for b in reply.buttons]
        if reply.image:
            item["image"] = reply.image
        out.append(item)
    return web.json_response(out, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    loop = asyncio.get_running_loop()
    db_ok = await loop.run_in_executor(None, database_ok, app[DATABASE])
    brain = app[BRAIN]
    errors = app[BRAIN_ERROR]
    model = {
        "ok": brain.ready,
        "name": brain.model_path.name if brain.model_path else None,
        "state": "loaded" if brain.ready else ("failed" if errors else "loading"),
    }
    if errors:
        model["error"] = errors[-1]
    actions_ok = await app[ACTION_PROBE]()
    status = {
        "status": "ok" if db_ok and brain.ready and actions_ok else "degraded",
        "database": {"ok": db_ok},
        "model": model,
        "action_server": {"ok": actions_ok, "url": app[SETTINGS].action_server_url},
    }
    return web.json_response(status)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": request.app[METRICS].content_type})


async def web_chat(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html")


async def to_console(request: web.Request) -> web.Response:
    raise web.HTTPFound("/admin/")


def create_app(
    settings: Settings,
    brain: Optional[Brain] = None,
    database: Optional[Database] = None,
) -> web.Application:
    """Wire the gateway. Tests pass an already loaded `brain` shared across the session."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[BRAIN_ERROR] = []
    own_brain = brain is None
    app[BRAIN] = brain or Brain(settings)
    app[DATABASE] = database or Database(settings.database_url)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        http = aiohttp.ClientSession()
        app[HTTP] = http
        app[ACTION_PROBE] = ActionServerProbe(http, settings.action_server_health_url)
        app[CONVERSATIONS] = Conversations(
            app[BRAIN], app[DATABASE], app[METRICS], app[ACTION_PROBE]
        )
        await asyncio.get_running_loop().run_in_executor(
            None, ensure_first_admin, app[DATABASE], settings.admin_user, settings.admin_password
        )
        transports = make_transports(settings, http)
        outbox = Outbox(app[DATABASE], transports, settings.channel_rates, metrics=app[METRICS])
        app[OUTBOX] = outbox
        brain_settled = asyncio.Event()
        app[INBOX] = Inbox(
            app[DATABASE], app[CONVERSATIONS], transports, settings.media_dir, outbox.wake,
            ready=brain_settled,
        )
        app[BROADCASTS] = BroadcastEngine(app[DATABASE], transports, outbox.wake)
        app[NOTIFIER] = Notifier(app[DATABASE], transports, outbox.wake)
        loader: Optional[asyncio.Task[None]] = None
        if not app[BRAIN].ready:
            loader = asyncio.create_task(_load_brain(app, brain_settled))
        else:
            app[METRICS].model_loaded.set(1)
            brain_settled.set()
        outbox.start()
        app[BROADCASTS].start()
        await app[INBOX].resume()
        channels = await start_channels(
            app, settings, transports, app[INBOX], outbox, app[METRICS]
        )
        yield
        await channels.stop()
        if loader is not None:
            loader.cancel()
        await app[INBOX].close()
        await app[BROADCASTS].close()
        await outbox.close()
        await http.close()
        if own_brain:
            app[BRAIN].close()
        if database is None:
            app[DATABASE].dispose()

    app.cleanup_ctx.append(resources)
    app.router.add_get("/", web_chat)
    app.router.add_static("/static/", WEB_DIR, show_index=False)
    app.router.add_post("/webhooks/rest/webhook", rest_webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    for method, path, handler in channel_routes(settings):
        app.router.add_route(method, path, handler)
    app.add_subapp("/api/v1", create_api())
    app.router.add_get("/admin", to_console)
    app.add_subapp("/admin", create_console())
    return app


async def _load_brain(app: web.Application, settled: asyncio.Event) -> None:
    try:
        await asyncio.get_running_loop().run_in_executor(None, app[BRAIN].load)
        app[METRICS].model_loaded.set(1)
    except Exception as error:  # reported by /healthz; the REST channel says "unavailable"
        logger.exception("the model could not be loaded")
        app[BRAIN_ERROR].append(str(error))
    finally:
        settled.set()


def run_gateway(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # In-flight requests get 5 s to finish on SIGTERM (aiohttp waits 60 s by default, which
    # made Ctrl-C of `make run` hang for a minute).
    web.run_app(
        create_app(settings), host=settings.host, port=settings.port, print=None,
        shutdown_timeout=5,
    )
