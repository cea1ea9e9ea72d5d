"""Writes and private reads of what citizens did: complaints, ideas, votes, subscriptions,
hand-off requests, and the tax-balance verification.

Everything that matters to a citizen is one row written in one transaction, with a reference
they can quote. A vote is unique per citizen and consultation (the database enforces it), so a
retried webhook or two replicas can never count it twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Literal, Optional, Sequence, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.db.content import commune_id, is_open
from bot.db.models import (
    SUBSCRIPTION_TOPICS,
    Application,
    Complaint,
    ComplaintEvent,
    Consultation,
    ConsultationOption,
    District,
    HandoffRequest,
    Idea,
    Subscriber,
    TaxAccount,
    TaxPayment,
    Vote,
    utcnow,
)
from bot.db.session import Database
from bot.db.verification import check_answer
from bot.references import COMPLAINT, IDEA

MAX_VERIFICATION_ATTEMPTS = 3
LOCK_DURATION = dt.timedelta(minutes=15)
_REFERENCE_RETRIES = 5


# ---- references ---------------------------------------------------------------------------
def _next_reference(session: Session, column: Any, prefix: str) -> str:
    """`PREFIX-YYYY-NNNNNN`, one more than the year's highest (zero-padded, so text order works)."""
    year = utcnow().year
    stem = f"{prefix}-{year}-"
    highest = session.execute(
        select(column).where(column.like(stem + "%")).order_by(column.desc()).limit(1)
    ).scalar_one_or_none()
    number = int(highest.rsplit("-", 1)[1]) + 1 if highest else 1
    return f"{stem}{number:06d}"


def _with_reference(database: Database, write: Callable[[Session], str]) -> str:
    """Run a write that numbers its row; two concurrent writers may pick the same number, the
    unique constraint refuses one, and it simply tries again with the next."""
    for attempt in range(_REFERENCE_RETRIES):
        try:
            with database.session() as session:
                return write(session)
        except IntegrityError:
            if attempt == _REFERENCE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _district_id(session: Session, commune: int, slug: Optional[str]) -> Optional[int]:
    if not slug:
        return None
    return session.execute(
        select(District.id).where(District.commune_id == commune, District.slug == slug)
    ).scalar_one_or_none()


# ---- complaints -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NewComplaint:
    channel: str
    user_id: str
    category: str
    description: str
    language: str
    place_text: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    photo_path: Optional[str] = None
    district_slug: Optional[str] = None


def record_complaint(database: Database, commune: str, new: NewComplaint) -> str:
    """Store the complaint and its first status; returns its reference REC-YYYY-NNNNNN."""

    def write(session: Session) -> str:
        cid = commune_id(session, commune)
        reference = _next_reference(session, Complaint.reference, COMPLAINT)
        complaint = Complaint(
            commune_id=cid, reference=reference, channel=new.channel, user_id=new.user_id,
            category=new.category, description=new.description, place_text=new.place_text,
            latitude=new.latitude, longitude=new.longitude, photo_path=new.photo_path,
            district_id=_district_id(session, cid, new.district_slug), language=new.language,
            status="received",
        )
        complaint.events.append(ComplaintEvent(status="received"))
        session.add(complaint)
        session.flush()
        return reference

    return _with_reference(database, write)


R = TypeVar("R", Complaint, Application, TaxAccount)


def _by_reference(
    database: Database, commune: str, model: type[R], reference: str, *load: Any
) -> Optional[R]:
    """A citizen's record by the reference they quote, only within this commune."""
    with database.session() as session:
        return session.execute(
            select(model)
            .where(model.commune_id == commune_id(session, commune), model.reference == reference)
            .options(*(selectinload(relation) for relation in load))
        ).scalar_one_or_none()


def complaint_by_reference(database: Database, commune: str, reference: str) -> Optional[Complaint]:
    return _by_reference(database, commune, Complaint, reference, Complaint.events)


def application_by_reference(
    database: Database, commune: str, reference: str
) -> Optional[Application]:
    return _by_reference(database, commune, Application, reference, Application.procedure)


# ---- ideas ----------------------------------------------------------------------------------
def record_idea(
    database: Database, commune: str, channel: str, user_id: str, text: str, language: str,
    district_slug: Optional[str] = None,
) -> str:
    def write(session: Session) -> str:
        cid = commune_id(session, commune)
        reference = _next_reference(session, Idea.reference, IDEA)
        session.add(
            Idea(
                commune_id=cid, reference=reference, channel=channel, user_id=user_id,
                text=text, language=language,
                district_id=_district_id(session, cid, district_slug),
            )
        )
        session.flush()
        return reference

    return _with_reference(database, write)


# ---- votes ----------------------------------------------------------------------------------
VoteOutcome = Literal["counted", "changed", "unchanged", "closed", "unknown"]


def cast_vote(
    database: Database, commune: str, consultation_slug: str, option_key: str,
    channel: str, user_id: str,
) -> VoteOutcome:
    """One vote per citizen and consultation; voting again while it is open replaces it."""
    for _ in range(2):  # a concurrent first vote of the same citizen: the second pass updates
        try:
            with database.session() as session:
                return _cast_vote(session, commune, consultation_slug, option_key, channel, user_id)
        except IntegrityError:
            continue
    return "unchanged"


