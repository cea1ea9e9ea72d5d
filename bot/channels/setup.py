"""Which platform channels run, from the settings: their transports, routes and start-up.

Routes are added when the app is built (aiohttp freezes the router at start); the channel
objects behind them are made at start-up, once the inbox and outbox exist, and found by the
handlers under typed app keys.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Optional

import aiohttp
from aiohttp import web

from bot.channels.sink import EventSink
from bot.channels.telegram import TelegramChannel, TelegramTransport, make_bot
from bot.channels.transport import Transport
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppTransport
from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.settings import Settings
from bot.telemetry import Metrics

logger = logging.getLogger(__name__)

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]

TELEGRAM = web.AppKey("telegram_channel", TelegramChannel)
WHATSAPP = web.AppKey("whatsapp_channel", WhatsAppChannel)


@dataclass
class RunningChannels:
    """Background work the channels started (registration, long polling), stopped with the gateway."""

    telegram: Optional[TelegramChannel] = None
    whatsapp: Optional[WhatsAppChannel] = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def stop(self) -> None:
        for close in self.closers:
            await close()


def make_transports(settings: Settings, http: aiohttp.ClientSession) -> dict[str, Transport]:
    transports: dict[str, Transport] = {}
    if settings.telegram_enabled:
        transports["telegram"] = TelegramTransport(make_bot(settings))
    if settings.whatsapp_enabled:
        transports["whatsapp"] = WhatsAppTransport(http, settings)
    return transports


async def _telegram_webhook(request: web.Request) -> web.StreamResponse:
    return await request.app[TELEGRAM].webhook(request)


async def _whatsapp_verify(request: web.Request) -> web.StreamResponse:
    return await request.app[WHATSAPP].verify(request)


async def _whatsapp_webhook(request: web.Request) -> web.StreamResponse:
    return await request.app[WHATSAPP].webhook(request)


def channel_routes(settings: Settings) -> list[Route]:
    routes: list[Route] = []
    if settings.telegram_enabled:
        routes.append(("POST", "/webhooks/telegram", _telegram_webhook))
    if settings.whatsapp_enabled:
        routes.append(("GET", "/webhooks/whatsapp", _whatsapp_verify))
        routes.append(("POST", "/webhooks/whatsapp", _whatsapp_webhook))
    return routes


async def start_channels(
    app: web.Application,
    settings: Settings,
    transports: dict[str, Transport],
    inbox: Inbox,
    outbox: Outbox,
    metrics: Optional[Metrics] = None,
) -> RunningChannels:
    sink = EventSink(inbox, outbox, metrics)
    running = RunningChannels()
    telegram = transports.get("telegram")
    if isinstance(telegram, TelegramTransport):
        channel = TelegramChannel(telegram.bot, settings, sink)
        app[TELEGRAM] = channel
        channel.start()
        running.telegram = channel
        running.closers.append(channel.stop)
    if isinstance(transports.get("whatsapp"), WhatsAppTransport):
        if not settings.whatsapp_app_secret:
            logger.error("WHATSAPP_APP_SECRET is not set: every WhatsApp webhook will be refused")
        if not settings.whatsapp_verify_token:
            logger.error("WHATSAPP_VERIFY_TOKEN is not set: Meta's verification will fail")
        app[WHATSAPP] = WhatsAppChannel(settings, sink)
        running.whatsapp = app[WHATSAPP]
    return running
