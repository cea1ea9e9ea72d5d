"""The console's side of complaints and applications: the filtered inbox and status changes.

Agents read every record of their commune (citizens only ever see their own by reference), and
change a status. A change writes the status history (a `ComplaintEvent`, which the citizen
reads when following up) and the audit entry in ONE transaction, so the log can never miss a
change nor record one that did not happen. It returns what the citizen must be told, in their
language; sending it is the caller's job (the notifier), after the commit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, Optional, Sequence, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from bot.db.console import AuditEntry
from bot.db.content import commune_id
from bot.db.models import (
    APPLICATION_STATUSES,
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATUSES,
    Application,
    Complaint,
    ComplaintEvent,
    District,
    Procedure,
)
from bot.db.session import Database
from bot.i18n import normalise_language, t

PAGE_SIZE = 50
# A note becomes a chat message: long enough for an explanation, well under Telegram's 4096.
MAX_NOTE_LENGTH = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class ComplaintFilters:
    """What the inbox is narrowed to; an empty field does not filter. Dates are UTC days,
    both ends included."""

    status: Optional[str] = None
    category: Optional[str] = None
    district: Optional[str] = None  # slug
    date_from: Optional[dt.date] = None
    date_to: Optional[dt.date] = None
    text: Optional[str] = None  # part of the reference or of the description


@dataclass(frozen=True)
class ApplicationFilters:
    status: Optional[str] = None
    procedure: Optional[str] = None  # key
    date_from: Optional[dt.date] = None
    date_to: Optional[dt.date] = None
    text: Optional[str] = None  # part of the reference


@dataclass(frozen=True)
class CitizenNotice:
    """A message owed to a citizen: where to send it and its text, already in their language."""

    channel: str
    user_id: str
    language: str
    text: str


@dataclass(frozen=True)
class StatusChange:
    reference: str
    previous: str
    status: str
    # None when the record has no way back to the citizen (applications are filed at the
    # counter or on rokhas.ma: the citizen reads the new status by quoting the reference).
    notice: Optional[CitizenNotice]


class StatusRefused(ValueError):
    """A change the console must not make: `reason` names it for the agent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- filters ----------------------------------------------------------------------------------
def _day_range(query: Select, column: Any, start: Optional[dt.date], end: Optional[dt.date]) -> Select:
    if start is not None:
        query = query.where(column >= dt.datetime.combine(start, dt.time.min))
    if end is not None:
        query = query.where(column < dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    return query


def _containing(column: Any, text: str) -> Any:
    """Case-insensitive substring, with `%` and `_` typed by the agent taken literally."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def _complaint_query(session: Session, commune: str, filters: ComplaintFilters) -> Select:
    query = select(Complaint).where(Complaint.commune_id == commune_id(session, commune))
    if filters.status:
        query = query.where(Complaint.status == filters.status)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.district:
        query = query.join(District, District.id == Complaint.district_id).where(
            District.slug == filters.district
        )
    query = _day_range(query, Complaint.created_at, filters.date_from, filters.date_to)
    if filters.text and filters.text.strip():
        text = filters.text.strip()
        query = query.where(
            or_(_containing(Complaint.reference, text), _containing(Complaint.description, text))
        )
    return query


def _application_query(session: Session, commune: str, filters: ApplicationFilters) -> Select:
    query = select(Application).where(Application.commune_id == commune_id(session, commune))
    if filters.status:
        query = query.where(Application.status == filters.status)
    if filters.procedure:
        query = query.join(Procedure, Procedure.id == Application.procedure_id).where(
            Procedure.key == filters.procedure
        )
    query = _day_range(query, Application.submitted_at, filters.date_from, filters.date_to)
    if filters.text and filters.text.strip():
        query = query.where(_containing(Application.reference, filters.text.strip()))
    return query


def _page(session: Session, query: Select, order: Sequence[Any], page: int, *load: Any) -> Page[Any]:
    total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    page = min(max(1, page), max(1, -(-total // PAGE_SIZE)))
    rows = session.execute(
        query.order_by(*order).options(*load).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    return Page(list(rows), total, page)


# ---- complaints -------------------------------------------------------------------------------
def list_complaints(
    database: Database, commune: str, filters: ComplaintFilters, page: int = 1
) -> Page[Complaint]:
    """One page of the inbox, newest first, with the total matching count."""
    with database.session() as session:
        return _page(
            session, _complaint_query(session, commune, filters),
            (Complaint.created_at.desc(), Complaint.id.desc()), page,
            selectinload(Complaint.district),
        )


def export_complaints(database: Database, commune: str, filters: ComplaintFilters) -> list[Complaint]:
    """Every matching complaint (no paging), for the CSV export."""
    with database.session() as session:
        query = _complaint_query(session, commune, filters)
        return list(
            session.execute(
                query.order_by(Complaint.created_at.desc(), Complaint.id.desc()).options(
                    selectinload(Complaint.district)
                )
            ).scalars()
        )


def complaint_detail(database: Database, commune: str, reference: str) -> Optional[Complaint]:
    """One complaint with its history and district, only within this commune."""
    with database.session() as session:
        return session.execute(
            select(Complaint)
            .where(
                Complaint.commune_id == commune_id(session, commune),
                Complaint.reference == reference,
            )
            .options(selectinload(Complaint.events), selectinload(Complaint.district))
        ).scalar_one_or_none()


def _clean_note(note: Optional[str]) -> Optional[str]:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise StatusRefused("note_too_long")
    return text or None


def complaint_notice(complaint: Complaint, status: str, note: Optional[str]) -> CitizenNotice:
    """The citizen's message for a new status, in the language they wrote the complaint in."""
    language = normalise_language(complaint.language)
    params = {
        "reference": complaint.reference,
        "category": t(f"category_{complaint.category}", language),
        "status": t(f"complaint_status_{status}", language),
    }
    text = (
        t("complaint_status_changed_note", language, note=note, **params)
        if note
        else t("complaint_status_changed", language, **params)
    )
    return CitizenNotice(complaint.channel, complaint.user_id, language, text)


def change_complaint_status(
    database: Database, commune: str, reference: str, status: str, note: Optional[str], actor: str
) -> StatusChange:
    """Set the status (or, keeping it, add a note to the history), write the event and the audit
    entry together, and return the message owed to the citizen."""
    if status not in COMPLAINT_STATUSES:
        raise StatusRefused("unknown_status")
    text = _clean_note(note)
    with database.session() as session:
        complaint = session.execute(
            select(Complaint).where(
                Complaint.commune_id == commune_id(session, commune),
                Complaint.reference == reference,
            )
        ).scalar_one_or_none()
        if complaint is None:
            raise StatusRefused("not_found")
        previous = complaint.status
        if previous == status and text is None:
            raise StatusRefused("unchanged")
        complaint.status = status
        # Stored under the citizen's language: `pick` falls back to it for any reader.
        language = normalise_language(complaint.language)
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id, status=status,
                note={language: text} if text else None,
            )
        )
        session.add(
            AuditEntry(
                actor=actor, action="complaint.status", entity="complaint", entity_id=reference,
                details={"from": previous, "to": status, "note": text},
            )
        )
        return StatusChange(reference, previous, status, complaint_notice(complaint, status, text))


