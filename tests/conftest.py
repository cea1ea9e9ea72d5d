"""Shared fixtures: a real database (SQLite file per test, seeded), settings pointing at it.

Fixtures that need the trained model and the action server live in `tests/integration_env.py`
and are exposed here, so every test folder can use them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.db.session import Database
from bot.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sawt.db'}",
            "SAWT_MEDIA_DIR": str(tmp_path / "media"),
        },
        dotenv=tmp_path / "no.env",
    )


@pytest.fixture
def empty_db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A database holding Benguérir's seed content, as `make run` creates it."""
    from bot.db.seed import seed_database

    seed_database(empty_db)
    return empty_db
