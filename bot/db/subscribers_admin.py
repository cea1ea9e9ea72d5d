"""Subscribers as the commune manages them: a bulk import, counts, an export.

An import is idempotent — the same channel and user id update the row — and it never
re-subscribes a citizen who opted out (or blocked the bot): their choice outranks a list the
commune kept elsewhere. Rows are written in batches, each one transaction, so a big file
neither holds one huge transaction nor costs a round trip per line.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from sqlalchemy import and_, func, or_, select, tuple_

from bot.broadcast.subscriber_csv import SubscriberRow
from bot.db.content import commune_id
from bot.db.models import District, Subscriber, utcnow
from bot.db.session import Database

ACTIVE = and_(
    Subscriber.opted_in_at.is_not(None),
    or_(Subscriber.opted_out_at.is_(None), Subscriber.opted_out_at < Subscriber.opted_in_at),
)
OUTCOMES = ("created", "updated", "unchanged", "opted_out")


def district_slugs(database: Database, commune: str) -> dict[str, str]:
    """Lower-case slug → slug, for matching what a spreadsheet wrote."""
    with database.session() as session:
        slugs = session.execute(
            select(District.slug).where(District.commune_id == commune_id(session, commune))
        ).scalars()
        return {slug.lower(): slug for slug in slugs}


def upsert_subscribers(
    database: Database, commune: str, rows: Sequence[SubscriberRow], now: Optional[dt.datetime] = None,
) -> Counter[str]:
    """Write one batch in one transaction; returns how many rows were created, updated,
    unchanged, or belong to a citizen who opted out (details updated, still unsubscribed)."""
    outcomes: Counter[str] = Counter({name: 0 for name in OUTCOMES})
    if not rows:
        return outcomes
    now = now or utcnow()
    with database.session() as session:
        cid = commune_id(session, commune)
        district_ids = dict(
            session.execute(select(District.slug, District.id).where(District.commune_id == cid)).all()
        )
        keys = {(row.channel, row.user_id) for row in rows}
        existing = {
            (s.channel, s.user_id): s
            for s in session.execute(
                select(Subscriber).where(tuple_(Subscriber.channel, Subscriber.user_id).in_(list(keys)))
            ).scalars()
        }
        for row in rows:
            district_id = district_ids.get(row.district) if row.district else None
            subscriber = existing.get((row.channel, row.user_id))
            if subscriber is None:
                subscriber = Subscriber(
                    commune_id=cid, channel=row.channel, user_id=row.user_id, opted_in_at=now,
                )
                session.add(subscriber)
                existing[(row.channel, row.user_id)] = subscriber
                outcome = "created"
            elif not subscriber.active and subscriber.opted_in_at is not None:
                outcome = "opted_out"
            elif subscriber.active and (
                subscriber.language, subscriber.district_id, list(subscriber.topics or [])
            ) == (row.language, district_id, list(row.topics)):
                outcome = "unchanged"
            else:
                outcome = "updated"
                if subscriber.opted_in_at is None:
                    subscriber.opted_in_at = now
            subscriber.language = row.language
            subscriber.district_id = district_id
            subscriber.topics = list(row.topics)
            outcomes[outcome] += 1
    return outcomes


@dataclass(frozen=True)
class SubscriberCounts:
    active: int
    opted_out: int
    by_channel: dict[str, int]
    by_language: dict[str, int]
    # district slug (None: the whole commune) → active subscribers
    by_district: dict[Optional[str], int]


def subscriber_counts(database: Database, commune: str) -> SubscriberCounts:
    with database.session() as session:
        cid = commune_id(session, commune)
        mine = Subscriber.commune_id == cid

        def grouped(column: Any) -> dict[Any, int]:
            return {
                key: count for key, count in session.execute(
                    select(column, func.count(Subscriber.id))
                    .select_from(Subscriber)
                    .outerjoin(District, District.id == Subscriber.district_id)
                    .where(mine, ACTIVE)
                    .group_by(column)
                )
            }

        total = session.execute(select(func.count(Subscriber.id)).where(mine)).scalar_one()
        active = session.execute(select(func.count(Subscriber.id)).where(mine, ACTIVE)).scalar_one()
        return SubscriberCounts(
            active=int(active), opted_out=int(total - active),
            by_channel=grouped(Subscriber.channel), by_language=grouped(Subscriber.language),
            by_district=grouped(District.slug),
        )


EXPORT_COLUMNS = ("channel", "user_id", "language", "district", "topics", "status", "opted_in_at", "opted_out_at")


def subscriber_rows(database: Database, commune: str) -> list[tuple[Any, ...]]:
    """Every subscriber in the import's columns (so an export can be edited and imported
    back), then its status and dates (UTC)."""
    with database.session() as session:
        rows = session.execute(
            select(Subscriber, District.slug)
            .outerjoin(District, District.id == Subscriber.district_id)
            .where(Subscriber.commune_id == commune_id(session, commune))
            .order_by(Subscriber.id)
        ).all()
        return [
            (
                s.channel, s.user_id, s.language, slug or "", ";".join(s.topics or []),
                "active" if s.active else "opted_out", _iso(s.opted_in_at), _iso(s.opted_out_at),
            )
            for s, slug in rows
        ]


def _iso(value: Optional[dt.datetime]) -> str:
    return value.replace(microsecond=0).isoformat() + "Z" if value else ""
