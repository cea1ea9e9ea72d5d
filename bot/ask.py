"""`sawt ask`: one turn through the real assistant (model, action server, database), printed."""
from __future__ import annotations

import asyncio
import subprocess
from typing import Optional

from bot.brain import Brain
from bot.channels.base import Reply
from bot.conversation import CitizenMessage, Conversations
from bot.db.migrate import prepare
from bot.db.session import Database
from bot.health import ActionServerProbe
from bot.settings import Settings
from bot.supervisor import is_healthy, spawn, wait_until
from bot.telemetry import Metrics
from bot.training import train


def format_reply(reply: Reply) -> str:
    lines = [reply.text] if reply.text else []
    lines += [f"  [{b['title']}] → {b['payload']}" for b in reply.buttons]
    return "\n".join(lines)


async def _turn(settings: Settings, brain: Brain, database: Database, sender: str, text: str) -> list[Reply]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        conversations = Conversations(
            brain, database, Metrics(), ActionServerProbe(http, settings.action_server_health_url)
        )
        return await conversations.handle(CitizenMessage(sender_id=sender, text=text))


def ask_once(settings: Settings, text: str, sender: str) -> int:
    database = Database(settings.database_url)
    prepare(database)
    model = train(settings.rasa_config, settings.models_dir)
    server: "Optional[subprocess.Popen[bytes]]" = None
    if not is_healthy(settings.action_server_health_url):
        server = spawn(["actions"])
        wait_until(lambda: is_healthy(settings.action_server_health_url), 120, "action server", server)
    brain = Brain(settings, model_path=model)
    try:
        brain.load()
        for reply in asyncio.run(_turn(settings, brain, database, sender, text)):
            print(format_reply(reply))
        return 0
    finally:
        brain.close()
        database.dispose()
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
