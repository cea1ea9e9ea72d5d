"""Which platform channels run, from the settings: their transports, routes and start-up."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.channels.transport import Transport
from bot.settings import Settings

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


@dataclass
class RunningChannels:
    """Background work a channel started (long polling), stopped with the gateway."""

    tasks: list[Any] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


def make_transports(settings: Settings, http: aiohttp.ClientSession) -> dict[str, Transport]:
    transports: dict[str, Transport] = {}
    return transports


def channel_routes(settings: Settings) -> list[Route]:
    return []


async def start_channels(
    app: web.Application, settings: Settings, transports: dict[str, Transport]
) -> RunningChannels:
    return RunningChannels()
