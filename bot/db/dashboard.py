"""The console's figures, computed in SQL.

Aggregates run in the database (GROUP BY), so the dashboard costs one small result per table
however long the conversation log grows. Only what SQL cannot do portably stays in Python:
a day's label (SQLite's `date()` gives text, PostgreSQL's a `date`), days without messages
(filled with zeros so the charts keep a regular time axis) and the de-duplication of the
questions the assistant could not answer (normalising Arabic and Latin text is not SQL's job).

Days are UTC days: every timestamp column is naive UTC (see `models.utcnow`).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import case, func, or_, select

from bot.db.models import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATUSES,
    Complaint,
    Consultation,
    ConversationLog,
    District,
    HandoffRequest,
    I18n,
    Subscriber,
    Vote,
    utcnow,
)
from bot.db.session import Database

PERIODS: tuple[int, ...] = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP_INTENTS = 15
UNKNOWN_LANGUAGE = "unknown"
# The unanswered list reads at most this many fallback rows (newest first): a bound on memory
# for a commune whose model went badly wrong, far above what an NLU author labels in a sitting.
MAX_FALLBACK_ROWS = 20_000


def home_counts(database: Database) -> dict[str, int]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    with database.session() as session:
        def count(query: object) -> int:
            return int(session.execute(query).scalar_one())  # type: ignore[arg-type]

        return {
            "waiting_handoffs": count(
                select(func.count(HandoffRequest.id)).where(HandoffRequest.status == "waiting")
            ),
            "open_complaints": count(
                select(func.count(Complaint.id)).where(
                    Complaint.status.in_(("received", "in_progress"))
                )
            ),
            "subscribers": count(
                select(func.count(Subscriber.id)).where(
                    Subscriber.opted_in_at.is_not(None),
                    or_(
                        Subscriber.opted_out_at.is_(None),
                        Subscriber.opted_out_at < Subscriber.opted_in_at,
                    ),
                )
            ),
            "messages_today": count(
                select(func.count(ConversationLog.id)).where(
                    ConversationLog.direction == "in", ConversationLog.created_at >= today
                )
            ),
        }


# ---- the period -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """The last `days` UTC days, today included: what "the last 30 days" means on the page."""

    days: int
    start: dt.datetime  # midnight UTC, `days - 1` days before today
    now: dt.datetime

    @classmethod
    def last(cls, days: int, now: Optional[dt.datetime] = None) -> "Period":
        now = now or utcnow()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(days=days, start=today - dt.timedelta(days=days - 1), now=now)

    @classmethod
    def from_query(cls, value: Optional[str], now: Optional[dt.datetime] = None) -> "Period":
        """Only the periods the page offers; anything else is the default, never an error."""
        try:
            days = int(value or DEFAULT_PERIOD)
        except ValueError:
            days = DEFAULT_PERIOD
        return cls.last(days if days in PERIODS else DEFAULT_PERIOD, now)

    @property
    def dates(self) -> list[dt.date]:
        first = self.start.date()
        return [first + dt.timedelta(days=n) for n in range(self.days)]


def _day(value: Any) -> dt.date:
    """`date(created_at)` is text on SQLite and a `date` on PostgreSQL."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


_INBOUND = ConversationLog.direction == "in"


# ---- messages -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayCount:
    day: dt.date
    channel: str
    language: str
    messages: int


def messages_per_day(database: Database, period: Period) -> list[DayCount]:
    """Inbound messages per UTC day, channel and language (one query; both tables derive)."""
    day = func.date(ConversationLog.created_at).label("day")
    query = (
        select(day, ConversationLog.channel, ConversationLog.language, func.count(ConversationLog.id))
        .where(_INBOUND, ConversationLog.created_at >= period.start)
        .group_by(day, ConversationLog.channel, ConversationLog.language)
    )
    with database.session() as session:
        rows = session.execute(query).all()
    merged: dict[tuple[dt.date, str, str], int] = {}
    for value, channel, language, count in rows:
        key = (_day(value), channel, language or UNKNOWN_LANGUAGE)
        merged[key] = merged.get(key, 0) + int(count)
    return [DayCount(*key, messages=count) for key, count in sorted(merged.items())]


