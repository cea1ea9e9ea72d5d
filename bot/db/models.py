"""The commune's database: content the assistant answers from, and what citizens did.

Every text a citizen can read is an `I18n` JSON object `{"fr": ..., "ary": ..., "ary_latn": ...}`
so that an agent edits the three languages side by side and no answer exists in one only.
Lists of such texts (documents, steps) are JSON lists of `I18n`. The app's tables share a
database with Rasa's tracker store but never its `events` table.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declarative_base, relationship

Base: Any = declarative_base()

I18n = dict[str, str]
LANGUAGES: tuple[str, ...] = ("fr", "ary", "ary_latn")


def utcnow() -> dt.datetime:
    """Naive UTC, the one convention for every timestamp column (SQLite keeps no zone)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Commune(Base):
    __tablename__ = "communes"
    id: Mapped[int] = Column(Integer, primary_key=True)
    slug: Mapped[str] = Column(String(64), unique=True, nullable=False)
    name: Mapped[I18n] = Column(JSON, nullable=False)
    region: Mapped[Optional[I18n]] = Column(JSON)
    country: Mapped[str] = Column(String(2), default="MA", nullable=False)
    timezone: Mapped[str] = Column(String(64), default="Africa/Casablanca", nullable=False)
    website: Mapped[Optional[str]] = Column(String(255))
    phone: Mapped[Optional[str]] = Column(String(64))

    districts: Mapped[list["District"]] = relationship("District", back_populates="commune")
    offices: Mapped[list["Office"]] = relationship("Office", back_populates="commune")


