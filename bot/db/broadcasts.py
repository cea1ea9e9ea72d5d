"""The console's reads of broadcasts: the list with its counts, one broadcast's delivery report,
its deliveries as rows for a CSV export.

Creating, expanding and cancelling belong to `bot.broadcast.engine` (it owns the status
transitions); this module only reads, so a page never interferes with sending.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from sqlalchemy import func, select

from bot.db.messaging import Broadcast, OutboxMessage
from bot.db.models import utcnow
from bot.db.session import Database

PAGE_SIZE = 50
# How many distinct platform messages a failure group shows as examples.
SAMPLES = 3
# A second identical broadcast by the same agent this soon is a double submit.
DUPLICATE_WINDOW = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Counts:
    """Deliveries of one broadcast by outcome (CONTRACT §5's meaning of sent and delivered)."""

    total: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0

    @property
    def percent(self) -> int:
        """Share of the deliveries that have an outcome (sent or failed), 0–100."""
        if self.total <= 0:
            return 0
        return min(100, round(100 * (self.total - self.pending) / self.total))


def counts_from(statuses: dict[str, int], total: Optional[int], skipped: int) -> Counts:
    delivered = statuses.get("delivered", 0) + statuses.get("read", 0)
    return Counts(
        total=total if total is not None else sum(statuses.values()),
        sent=statuses.get("sent", 0) + delivered,
        delivered=delivered,
        failed=statuses.get("failed", 0),
        pending=statuses.get("pending", 0) + statuses.get("sending", 0),
        skipped=skipped,
    )


@dataclass(frozen=True)
class BroadcastSummary:
    id: int
    status: str
    text: dict[str, str]
    audience: dict[str, list[str]]
    template: Optional[dict[str, Any]]
    created_by: Optional[str]
    created_at: dt.datetime
    scheduled_at: dt.datetime
    started_at: Optional[dt.datetime]
    counts: Counts


@dataclass(frozen=True)
class FailureGroup:
    error_code: Optional[int]
    count: int
    samples: tuple[str, ...]


@dataclass(frozen=True)
class DeliveryReport:
    by_status: dict[str, int]
    # channel → status → count
    by_channel: dict[str, dict[str, int]]
    failures: list[FailureGroup] = field(default_factory=list)


def _summary(broadcast: Broadcast, statuses: dict[str, int]) -> BroadcastSummary:
    return BroadcastSummary(
        id=broadcast.id, status=broadcast.status, text=dict(broadcast.text or {}),
        audience=dict(broadcast.audience or {}), template=broadcast.template,
        created_by=broadcast.created_by, created_at=broadcast.created_at,
        scheduled_at=broadcast.scheduled_at, started_at=broadcast.started_at,
        counts=counts_from(statuses, broadcast.total, broadcast.skipped),
    )


def list_broadcasts(
    database: Database, before: Optional[int] = None, limit: int = PAGE_SIZE
) -> list[BroadcastSummary]:
    """The newest broadcasts (older than id `before`), with their delivery counts."""
    with database.session() as session:
        query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
        if before is not None:
            query = query.where(Broadcast.id < before)
        broadcasts = list(session.execute(query).scalars())
        statuses: dict[int, dict[str, int]] = defaultdict(dict)
        if broadcasts:
            rows = session.execute(
                select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count(OutboxMessage.id))
                .where(OutboxMessage.broadcast_id.in_([b.id for b in broadcasts]))
                .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
            )
            for broadcast_id, status, count in rows:
                statuses[broadcast_id][status] = count
        return [_summary(b, statuses[b.id]) for b in broadcasts]


def get_broadcast(database: Database, broadcast_id: int) -> Optional[BroadcastSummary]:
    with database.session() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None:
            return None
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count(OutboxMessage.id))
                .where(OutboxMessage.broadcast_id == broadcast_id)
                .group_by(OutboxMessage.status)
            ).all()
        )
        return _summary(broadcast, statuses)


def delivery_report(database: Database, broadcast_id: int) -> DeliveryReport:
    """Counts by status and by channel, and the failures grouped by the platform's error code
    (what an agent needs to know why citizens were not reached)."""
    by_status: Counter[str] = Counter()
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    with database.session() as session:
        for channel, status, count in session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count(OutboxMessage.id))
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.channel, OutboxMessage.status)
        ):
            by_status[status] += count
            by_channel[channel][status] += count
        groups: dict[Optional[int], list[Any]] = {}
        for code, error, count in session.execute(
            select(OutboxMessage.error_code, OutboxMessage.error, func.count(OutboxMessage.id))
            .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "failed")
            .group_by(OutboxMessage.error_code, OutboxMessage.error)
            .order_by(func.count(OutboxMessage.id).desc())
        ):
            group = groups.setdefault(code, [0, []])
            group[0] += count
            if error and len(group[1]) < SAMPLES:
                group[1].append(error)
    failures = sorted(
        (FailureGroup(code, count, tuple(samples)) for code, (count, samples) in groups.items()),
        key=lambda g: -g.count,
    )
    return DeliveryReport(
        by_status=dict(by_status),
        by_channel={channel: dict(counts) for channel, counts in sorted(by_channel.items())},
        failures=failures,
    )


DELIVERY_COLUMNS = (
    "channel", "user_id", "status", "attempts", "error_code", "error",
    "created_at", "sent_at", "status_at",
)


def delivery_rows(database: Database, broadcast_id: int) -> list[tuple[Any, ...]]:
    """One row per delivery, for the CSV export (times in UTC, ISO 8601)."""
    with database.session() as session:
        rows = session.execute(
            select(
                OutboxMessage.channel, OutboxMessage.user_id, OutboxMessage.status,
                OutboxMessage.attempts, OutboxMessage.error_code, OutboxMessage.error,
                OutboxMessage.created_at, OutboxMessage.sent_at, OutboxMessage.status_at,
            )
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [tuple(_iso(value) for value in row) for row in rows]


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return "" if value is None else value


def recent_duplicate(
    database: Database, created_by: str, text: dict[str, str], audience: dict[str, list[str]],
    template: Optional[dict[str, Any]], now: Optional[dt.datetime] = None,
) -> Optional[int]:
    """The id of an identical broadcast the same agent created moments ago: a form submitted
    twice (double click, reload) must not announce the same thing twice."""
    since = (now or utcnow()) - DUPLICATE_WINDOW
    with database.session() as session:
        candidates: Iterator[Broadcast] = session.execute(
            select(Broadcast).where(
                Broadcast.created_by == created_by, Broadcast.created_at >= since,
                Broadcast.status != "cancelled",
            ).order_by(Broadcast.id.desc())
        ).scalars()
        for broadcast in candidates:
            if broadcast.text == text and broadcast.audience == audience and broadcast.template == template:
                return int(broadcast.id)
    return None