def _cast_vote(
    session: Session, commune: str, consultation_slug: str, option_key: str,
    channel: str, user_id: str,
) -> VoteOutcome:
    consultation = session.execute(
        select(Consultation).where(
            Consultation.commune_id == commune_id(session, commune),
            Consultation.slug == consultation_slug,
        )
    ).scalar_one_or_none()
    if consultation is None:
        return "unknown"
    if not is_open(consultation):
        return "closed"
    option = session.execute(
        select(ConsultationOption).where(
            ConsultationOption.consultation_id == consultation.id,
            ConsultationOption.key == option_key,
        )
    ).scalar_one_or_none()
    if option is None:
        return "unknown"
    vote = session.execute(
        select(Vote).where(
            Vote.consultation_id == consultation.id, Vote.channel == channel,
            Vote.user_id == user_id,
        )
    ).scalar_one_or_none()
    if vote is None:
        district = session.execute(
            select(Subscriber.district_id).where(
                Subscriber.channel == channel, Subscriber.user_id == user_id
            )
        ).scalar_one_or_none()
        session.add(
            Vote(
                consultation_id=consultation.id, option_id=option.id, channel=channel,
                user_id=user_id, district_id=district,
            )
        )
        session.flush()
        return "counted"
    if vote.option_id == option.id:
        return "unchanged"
    vote.option_id = option.id
    return "changed"


def current_vote(
    database: Database, consultation_id: int, channel: str, user_id: str
) -> Optional[str]:
    with database.session() as session:
        return session.execute(
            select(ConsultationOption.key)
            .join(Vote, Vote.option_id == ConsultationOption.id)
            .where(
                Vote.consultation_id == consultation_id, Vote.channel == channel,
                Vote.user_id == user_id,
            )
        ).scalar_one_or_none()


# ---- subscriptions --------------------------------------------------------------------------
def subscribe(
    database: Database, commune: str, channel: str, user_id: str, language: str,
    district_slug: Optional[str], topics: Sequence[str],
) -> bool:
    """Opt in (again); returns True when the citizen was not subscribed before."""
    wanted = [t for t in topics if t in SUBSCRIPTION_TOPICS] or list(SUBSCRIPTION_TOPICS)
    for _ in range(2):
        try:
            with database.session() as session:
                cid = commune_id(session, commune)
                row = session.execute(
                    select(Subscriber).where(
                        Subscriber.channel == channel, Subscriber.user_id == user_id
                    )
                ).scalar_one_or_none()
                was_active = row is not None and row.active
                if row is None:
                    row = Subscriber(commune_id=cid, channel=channel, user_id=user_id)
                    session.add(row)
                row.language = language
                row.district_id = _district_id(session, cid, district_slug)
                row.topics = wanted
                row.opted_in_at = utcnow()
                row.opted_out_at = None
                session.flush()
                return not was_active
        except IntegrityError:
            continue
    return False


def unsubscribe(database: Database, channel: str, user_id: str) -> bool:
    """Opt out, keeping the row; returns whether the citizen was subscribed."""
    with database.session() as session:
        row = session.execute(
            select(Subscriber).where(Subscriber.channel == channel, Subscriber.user_id == user_id)
        ).scalar_one_or_none()
        if row is None or not row.active:
            return False
        row.opted_out_at = utcnow()
        return True


# ---- hand-off -------------------------------------------------------------------------------
def request_handoff(
    database: Database, commune: str, sender_id: str, channel: str, user_id: str,
    language: str, reason: Optional[str],
) -> bool:
    """Queue the conversation for an agent; False when it is already waiting or held."""
    with database.session() as session:
        pending = session.execute(
            select(HandoffRequest.id).where(
                HandoffRequest.sender_id == sender_id,
                HandoffRequest.status.in_(("waiting", "active")),
            )
        ).first()
        if pending is not None:
            return False
        session.add(
            HandoffRequest(
                commune_id=commune_id(session, commune), sender_id=sender_id, channel=channel,
                user_id=user_id, language=language, reason=reason,
            )
        )
        return True


# ---- tax balance ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    status: Literal["ok", "wrong", "locked", "unknown"]
    attempts_left: int = 0
    locked_until: Optional[dt.datetime] = None


def tax_account(database: Database, commune: str, reference: str) -> Optional[TaxAccount]:
    return _by_reference(
        database, commune, TaxAccount, reference, TaxAccount.tax, TaxAccount.payments
    )


def verify_tax_account(
    database: Database, commune: str, reference: str, answer: str,
    now: Optional[dt.datetime] = None,
) -> Verification:
    """Check the secret; the third wrong answer locks the reference for 15 minutes.

    The row is locked for the check (`FOR UPDATE` on PostgreSQL), so parallel guesses cannot
    slip past the counter.
    """
    now = now or utcnow()
    with database.session() as session:
        account = session.execute(
            select(TaxAccount)
            .where(
                TaxAccount.commune_id == commune_id(session, commune),
                TaxAccount.reference == reference,
            )
            .with_for_update()
        ).scalar_one_or_none()
        if account is None:
            return Verification("unknown")
        if account.locked_until is not None and account.locked_until > now:
            return Verification("locked", locked_until=account.locked_until)
        if check_answer(account.verification_hash, answer):
            account.failed_attempts = 0
            account.locked_until = None
            return Verification("ok")
        account.failed_attempts += 1
        if account.failed_attempts >= MAX_VERIFICATION_ATTEMPTS:
            account.failed_attempts = 0
            account.locked_until = now + LOCK_DURATION
            return Verification("locked", locked_until=account.locked_until)
        return Verification(
            "wrong", attempts_left=MAX_VERIFICATION_ATTEMPTS - account.failed_attempts
        )


def is_locked(database: Database, commune: str, reference: str) -> Optional[dt.datetime]:
    account = tax_account(database, commune, reference)
    if account is not None and account.locked_until is not None and account.locked_until > utcnow():
        return account.locked_until
    return None


def payments_total(payments: Sequence[TaxPayment]) -> Decimal:
    return sum((p.amount for p in payments), Decimal("0"))
