"""`sawt run`: prepare everything, start the action server and the gateway, stop both on Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from bot.settings import Settings


def is_healthy(url: str, want_model: bool = False) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status != 200:
                return False
            if want_model:
                return bool(json.loads(response.read()).get("model", {}).get("ok"))
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    process: "Optional[subprocess.Popen[bytes]]" = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        time.sleep(0.5)
    raise TimeoutError(f"{what} not healthy after {timeout:.0f} s")


def spawn(args: list[str], env: Optional[dict[str, str]] = None) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env={**os.environ, **(env or {})}
    )


def run_all(settings: Settings) -> int:
    from bot.training import train

    print("· base de données / database …", flush=True)
    from bot.db.migrate import prepare
    from bot.db.session import Database

    database = Database(settings.database_url)
    seeded = prepare(database)
    database.dispose()
    print(f"  {'seeded with Benguérir content' if seeded else 'ready'}", flush=True)
    print("· modèle / model (trained only if the data changed) …", flush=True)
    model = train(settings.rasa_config, settings.models_dir)
    print(f"  {model.name}", flush=True)

    children = [spawn(["actions"]), spawn(["gateway"])]
    actions, gateway = children

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    base = f"http://{settings.host}:{settings.port}"
    try:
        wait_until(lambda: is_healthy(settings.action_server_health_url), 120, "action server", actions)
        wait_until(lambda: is_healthy(base + "/healthz", want_model=True), 300, "gateway", gateway)
        print(
            f"\nSawt is ready · Sawt est prêt · صوت واجد\n"
            f"  web chat:        {base}/\n"
            f"  REST channel:    {base}/webhooks/rest/webhook\n"
            f"  health:          {base}/healthz\n"
            f"  metrics:         {base}/metrics\n"
            f"  actions:         {settings.action_server_url}\n"
            f"Ctrl-C stops both.",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
