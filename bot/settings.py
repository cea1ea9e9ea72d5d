"""Settings, read once from the environment (and an optional `.env` file) and passed down.

Nothing below `bot.cli` reads `os.environ`: every component takes the `Settings` it needs,
so tests can build one with `Settings.from_env({...})` and run several side by side.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a `.env` file; the real environment wins over it."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/sawt.db"
    redis_url: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: Optional[str] = None
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    telegram_bot_token: Optional[str] = None
    telegram_webhook_secret: Optional[str] = None
    telegram_api_base: str = "https://api.telegram.org/bot"
    whatsapp_token: Optional[str] = None
    whatsapp_phone_number_id: Optional[str] = None
    whatsapp_app_secret: Optional[str] = None
    whatsapp_verify_token: Optional[str] = None
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    admin_user: Optional[str] = None
    admin_password: Optional[str] = None
    # Where the trained models live and which config trains them.
    models_dir: Path = PROJECT_ROOT / "models"
    rasa_config: Path = PROJECT_ROOT / "config.yml"
    # Files (photos of complaints, …) fetched from the platforms.
    media_dir: Path = PROJECT_ROOT / "var" / "media"
    # The commune the assistant serves by default (one install can hold several).
    commune_slug: str = "benguerir"
    # Broadcast caps, messages per second (Telegram ≈ 30/s per bot, WhatsApp 80/s per number).
    telegram_rate: float = 30.0
    whatsapp_rate: float = 80.0

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.whatsapp_token and self.whatsapp_phone_number_id)

    @property
    def channel_rates(self) -> dict[str, float]:
        """Messages per second per channel, the outbox's caps."""
        return {"telegram": self.telegram_rate, "whatsapp": self.whatsapp_rate}

    @property
    def action_server_health_url(self) -> str:
        base = self.action_server_url.rsplit("/webhook", 1)[0]
        return base + "/health"

    @property
    def action_server_port(self) -> int:
        from urllib.parse import urlparse

        return urlparse(self.action_server_url).port or 5055

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Optional[Mapping[str, str]] = None, dotenv: Optional[Path] = None
    ) -> "Settings":
        env: dict[str, str] = _read_dotenv(dotenv or PROJECT_ROOT / ".env")
        env.update(os.environ if environ is None else environ)

        def get(name: str) -> Optional[str]:
            value = env.get(name)
            return value if value not in (None, "") else None

        defaults = cls()
        return cls(
            database_url=get("DATABASE_URL") or defaults.database_url,
            redis_url=get("REDIS_URL"),
            host=get("SAWT_HOST") or defaults.host,
            port=int(get("SAWT_PORT") or defaults.port),
            public_url=get("SAWT_PUBLIC_URL"),
            action_server_url=get("ACTION_SERVER_URL") or defaults.action_server_url,
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_base=get("TELEGRAM_API_BASE") or defaults.telegram_api_base,
            whatsapp_token=get("WHATSAPP_TOKEN"),
            whatsapp_phone_number_id=get("WHATSAPP_PHONE_NUMBER_ID"),
            whatsapp_app_secret=get("WHATSAPP_APP_SECRET"),
            whatsapp_verify_token=get("WHATSAPP_VERIFY_TOKEN"),
            whatsapp_api_base=get("WHATSAPP_API_BASE") or defaults.whatsapp_api_base,
            admin_user=get("SAWT_ADMIN_USER"),
            admin_password=get("SAWT_ADMIN_PASSWORD"),
            models_dir=Path(get("SAWT_MODELS_DIR") or defaults.models_dir),
            rasa_config=Path(get("SAWT_RASA_CONFIG") or defaults.rasa_config),
            media_dir=Path(get("SAWT_MEDIA_DIR") or defaults.media_dir),
            commune_slug=get("SAWT_COMMUNE") or defaults.commune_slug,
            telegram_rate=float(get("SAWT_TELEGRAM_RATE") or defaults.telegram_rate),
            whatsapp_rate=float(get("SAWT_WHATSAPP_RATE") or defaults.whatsapp_rate),
        )