def per_day(counts: list[DayCount], period: Period, by: str) -> tuple[list[str], list[list[int]]]:
    """A day × `by` ("channel" or "language") matrix over every day of the period, zeros
    included: the columns (sorted) and one row of counts per day."""
    columns = sorted({getattr(c, by) for c in counts})
    index = {name: n for n, name in enumerate(columns)}
    rows = {day: [0] * len(columns) for day in period.dates}
    for c in counts:
        if c.day in rows:
            rows[c.day][index[getattr(c, by)]] += c.messages
    return columns, [rows[day] for day in period.dates]


# ---- intents ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntentRow:
    intent: str
    count: int
    share: float  # of the inbound messages the model classified
    mean_confidence: Optional[float]


def top_intents(database: Database, period: Period, limit: int = TOP_INTENTS) -> list[IntentRow]:
    classified = (_INBOUND, ConversationLog.created_at >= period.start,
                  ConversationLog.intent.is_not(None))
    count = func.count(ConversationLog.id)
    query = (
        select(ConversationLog.intent, count, func.avg(ConversationLog.confidence))
        .where(*classified)
        .group_by(ConversationLog.intent)
        .order_by(count.desc(), ConversationLog.intent)
        .limit(limit)
    )
    with database.session() as session:
        total = int(session.execute(select(func.count(ConversationLog.id)).where(*classified))
                    .scalar_one())
        rows = session.execute(query).all()
    return [
        IntentRow(
            intent=intent, count=int(n), share=int(n) / total if total else 0.0,
            mean_confidence=None if mean is None else float(mean),
        )
        for intent, n, mean in rows
    ]


# ---- fallbacks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FallbackRow:
    language: str  # a language code, UNKNOWN_LANGUAGE, or "" for every language
    inbound: int
    fallbacks: int

    @property
    def rate(self) -> float:
        return self.fallbacks / self.inbound if self.inbound else 0.0


@dataclass(frozen=True)
class FallbackRates:
    overall: FallbackRow
    by_language: list[FallbackRow]


def fallback_rates(database: Database, period: Period) -> FallbackRates:
    """The share of inbound messages the assistant did not understand, per language."""
    fallbacks = func.sum(case((ConversationLog.is_fallback.is_(True), 1), else_=0))
    query = (
        select(ConversationLog.language, func.count(ConversationLog.id), fallbacks)
        .where(_INBOUND, ConversationLog.created_at >= period.start)
        .group_by(ConversationLog.language)
    )
    with database.session() as session:
        rows = session.execute(query).all()
    merged: dict[str, tuple[int, int]] = {}
    for language, inbound, failed in rows:
        key = language or UNKNOWN_LANGUAGE
        before = merged.get(key, (0, 0))
        merged[key] = (before[0] + int(inbound), before[1] + int(failed or 0))
    by_language = [FallbackRow(lang, *merged[lang]) for lang in sorted(merged)]
    overall = FallbackRow(
        "", sum(r.inbound for r in by_language), sum(r.fallbacks for r in by_language)
    )
    return FallbackRates(overall=overall, by_language=by_language)


# ---- unanswered questions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Unanswered:
    text: str  # the newest wording
    language: str  # of the newest occurrence
    count: int
    last_seen: dt.datetime
    first_seen: dt.datetime


_SPACES = re.compile(r"\s+")
_EDGES = " .,;:!?¿¡…'\"«»()-—–_*~؟،؛"


