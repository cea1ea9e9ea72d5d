"""Reading the audit log (admins only): one page at a time, or all of it for a CSV export.

Writing it is `bot.db.console.audit` (or an `AuditEntry` added in the transaction of the change).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from bot.db.console import AuditEntry
from bot.db.session import Database

PER_PAGE = 50
# An export is for a spreadsheet; a bigger one is cut (newest kept) rather than exhausting memory.
MAX_EXPORT_ROWS = 100_000


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: Optional[str]
    entity_id: Optional[str]
    details: Optional[dict[str, Any]]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class AuditFilter:
    actor: Optional[str] = None
    action: Optional[str] = None

    def apply(self, query: Select) -> Select:
        if self.actor:
            query = query.where(AuditEntry.actor == self.actor)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        return query


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(entry.id, entry.at, entry.actor, entry.action, entry.entity,
                    entry.entity_id, entry.details)


def audit_page(database: Database, where: AuditFilter, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    """Newest first; a page past the end shows the last one."""
    with database.session() as session:
        total = int(session.execute(where.apply(select(func.count(AuditEntry.id)))).scalar_one())
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        entries = session.execute(
            where.apply(select(AuditEntry))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset((page - 1) * per_page).limit(per_page)
        ).scalars()
        return AuditPage([_row(e) for e in entries], total, page, pages)


def audit_export(database: Database, where: AuditFilter) -> list[AuditRow]:
    with database.session() as session:
        entries = session.execute(
            where.apply(select(AuditEntry))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(MAX_EXPORT_ROWS)
        ).scalars()
        return [_row(e) for e in entries]


def audit_choices(database: Database) -> tuple[list[str], list[str]]:
    """Who and which actions appear in the log: the filter's options."""
    with database.session() as session:
        actors = session.execute(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)).scalars()
        actions = session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars()
        return list(actors), list(actions)
