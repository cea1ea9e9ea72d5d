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

from bench.broadcasts import measure_broadcasts
from bench.channels import measure_channels, telegram_env, wait_for_webhook
from bench.turns import rest_turn, run_citizens, summary
from bot.brain import Brain
from bot.db.migrate import prepare
from bot.db.session import Database
from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import is_healthy, wait_until
from bot.training import train
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp

CONCURRENCY = (1, 10, 50)
TURNS_EACH = {1: 40, 10: 8, 50: 4}


def whatsapp_env(fake: FakeWhatsApp) -> dict[str, str]:
    """What the gateway needs to send through the WhatsApp fake (no webhook is configured:
    the fake sends no statuses, the broadcasts only need the Graph API side)."""
    return {
        "WHATSAPP_TOKEN": fake.token,
        "WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
        "WHATSAPP_APP_SECRET": fake.app_secret,
        "WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
        "WHATSAPP_API_BASE": fake.api_base,
    }


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS), or its peak so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def line(name: str, value: str) -> None:
    print(f"{name:<48} {value}", flush=True)


def start(args: list[str], env: dict[str, str]) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env={**os.environ, **env}, cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def measure_turns(settings: Settings, model: Path, gateway_url: str) -> dict[int, float]:
    """Prints the REST figures; returns the REST turn p50 (s) by number of citizens."""
    rest_p50: dict[int, float] = {}
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
                rest_p50[citizens] = r["p50"]
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
    return rest_p50


def main() -> int:
    started = time.perf_counter()
    model = train(Settings().rasa_config, Settings().models_dir)
    line("training (or reuse) of the real model", f"{time.perf_counter() - started:.1f} s")
    return asyncio.run(run(model))


async def run(model: Path) -> int:
    """The fakes (Telegram, WhatsApp), the two processes and every measurement, in one event
    loop: the fakes must answer the gateway (getMe, setWebhook, sendMessage) while the bench
    waits."""
    workdir = Path(tempfile.mkdtemp(prefix="sawt-bench-"))
    gateway_port, actions_port = 18300 + os.getpid() % 500, 18900 + os.getpid() % 500
    async with FakeTelegram() as fake, FakeWhatsApp() as whatsapp:
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
        gateway = start(
            ["gateway"], {**env, **telegram_env(fake, gateway_port), **whatsapp_env(whatsapp)}
        )
        base = f"http://127.0.0.1:{gateway_port}"
        try:
            await asyncio.to_thread(
                wait_until, lambda: is_healthy(settings.action_server_health_url), 120,
                "action server", actions,
            )
            await asyncio.to_thread(
                wait_until, lambda: is_healthy(base + "/healthz", want_model=True), 300,
                "gateway", gateway,
            )
            await wait_for_webhook(fake)
            rest_p50 = await measure_turns(settings, model, base)
            line("resident memory, gateway", f"{rss_mb(gateway.pid):.0f} MB")
            line("resident memory, action server", f"{rss_mb(actions.pid):.0f} MB")
            await measure_channels(
                fake, settings.database_url, settings.telegram_rate, rest_p50, line
            )
            peak = rss_mb(gateway.pid, "VmHWM")
            line("peak resident memory, gateway (after channels)", f"{peak:.0f} MB")
            await measure_broadcasts(
                fake, whatsapp, settings.database_url, base, settings.commune_slug,
                settings.channel_rates, line,
            )
            peak = rss_mb(gateway.pid, "VmHWM")
            line("peak resident memory, gateway (after broadcasts)", f"{peak:.0f} MB")
        finally:
            for process in (gateway, actions):
                process.terminate()
                await asyncio.to_thread(process.wait, 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