# ---- applications -----------------------------------------------------------------------------
def list_applications(
    database: Database, commune: str, filters: ApplicationFilters, page: int = 1
) -> Page[Application]:
    with database.session() as session:
        return _page(
            session, _application_query(session, commune, filters),
            (Application.submitted_at.desc(), Application.id.desc()), page,
            selectinload(Application.procedure),
        )


def export_applications(
    database: Database, commune: str, filters: ApplicationFilters
) -> list[Application]:
    with database.session() as session:
        query = _application_query(session, commune, filters)
        return list(
            session.execute(
                query.order_by(Application.submitted_at.desc(), Application.id.desc()).options(
                    selectinload(Application.procedure)
                )
            ).scalars()
        )


def application_detail(database: Database, commune: str, reference: str) -> Optional[Application]:
    with database.session() as session:
        return session.execute(
            select(Application)
            .where(
                Application.commune_id == commune_id(session, commune),
                Application.reference == reference,
            )
            .options(selectinload(Application.procedure))
        ).scalar_one_or_none()


def change_application_status(
    database: Database, commune: str, reference: str, status: str, note: Optional[str], actor: str
) -> StatusChange:
    """Set the status and its note, audited in the same transaction.

    The note explains the current status to the citizen who follows the file up, so a new
    status without a note clears the old one (a stale "a document is missing" must not survive
    an approval). Applications store no channel: nobody can be messaged, `notice` is None.
    """
    if status not in APPLICATION_STATUSES:
        raise StatusRefused("unknown_status")
    text = _clean_note(note)
    with database.session() as session:
        application = session.execute(
            select(Application).where(
                Application.commune_id == commune_id(session, commune),
                Application.reference == reference,
            )
        ).scalar_one_or_none()
        if application is None:
            raise StatusRefused("not_found")
        previous = application.status
        if previous == status and text is None:
            raise StatusRefused("unchanged")
        application.status = status
        application.note = {"fr": text} if text else None
        session.add(
            AuditEntry(
                actor=actor, action="application.status", entity="application",
                entity_id=reference, details={"from": previous, "to": status, "note": text},
            )
        )
        return StatusChange(reference, previous, status, None)


# ---- lookups for the filter forms -------------------------------------------------------------
def filter_choices(database: Database, commune: str) -> dict[str, Any]:
    """Districts and procedures (slug/key and name) for the filter drop-downs."""
    with database.session() as session:
        cid = commune_id(session, commune)
        districts = session.execute(
            select(District.slug, District.name).where(District.commune_id == cid).order_by(District.slug)
        ).all()
        procedures = session.execute(
            select(Procedure.key, Procedure.name).where(Procedure.commune_id == cid).order_by(Procedure.key)
        ).all()
    return {
        "statuses": COMPLAINT_STATUSES,
        "categories": COMPLAINT_CATEGORIES,
        "application_statuses": APPLICATION_STATUSES,
        "districts": [(slug, name) for slug, name in districts],
        "procedures": [(key, name) for key, name in procedures],
    }
