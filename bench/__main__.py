"""`make bench`: one line per figure, ratios against a baseline measured in the same run.

Starts its own seeded SQLite database, action server and gateway on loopback ports, reuses
(or trains) the real model of `models/`, and stops everything it started.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.turns import rest_turn, run_citizens, summary
from bot.brain import Brain
from bot.db.migrate import prepare
from bot.db.session import Database
from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import is_healthy, wait_until
from bot.training import train

CONCURRENCY = (1, 10, 50)
TURNS_EACH = {1: 40, 10: 8, 50: 4}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def line(name: str, value: str) -> None:
    print(f"{name:<48} {value}", flush=True)


def start(args: list[str], env: dict[str, str]) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env={**os.environ, **env}, cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def measure_turns(settings: Settings, model: Path, gateway_url: str) -> None:
    brain = Brain(settings, model_path=model)
    brain.load()
    try:
        async def bare(sender: str, text: str) -> object:
            return await brain.handle(sender, text)

        async with aiohttp.ClientSession() as session:
            rest = rest_turn(session, gateway_url)
            await run_citizens(bare, 1, 5)  # warm-up, both paths
            await run_citizens(rest, 1, 5)
            for citizens in CONCURRENCY:
                floor, _ = await run_citizens(bare, citizens, TURNS_EACH[citizens])
                through, wall = await run_citizens(rest, citizens, TURNS_EACH[citizens])
                f, r = summary(floor), summary(through)
                line(
                    f"turn latency, {citizens} citizen(s), REST p50/p95/p99",
                    f"{r['p50']*1000:.0f} / {r['p95']*1000:.0f} / {r['p99']*1000:.0f} ms",
                )
                line(
                    f"turn latency, {citizens} citizen(s), bare model p50/p95/p99",
                    f"{f['p50']*1000:.0f} / {f['p95']*1000:.0f} / {f['p99']*1000:.0f} ms",
                )
                line(
                    f"REST / bare model at {citizens} citizen(s) (p50, mean)",
                    f"{r['p50']/f['p50']:.2f}x, {r['mean']/f['mean']:.2f}x",
                )
                line(f"messages/s through REST at {citizens} citizen(s)", f"{len(through)/wall:.1f}")
    finally:
        brain.close()


def main() -> int:
    started = time.perf_counter()
    model = train(Settings().rasa_config, Settings().models_dir)
    line("training (or reuse) of the real model", f"{time.perf_counter() - started:.1f} s")
    workdir = Path(tempfile.mkdtemp(prefix="sawt-bench-"))
    gateway_port, actions_port = 18300 + os.getpid() % 500, 18900 + os.getpid() % 500
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "SAWT_PORT": str(gateway_port),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "SAWT_MODELS_DIR": str(model.parent),
    }
    settings = Settings.from_env({**os.environ, **env})
    database = Database(settings.database_url)
    prepare(database)
    database.dispose()
    actions = start(["actions"], env)
    gateway = start(["gateway"], env)
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_until(lambda: is_healthy(settings.action_server_health_url), 120, "action server", actions)
        wait_until(lambda: is_healthy(base + "/healthz", want_model=True), 300, "gateway", gateway)
        asyncio.run(measure_turns(settings, model, base))
        line("resident memory, gateway", f"{rss_mb(gateway.pid):.0f} MB")
        line("resident memory, action server", f"{rss_mb(actions.pid):.0f} MB")
    finally:
        for process in (gateway, actions):
            process.terminate()
            process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