def normalise_question(text: str) -> str:
    """What makes two questions "the same" for the list: case, accents and Arabic vowel marks
    (people type "ou" for "où"), the tatweel, spacing and surrounding punctuation do not."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn" and ch != "\u0640")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", bare)).strip(_EDGES)


def unanswered_questions(database: Database, period: Period) -> list[Unanswered]:
    """Inbound messages that ended in the fallback, newest first, one line per question."""
    query = (
        select(ConversationLog.text, ConversationLog.language, ConversationLog.created_at)
        .where(
            _INBOUND,
            ConversationLog.is_fallback.is_(True),
            ConversationLog.created_at >= period.start,
        )
        .order_by(ConversationLog.created_at.desc(), ConversationLog.id.desc())
        .limit(MAX_FALLBACK_ROWS)
    )
    with database.session() as session:
        rows = session.execute(query).all()
    found: dict[str, dict[str, Any]] = {}
    for text, language, created_at in rows:
        key = normalise_question(text or "")
        if not key:
            continue
        entry = found.get(key)
        if entry is None:  # the newest occurrence comes first: its wording and language win
            found[key] = {
                "text": _SPACES.sub(" ", text).strip(), "language": language or UNKNOWN_LANGUAGE,
                "count": 1, "last_seen": created_at, "first_seen": created_at,
            }
        else:
            entry["count"] += 1
            entry["first_seen"] = created_at
    return [Unanswered(**entry) for entry in found.values()]


# ---- participation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ParticipationRow:
    consultation_id: int
    consultation: I18n
    status: str
    district_id: Optional[int]
    district: Optional[I18n]  # None: the voter gave no district
    votes: int


def participation(database: Database, period: Period) -> list[ParticipationRow]:
    """Votes per consultation and voter's district, for the consultations open at some time
    in the period (all their votes: a consultation's turnout is a total, not a daily figure).
    A consultation without votes keeps one row with 0, so it shows on the chart."""
    consultations_query = (
        select(Consultation)
        .where(Consultation.status != "draft", Consultation.opens_at <= period.now,
               Consultation.closes_at >= period.start)
        .order_by(Consultation.opens_at, Consultation.id)
    )
    votes = func.count(Vote.id)
    with database.session() as session:
        consultations = list(session.execute(consultations_query).scalars())
        ids = [c.id for c in consultations]
        counts = session.execute(
            select(Vote.consultation_id, Vote.district_id, votes)
            .where(Vote.consultation_id.in_(ids))
            .group_by(Vote.consultation_id, Vote.district_id)
        ).all() if ids else []
        district_ids = {district for _c, district, _n in counts if district is not None}
        districts = {
            d.id: d.name for d in session.execute(
                select(District).where(District.id.in_(district_ids))
            ).scalars()
        } if district_ids else {}
    per_consultation: dict[int, list[tuple[Optional[int], int]]] = {}
    for consultation_id, district_id, n in counts:
        per_consultation.setdefault(consultation_id, []).append((district_id, int(n)))
    rows: list[ParticipationRow] = []
    for c in consultations:
        found = per_consultation.get(c.id) or [(None, 0)]
        # Most votes first; "no district" last whatever its count.
        found.sort(key=lambda item: (item[0] is None, -item[1], item[0] or 0))
        rows.extend(
            ParticipationRow(c.id, c.title, c.status, district_id,
                             districts.get(district_id) if district_id else None, n)
            for district_id, n in found
        )
    return rows


# ---- complaints -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplaintMatrix:
    """Complaints received in the period: one row per category, one column per current status."""

    categories: list[str]
    statuses: list[str]
    counts: list[list[int]]

    def total(self, row: int) -> int:
        return sum(self.counts[row])


def complaints_by_category(database: Database, period: Period) -> ComplaintMatrix:
    query = (
        select(Complaint.category, Complaint.status, func.count(Complaint.id))
        .where(Complaint.created_at >= period.start)
        .group_by(Complaint.category, Complaint.status)
    )
    with database.session() as session:
        rows = session.execute(query).all()
    categories = list(COMPLAINT_CATEGORIES) + sorted(
        {c for c, _s, _n in rows} - set(COMPLAINT_CATEGORIES)
    )
    statuses = list(COMPLAINT_STATUSES) + sorted(
        {s for _c, s, _n in rows} - set(COMPLAINT_STATUSES)
    )
    counts = [[0] * len(statuses) for _ in categories]
    for category, status, n in rows:
        counts[categories.index(category)][statuses.index(status)] += int(n)
    return ComplaintMatrix(categories, statuses, counts)
