"""Every table of the application, gathered: what `create_all` and Alembic compare against."""
from __future__ import annotations

from bot.db import access, console, messaging, models

metadata = models.Base.metadata
__all__ = ["access", "console", "metadata", "models", "messaging"]
