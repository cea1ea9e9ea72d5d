"""The Alembic migrations build exactly the schema the models describe."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.schema import metadata
from bot.db.migrate import upgrade
from bot.db.session import Database


def test_migrations_create_every_table_of_the_models(settings):
    database = Database(settings.database_url)
    upgrade(database)
    tables = set(inspect(database.engine).get_table_names())
    assert set(metadata.tables) <= tables
    database.dispose()


def test_migrations_leave_no_difference_with_the_models(settings):
    database = Database(settings.database_url)
    upgrade(database)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, metadata)
    database.dispose()
    assert diff == []


def test_upgrading_twice_is_harmless(settings):
    database = Database(settings.database_url)
    upgrade(database)
    upgrade(database)
    assert "alembic_version" in inspect(database.engine).get_table_names()
    database.dispose()
