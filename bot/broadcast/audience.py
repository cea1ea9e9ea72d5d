"""Who a broadcast reaches: active subscribers matching every non-empty filter."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.models import District, Subscriber

AUDIENCE_KEYS = ("channels", "languages", "districts", "topics")


class AudienceError(ValueError):
    pass


def validate_audience(audience: Any) -> dict[str, list[str]]:
    """CONTRACT §5: each key optional, a list of strings; missing or empty = everyone."""
    if audience is None:
        return {}
    if not isinstance(audience, dict):
        raise AudienceError("audience must be an object")
    unknown = set(audience) - set(AUDIENCE_KEYS)
    if unknown:
        raise AudienceError(f"unknown audience keys: {', '.join(sorted(unknown))}")
    clean: dict[str, list[str]] = {}
    for key in AUDIENCE_KEYS:
        values = audience.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise AudienceError(f"audience.{key} must be a list of strings")
        if values:
            clean[key] = values
    return clean


def active_subscribers(session: Session, audience: Mapping[str, Sequence[str]]) -> Any:
    """A SELECT of the matching subscribers (topic filtering happens in `matches_topics`:
    topics are a JSON list, which SQLite and PostgreSQL index differently)."""
    query = select(Subscriber).where(
        Subscriber.opted_in_at.is_not(None),
        or_(Subscriber.opted_out_at.is_(None), Subscriber.opted_out_at < Subscriber.opted_in_at),
    )
    if audience.get("channels"):
        query = query.where(Subscriber.channel.in_(audience["channels"]))
    if audience.get("languages"):
        query = query.where(Subscriber.language.in_(audience["languages"]))
    if audience.get("districts"):
        district_ids = select(District.id).where(District.slug.in_(audience["districts"]))
        query = query.where(Subscriber.district_id.in_(district_ids))
    return query.order_by(Subscriber.id)


def matches_topics(subscriber: Subscriber, audience: Mapping[str, Sequence[str]]) -> bool:
    """A subscriber with no topics chose everything; else at least one topic must match."""
    wanted = audience.get("topics")
    if not wanted or not subscriber.topics:
        return True
    return bool(set(wanted) & set(subscriber.topics))
