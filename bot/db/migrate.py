"""Schema migrations (Alembic) and first-start preparation of the database."""
from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config

from bot.db.session import Database
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)


def alembic_config(database: Database) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser interpolation: a '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def prepare(database: Database) -> bool:
    """Bring the schema to the latest revision and seed an empty database.

    Returns whether seed content was written (so `make run` can say so).
    """
    from bot.db.seed import is_seeded, seed_database

    upgrade(database)
    if is_seeded(database):
        return False
    logger.info("empty database: seeding Benguérir's content")
    return seed_database(database)
