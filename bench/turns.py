"""Turn latency and throughput: the REST channel against the bare model, same run, same data.

The floor is `agent.handle_message` called in-process (the brain alone, with the action
server and SQL tracker store it needs). The same messages then go through a real gateway
process over loopback HTTP at 1, 10 and 50 concurrent citizens. Every loop is bounded.
"""
from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any, Awaitable, Callable

import aiohttp

MESSAGES = [
    "bonjour",
    "quels papiers pour un extrait d'acte de naissance ?",
    "bch7al tasli7 l2imda",
    "فين نخلص الضريبة ديال الأرض",
    "c koi la taxe tnb",
    "chno homa les consultations li m7loulin",
    "merci",
]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples),
    }


async def run_citizens(
    turn: Callable[[str, str], Awaitable[Any]], citizens: int, turns_each: int
) -> tuple[list[float], float]:
    """`citizens` concurrent conversations of `turns_each` turns; latencies and wall time."""
    latencies: list[float] = []

    async def citizen() -> None:
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        for i in range(turns_each):
            started = time.perf_counter()
            await turn(sender, MESSAGES[i % len(MESSAGES)])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(citizen() for _ in range(citizens)))
    return latencies, time.perf_counter() - started


def rest_turn(session: aiohttp.ClientSession, base: str) -> Callable[[str, str], Awaitable[Any]]:
    async def turn(sender: str, text: str) -> Any:
        async with session.post(
            f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as response:
            response.raise_for_status()
            return await response.json()

    return turn
