"""Typed keys of the gateway's application state, shared by its sub-applications."""
from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.brain import Brain
from bot.broadcast.engine import BroadcastEngine
from bot.conversation import Conversations
from bot.db.session import Database
from bot.health import ActionServerProbe
from bot.inbox import Inbox
from bot.notify import Notifier
from bot.outbox import Outbox
from bot.settings import Settings
from bot.telemetry import Metrics

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
BRAIN = web.AppKey("brain", Brain)
BRAIN_ERROR = web.AppKey("brain_error", list)
METRICS = web.AppKey("metrics", Metrics)
HTTP = web.AppKey("http", aiohttp.ClientSession)
ACTION_PROBE = web.AppKey("action_probe", ActionServerProbe)
CONVERSATIONS = web.AppKey("conversations", Conversations)
INBOX = web.AppKey("inbox", Inbox)
OUTBOX = web.AppKey("outbox", Outbox)
BROADCASTS = web.AppKey("broadcasts", BroadcastEngine)
NOTIFIER = web.AppKey("notifier", Notifier)