class District(Base):
    """A neighbourhood or administrative annex (annexe administrative)."""

    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("commune_id", "slug"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    slug: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[I18n] = Column(JSON, nullable=False)
    # Spellings people type: "hay el qods", "حي القدس", "l9ods"…
    aliases: Mapped[list[str]] = Column(JSON, default=list, nullable=False)
    latitude: Mapped[Optional[float]] = Column(Float)
    longitude: Mapped[Optional[float]] = Column(Float)

    commune: Mapped[Commune] = relationship("Commune", back_populates="districts")


class Office(Base):
    """A place a citizen goes to: town hall, civil-status bureau, annex, tax counter."""

    __tablename__ = "offices"
    __table_args__ = (UniqueConstraint("commune_id", "slug"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    slug: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[I18n] = Column(JSON, nullable=False)
    address: Mapped[I18n] = Column(JSON, nullable=False)
    hours: Mapped[I18n] = Column(JSON, nullable=False)
    phone: Mapped[Optional[str]] = Column(String(64))
    latitude: Mapped[Optional[float]] = Column(Float)
    longitude: Mapped[Optional[float]] = Column(Float)

    commune: Mapped[Commune] = relationship("Commune", back_populates="offices")
    district: Mapped[Optional[District]] = relationship("District")


class Procedure(Base):
    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("commune_id", "key"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[I18n] = Column(JSON, nullable=False)
    synonyms: Mapped[list[str]] = Column(JSON, default=list, nullable=False)
    documents: Mapped[list[I18n]] = Column(JSON, default=list, nullable=False)
    steps: Mapped[list[I18n]] = Column(JSON, default=list, nullable=False)
    cost: Mapped[I18n] = Column(JSON, nullable=False)
    cost_mad: Mapped[Optional[Decimal]] = Column(Numeric(10, 2))
    delay: Mapped[I18n] = Column(JSON, nullable=False)
    office_id: Mapped[Optional[int]] = Column(ForeignKey("offices.id"))
    online_url: Mapped[Optional[str]] = Column(String(255))
    legal_basis: Mapped[Optional[I18n]] = Column(JSON)
    last_verified: Mapped[Optional[dt.date]] = Column(Date)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    office: Mapped[Optional[Office]] = relationship("Office")


class Tax(Base):
    """A local tax of laws 47-06 / 07-20 (TSC, TH, TNB…)."""

    __tablename__ = "taxes"
    __table_args__ = (UniqueConstraint("commune_id", "key"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[I18n] = Column(JSON, nullable=False)
    synonyms: Mapped[list[str]] = Column(JSON, default=list, nullable=False)
    description: Mapped[I18n] = Column(JSON, nullable=False)
    who_pays: Mapped[I18n] = Column(JSON, nullable=False)
    base_rate: Mapped[I18n] = Column(JSON, nullable=False)
    deadline: Mapped[I18n] = Column(JSON, nullable=False)
    # Machine-readable yearly due date, so "when is it due" can also say "in 12 days".
    due_month: Mapped[Optional[int]] = Column(Integer)
    due_day: Mapped[Optional[int]] = Column(Integer)
    penalty: Mapped[I18n] = Column(JSON, nullable=False)
    how_to_pay: Mapped[I18n] = Column(JSON, nullable=False)
    online_url: Mapped[Optional[str]] = Column(String(255))
    office_id: Mapped[Optional[int]] = Column(ForeignKey("offices.id"))
    legal_basis: Mapped[Optional[I18n]] = Column(JSON)
    last_verified: Mapped[Optional[dt.date]] = Column(Date)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    office: Mapped[Optional[Office]] = relationship("Office")


class TaxAccount(Base):
    """A taxpayer's account. Its balance is shown only after the verification answer."""

    __tablename__ = "tax_accounts"
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    tax_id: Mapped[int] = Column(ForeignKey("taxes.id"), nullable=False)
    reference: Mapped[str] = Column(String(32), unique=True, nullable=False)
    holder_name: Mapped[str] = Column(String(255), nullable=False)
    # The question asked before anything is shown, e.g. "the last 4 digits of the holder's CIN".
    verification_question: Mapped[I18n] = Column(JSON, nullable=False)
    verification_hash: Mapped[str] = Column(String(255), nullable=False)
    amount_due: Mapped[Decimal] = Column(Numeric(12, 2), nullable=False, default=0)
    due_date: Mapped[Optional[dt.date]] = Column(Date)
    failed_attempts: Mapped[int] = Column(Integer, default=0, nullable=False)
    locked_until: Mapped[Optional[dt.datetime]] = Column(DateTime)

    tax: Mapped[Tax] = relationship("Tax")
    payments: Mapped[list["TaxPayment"]] = relationship(
        "TaxPayment", back_populates="account", order_by="TaxPayment.paid_at"
    )


class TaxPayment(Base):
    __tablename__ = "tax_payments"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("tax_accounts.id"), nullable=False)
    amount: Mapped[Decimal] = Column(Numeric(12, 2), nullable=False)
    paid_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    method: Mapped[str] = Column(String(32), nullable=False)  # online, counter, agency

    account: Mapped[TaxAccount] = relationship("TaxAccount", back_populates="payments")


APPLICATION_STATUSES: tuple[str, ...] = (
    "received", "in_review", "missing_documents", "approved", "rejected", "ready",
)


class Application(Base):
    """A citizen's file for a procedure (building permit, legalisation…), followed by reference."""

    __tablename__ = "applications"
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    reference: Mapped[str] = Column(String(32), unique=True, nullable=False)
    procedure_id: Mapped[int] = Column(ForeignKey("procedures.id"), nullable=False)
    status: Mapped[str] = Column(String(32), nullable=False)
    note: Mapped[Optional[I18n]] = Column(JSON)
    submitted_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    procedure: Mapped[Procedure] = relationship("Procedure")


class Consultation(Base):
    """A public consultation, vote or participatory-budget call."""

    __tablename__ = "consultations"
    __table_args__ = (UniqueConstraint("commune_id", "slug"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    slug: Mapped[str] = Column(String(64), nullable=False)
    title: Mapped[I18n] = Column(JSON, nullable=False)
    description: Mapped[I18n] = Column(JSON, nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False)  # draft, open, closed
    opens_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    closes_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)
    # None: the whole commune; else the consultation concerns this district.
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    results_summary: Mapped[Optional[I18n]] = Column(JSON)

    district: Mapped[Optional[District]] = relationship("District")
    options: Mapped[list["ConsultationOption"]] = relationship(
        "ConsultationOption", back_populates="consultation", order_by="ConsultationOption.position"
    )


class ConsultationOption(Base):
    __tablename__ = "consultation_options"
    __table_args__ = (UniqueConstraint("consultation_id", "key"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    consultation_id: Mapped[int] = Column(ForeignKey("consultations.id"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    label: Mapped[I18n] = Column(JSON, nullable=False)
    position: Mapped[int] = Column(Integer, default=0, nullable=False)

    consultation: Mapped[Consultation] = relationship("Consultation", back_populates="options")


class Vote(Base):
    """One row per citizen and consultation: voting again while open replaces the choice."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("consultation_id", "channel", "user_id"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    consultation_id: Mapped[int] = Column(ForeignKey("consultations.id"), nullable=False)
    option_id: Mapped[int] = Column(ForeignKey("consultation_options.id"), nullable=False)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    option: Mapped[ConsultationOption] = relationship("ConsultationOption")


class Idea(Base):
    __tablename__ = "ideas"
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    # IDE-YYYY-NNNNNN, set right after the row gets its id (same transaction).
    reference: Mapped[Optional[str]] = Column(String(32), unique=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    language: Mapped[str] = Column(String(8), nullable=False)
    status: Mapped[str] = Column(String(16), default="new", nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


COMPLAINT_CATEGORIES: tuple[str, ...] = (
    "lighting", "waste", "roads", "water", "green_spaces", "noise", "other",
)
COMPLAINT_STATUSES: tuple[str, ...] = ("received", "in_progress", "resolved", "rejected")


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    # REC-YYYY-NNNNNN, set right after the row gets its id (same transaction).
    reference: Mapped[Optional[str]] = Column(String(32), unique=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    category: Mapped[str] = Column(String(32), nullable=False)
    description: Mapped[str] = Column(Text, nullable=False)
    place_text: Mapped[Optional[str]] = Column(Text)
    latitude: Mapped[Optional[float]] = Column(Float)
    longitude: Mapped[Optional[float]] = Column(Float)
    photo_path: Mapped[Optional[str]] = Column(String(255))
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    language: Mapped[str] = Column(String(8), nullable=False)
    status: Mapped[str] = Column(String(16), default="received", nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = Column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    events: Mapped[list["ComplaintEvent"]] = relationship(
        "ComplaintEvent", back_populates="complaint", order_by="ComplaintEvent.id"
    )
    district: Mapped[Optional[District]] = relationship("District")


class ComplaintEvent(Base):
    """The status history of a complaint, shown to the citizen who follows it up."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = Column(Integer, primary_key=True)
    complaint_id: Mapped[int] = Column(ForeignKey("complaints.id"), nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False)
    note: Mapped[Optional[I18n]] = Column(JSON)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    complaint: Mapped[Complaint] = relationship("Complaint", back_populates="events")


SUBSCRIPTION_TOPICS: tuple[str, ...] = ("consultations", "taxes", "works", "events", "jobs")


class Subscriber(Base):
    """A citizen who opted in to announcements; an opt-out keeps the row (opted_out_at set)."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    language: Mapped[str] = Column(String(8), nullable=False)
    district_id: Mapped[Optional[int]] = Column(ForeignKey("districts.id"))
    topics: Mapped[list[str]] = Column(JSON, default=list, nullable=False)
    opted_in_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    opted_out_at: Mapped[Optional[dt.datetime]] = Column(DateTime)

    district: Mapped[Optional[District]] = relationship("District")

    @property
    def active(self) -> bool:
        return self.opted_in_at is not None and (
            self.opted_out_at is None or self.opted_out_at < self.opted_in_at
        )


class HandoffRequest(Base):
    """A citizen asked for a person; the console's queue."""

    __tablename__ = "handoff_requests"
    id: Mapped[int] = Column(Integer, primary_key=True)
    commune_id: Mapped[int] = Column(ForeignKey("communes.id"), nullable=False)
    sender_id: Mapped[str] = Column(String(160), nullable=False, index=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    language: Mapped[str] = Column(String(8), nullable=False)
    reason: Mapped[Optional[str]] = Column(Text)
    # waiting, active (an agent has it: the bot stays silent), closed
    status: Mapped[str] = Column(String(16), default="waiting", nullable=False)
    agent: Mapped[Optional[str]] = Column(String(64))
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    # When the agent took it (the queue lists active conversations in that order).
    taken_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    closed_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class ConversationLog(Base):
    """One row per message in or out: the dashboard's numbers and the fallback list."""

    __tablename__ = "conversation_log"
    id: Mapped[int] = Column(Integer, primary_key=True)
    sender_id: Mapped[str] = Column(String(160), nullable=False, index=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    direction: Mapped[str] = Column(String(3), nullable=False)  # in, out
    text: Mapped[Optional[str]] = Column(Text)
    intent: Mapped[Optional[str]] = Column(String(64))
    confidence: Mapped[Optional[float]] = Column(Float)
    language: Mapped[Optional[str]] = Column(String(8))
    is_fallback: Mapped[bool] = Column(Boolean, default=False, nullable=False)
    # Who wrote an outgoing message: an agent's username; None for the assistant.
    author: Mapped[Optional[str]] = Column(String(64))
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False, index=True)
