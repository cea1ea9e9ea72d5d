"""Health probes of what the gateway depends on, cached briefly so a burst costs one probe."""
from __future__ import annotations

import asyncio
import time
from typing import Optional

import aiohttp
from sqlalchemy import text

from bot.db.session import Database


class ActionServerProbe:
    def __init__(self, session: aiohttp.ClientSession, url: str, ttl: float = 5.0) -> None:
        self._session = session
        self._url = url
        self._ttl = ttl
        self._checked_at = 0.0
        self._up: Optional[bool] = None

    async def __call__(self) -> bool:
        if self._up is not None and time.monotonic() - self._checked_at < self._ttl:
            return self._up
        try:
            async with self._session.get(
                self._url, timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                self._up = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self._up = False
        self._checked_at = time.monotonic()
        return self._up


def database_ok(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
