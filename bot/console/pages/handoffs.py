"""Conversations handed to a person: the queue, the transcript, replying, handing back to the bot.

Each form posts and redirects back to the conversation (so reloading never sends twice); what
became of a message sent to the citizen travels in the redirect's query (`sent=` / `back=`) and
is shown in the agent's language. The transcript works without JavaScript; `static/handoffs.js`
only fetches new messages from `/handoffs/{id}/messages?after=<last id>` every few seconds.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from aiohttp import web

from bot.appkeys import NOTIFIER
from bot.channels.base import Reply
from bot.console.web import current_agent, render, run_db
from bot.db import handoffs
from bot.db.handoffs import MAX_REPLY_LENGTH, Handoff
from bot.db.models import utcnow
from bot.i18n import t
from bot.notify import Notice

# What a redirect may report; anything else in the query is ignored.
NOTICE_RESULTS = ("queued", "no_channel", "window_closed", "blocked", "not_sent")
FLASHES = ("taken", "taken_by_other", "not_yours", "handed_back", "reply_empty", "reply_too_long")


def _handoff_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _load(request: web.Request) -> Handoff:
    handoff: Optional[Handoff] = await run_db(request, handoffs.get, _handoff_id(request))
    if handoff is None:
        raise web.HTTPNotFound()
    return handoff


def _back_to(handoff_id: int, **query: str) -> web.HTTPFound:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    return web.HTTPFound(f"/admin/handoffs/{handoff_id}" + (f"?{suffix}" if suffix else ""))


def _result(notice: Notice) -> str:
    if notice.ok:
        return "queued"
    return notice.reason if notice.reason in NOTICE_RESULTS else "not_sent"


async def _send(
    request: web.Request, handoff: Handoff, text: str, author: Optional[str]
) -> Notice:
    """The citizen's message through the Notifier (blocking, so off the loop); `author` is the
    agent who wrote it, None for the assistant's own words."""
    notifier = request.config_dict[NOTIFIER]
    return await asyncio.get_running_loop().run_in_executor(
        None, notifier.send, handoff.channel, handoff.user_id, Reply(text=text), handoff.language,
        author,
    )


# ---- pages ---------------------------------------------------------------------------------
async def queue_page(request: web.Request) -> web.Response:
    items = await run_db(request, handoffs.queue)
    return render(
        request, "handoffs/queue.html", items=items, now=utcnow(),
        waiting=sum(1 for item in items if item.status == handoffs.WAITING),
    )


async def _show(
    request: web.Request, handoff: Handoff, flash: Optional[str] = None, draft: str = ""
) -> web.Response:
    agent = current_agent(request)
    lines = await run_db(request, handoffs.transcript, handoff.sender_id)
    sent = request.query.get("sent")
    back = request.query.get("back")
    flash = flash or request.query.get("flash")
    return render(
        request, "handoffs/conversation.html", handoff=handoff, lines=lines,
        may_reply=handoff.may_be_handled_by(agent.username, agent.is_admin),
        sent=sent if sent in NOTICE_RESULTS else None,
        back=back if back in NOTICE_RESULTS else None,
        flash=flash if flash in FLASHES else None,
        draft=draft, max_reply=MAX_REPLY_LENGTH, now=utcnow(),
    )


async def conversation_page(request: web.Request) -> web.Response:
    return await _show(request, await _load(request))


async def messages_json(request: web.Request) -> web.Response:
    """New transcript lines for the page's script; `after` is the last log id it shows."""
    handoff = await _load(request)
    try:
        after: Optional[int] = int(request.query["after"]) if "after" in request.query else None
    except ValueError:
        raise web.HTTPBadRequest(text="after must be a message id")
    lines = await run_db(request, handoffs.transcript, handoff.sender_id, after)
    return web.json_response({
        "status": handoff.status, "agent": handoff.agent,
        "messages": [line.as_json() for line in lines],
    })


# ---- actions -------------------------------------------------------------------------------
async def take(request: web.Request) -> web.StreamResponse:
    agent = current_agent(request)
    handoff_id = _handoff_id(request)
    won = await run_db(request, handoffs.take, handoff_id, agent.username)
    if not won:
        await _load(request)  # an unknown id is a 404, not "someone else took it"
    raise _back_to(handoff_id, flash="taken" if won else "taken_by_other")


async def reply(request: web.Request) -> web.StreamResponse:
    agent = current_agent(request)
    handoff = await _load(request)
    text = str((await request.post()).get("text") or "").strip()
    if not handoff.may_be_handled_by(agent.username, agent.is_admin):
        raise _back_to(handoff.id, flash="not_yours")
    if not text or len(text) > MAX_REPLY_LENGTH:
        # Shown again with the draft kept, so a too long reply can be shortened, not retyped.
        response = await _show(request, handoff, "reply_too_long" if text else "reply_empty", text)
        response.set_status(400)
        return response
    notice = await _send(request, handoff, text, agent.username)
    await run_db(request, handoffs.record_reply, handoff.id, agent.username, text,
                 notice.queued, notice.reason)
    raise _back_to(handoff.id, sent=_result(notice))


async def hand_back(request: web.Request) -> web.StreamResponse:
    agent = current_agent(request)
    handoff_id = _handoff_id(request)
    closed: Optional[Handoff] = await run_db(
        request, handoffs.hand_back, handoff_id, agent.username, agent.is_admin
    )
    if closed is None:
        await _load(request)
        raise _back_to(handoff_id, flash="not_yours")
    # Sent after closing, so the transcript shows it as the assistant's.
    notice = await _send(request, closed, t("handoff_assistant_back", closed.language), None)
    raise _back_to(handoff_id, flash="handed_back", back=_result(notice))


def add_routes(console: web.Application) -> None:
    console.router.add_get("/handoffs", queue_page)
    console.router.add_get(r"/handoffs/{id:\d+}", conversation_page)
    console.router.add_get(r"/handoffs/{id:\d+}/messages", messages_json)
    console.router.add_post(r"/handoffs/{id:\d+}/take", take)
    console.router.add_post(r"/handoffs/{id:\d+}/reply", reply)
    console.router.add_post(r"/handoffs/{id:\d+}/hand-back", hand_back)
