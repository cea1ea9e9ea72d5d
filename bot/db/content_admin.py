"""The content editor's reads and writes: procedures, taxes, offices, consultations.

The assistant reads the same rows through `bot.db.content`, which caches nothing, so a saved
edit is in the very next answer: no retraining, no restart. Every write checks the whole form
first (`bot.db.content_fields`: nothing is written when a rule is broken) and adds its audit
entry in the same transaction, so no change exists without the record of who made it and
what it was before.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.db.console import AuditEntry
from bot.db.content import commune_id
from bot.db.content_fields import (
    Choice,
    Day,
    Field,
    FieldError,
    Form,
    FormContext,
    I18nList,
    I18nText,
    Invalid,
    Lines,
    Moment,
    Number,
    Phone,
    Reference,
    Slug,
    Url,
    changes,
    form_values,
    is_slug,
    jsonable,
    parse_form,
    slugify,
)
from bot.db.models import (
    Commune,
    Consultation,
    ConsultationOption,
    District,
    I18n,
    Office,
    Procedure,
    Tax,
    Vote,
    utcnow,
)
from bot.db.session import Database

CONSULTATION_STATUSES: tuple[str, ...] = ("draft", "open", "closed")
MIN_OPEN_OPTIONS = 2
# A WhatsApp list message shows at most 10 rows: more options could not be offered there.
MAX_OPTIONS = 10
PARAGRAPH = 1500

PROCEDURE_FIELDS: tuple[Field, ...] = (
    I18nText("name", max_length=200),
    I18nList("documents"),
    I18nList("steps"),
    I18nText("cost", max_length=PARAGRAPH, multiline=True),
    Number("cost_mad", kind="decimal", minimum=0, maximum=1_000_000),
    I18nText("delay", max_length=PARAGRAPH, multiline=True),
    Reference("office", attr="office_id", relation="office"),
    Url("online_url"),
    I18nText("legal_basis", required=False, max_length=PARAGRAPH, multiline=True),
    Lines("synonyms"),
    Day("last_verified"),
)
TAX_FIELDS: tuple[Field, ...] = (
    I18nText("name", max_length=200),
    I18nText("description", max_length=PARAGRAPH, multiline=True),
    I18nText("who_pays", max_length=PARAGRAPH, multiline=True),
    I18nText("base_rate", max_length=PARAGRAPH, multiline=True),
    I18nText("deadline", max_length=PARAGRAPH, multiline=True),
    Number("due_month", kind="int", minimum=1, maximum=12),
    Number("due_day", kind="int", minimum=1, maximum=31),
    I18nText("penalty", max_length=PARAGRAPH, multiline=True),
    I18nText("how_to_pay", max_length=PARAGRAPH, multiline=True),
    Url("online_url"),
    Reference("office", attr="office_id", relation="office"),
    I18nText("legal_basis", required=False, max_length=PARAGRAPH, multiline=True),
    Lines("synonyms"),
    Day("last_verified"),
)
OFFICE_FIELDS: tuple[Field, ...] = (
    I18nText("name", max_length=200),
    I18nText("address", max_length=500, multiline=True),
    I18nText("hours", max_length=PARAGRAPH, multiline=True),
    Phone("phone"),
    Number("latitude", kind="float", minimum=-90, maximum=90),
    Number("longitude", kind="float", minimum=-180, maximum=180),
    Reference("district", attr="district_id", relation="district"),
)
CONSULTATION_FIELDS: tuple[Field, ...] = (
    I18nText("title", max_length=200),
    I18nText("description", max_length=PARAGRAPH, multiline=True),
    Choice("status", choices=CONSULTATION_STATUSES),
    Moment("opens_at"),
    Moment("closes_at"),
    Reference("district", attr="district_id", relation="district"),
    I18nText("results_summary", required=False, max_length=PARAGRAPH, multiline=True),
)
NEW_CONSULTATION_FIELDS: tuple[Field, ...] = (Slug("slug"), *CONSULTATION_FIELDS)
OPTION_LABEL = I18nText("label", max_length=200)


@dataclass(frozen=True)
class Kind:
    """One editable kind of content: its table, identifier, fields and cross-field rules."""

    name: str  # URL segment: procedures, taxes, offices, consultations
    entity: str  # audit entity: procedure, tax, office, consultation
    model: Any
    key: str  # the identifying column: key or slug
    title: str  # the multilingual column that names a row
    fields: tuple[Field, ...]
    check: Callable[[Session, Any, dict[str, Any]], list[FieldError]] = lambda s, r, v: []
    eager: tuple[str, ...] = ()


def _check_tax(session: Session, row: Any, values: dict[str, Any]) -> list[FieldError]:
    if "due_month" not in values or "due_day" not in values:
        return []  # one of them is already refused
    month, day = values["due_month"], values["due_day"]
    if (month is None) != (day is None):
        return [FieldError("due_day", "content_error_due_pair")]
    if month is not None:
        try:
            dt.date(2025, month, day)  # a common year: a 29 February would skip three years
        except ValueError:
            return [FieldError("due_day", "content_error_due_date")]
    return []


def _check_office(session: Session, row: Any, values: dict[str, Any]) -> list[FieldError]:
    if "latitude" not in values or "longitude" not in values:
        return []
    if (values["latitude"] is None) != (values["longitude"] is None):
        return [FieldError("longitude", "content_error_coordinates_pair")]
    return []


def _check_consultation(session: Session, row: Any, values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    opens, closes = values.get("opens_at"), values.get("closes_at")
    if opens is not None and closes is not None and closes <= opens:
        errors.append(FieldError("closes_at", "content_error_dates_order"))
    options = len(row.options) if row is not None else 0
    if values.get("status") == "open" and options < MIN_OPEN_OPTIONS:
        errors.append(
            FieldError("status", "content_error_open_needs_options", {"min": MIN_OPEN_OPTIONS})
        )
    return errors


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("procedures", "procedure", Procedure, "key", "name", PROCEDURE_FIELDS,
             eager=("office",)),
        Kind("taxes", "tax", Tax, "key", "name", TAX_FIELDS, _check_tax, eager=("office",)),
        Kind("offices", "office", Office, "slug", "name", OFFICE_FIELDS, _check_office,
             eager=("district",)),
        Kind("consultations", "consultation", Consultation, "slug", "title",
             CONSULTATION_FIELDS, _check_consultation, eager=("district", "options")),
    )
}


# ---- views handed to the pages (plain data: no ORM row outlives its session) --------------------
@dataclass(frozen=True)
class Summary:
    """One line of a list page."""

    key: str
    title: I18n
    detail: Optional[I18n] = None
    last_verified: Optional[dt.date] = None
    updated_at: Optional[dt.datetime] = None
    status: Optional[str] = None
    opens_at: Optional[dt.datetime] = None
    closes_at: Optional[dt.datetime] = None
    options: int = 0
    votes: int = 0


@dataclass(frozen=True)
class OptionView:
    key: str
    label: I18n
    votes: int


@dataclass(frozen=True)
class LastChange:
    actor: str
    at: dt.datetime


@dataclass
class EditView:
    """What an edit page shows: the form values and the choices of its selects."""

    kind: str
    key: str
    title: I18n
    values: dict[str, str]
    offices: list[tuple[str, I18n]] = field(default_factory=list)
    districts: list[tuple[str, I18n]] = field(default_factory=list)
    options: list[OptionView] = field(default_factory=list)
    timezone: str = "UTC"
    updated_at: Optional[dt.datetime] = None
    last_change: Optional[LastChange] = None


# ---- helpers ---------------------------------------------------------------------------------
def _commune(session: Session, slug: str) -> Commune:
    return session.get(Commune, commune_id(session, slug))


def _context(session: Session, commune: Commune) -> FormContext:
    zone = ZoneInfo(commune.timezone)
    offices = session.execute(
        select(Office.slug, Office.id).where(Office.commune_id == commune.id)
    ).all()
    districts = session.execute(
        select(District.slug, District.id).where(District.commune_id == commune.id)
    ).all()
    return FormContext(
        timezone=zone,
        today=dt.datetime.now(zone).date(),
        references={"office": dict(offices), "district": dict(districts)},
    )


def _row(session: Session, kind: Kind, commune: Commune, key: str) -> Any:
    query = select(kind.model).where(
        kind.model.commune_id == commune.id, getattr(kind.model, kind.key) == key
    )
    for relation in kind.eager:
        query = query.options(selectinload(getattr(kind.model, relation)))
    return session.execute(query).scalar_one_or_none()


def _audit(session: Session, actor: str, action: str, entity: str, entity_id: str,
           details: dict[str, Any]) -> None:
    """The audit entry of `bot.db.console.audit`, in the caller's transaction."""
    session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_id=entity_id,
                           details=details))


def _diff(found: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "changes": {
            name: {"from": jsonable(before), "to": jsonable(after)}
            for name, (before, after) in found.items()
        }
    }


def _local(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A stored naive-UTC time in the commune's local time (what agents and citizens read)."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(zone).replace(tzinfo=None)


def _vote_counts(session: Session, consultation_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Vote.option_id, func.count(Vote.id))
        .where(Vote.consultation_id == consultation_id)
        .group_by(Vote.option_id)
    ).all()
    return {int(option): int(count) for option, count in rows}


# ---- lists -------------------------------------------------------------------------------------
def content_counts(database: Database, commune: str) -> dict[str, int]:
    with database.session() as session:
        cid = commune_id(session, commune)
        return {
            name: int(session.execute(
                select(func.count()).select_from(kind.model).where(kind.model.commune_id == cid)
            ).scalar_one())
            for name, kind in KINDS.items()
        }


def list_items(database: Database, commune: str, kind_name: str) -> list[Summary]:
    """The rows of one kind, in the order they were written (consultation dates in the
    commune's local time)."""
    kind = KINDS[kind_name]
    with database.session() as session:
        cid = commune_id(session, commune)
        query = select(kind.model).where(kind.model.commune_id == cid).order_by(kind.model.id)
        for relation in kind.eager:
            query = query.options(selectinload(getattr(kind.model, relation)))
        rows = list(session.execute(query).scalars())
        if kind.name == "consultations":
            zone = ZoneInfo(_commune(session, commune).timezone)
            votes = dict(session.execute(
                select(Vote.consultation_id, func.count(Vote.id)).group_by(Vote.consultation_id)
            ).all())
            return [
                Summary(
                    key=row.slug, title=row.title,
                    detail=row.district.name if row.district else None,
                    status=row.status, opens_at=_local(row.opens_at, zone),
                    closes_at=_local(row.closes_at, zone),
                    options=len(row.options), votes=int(votes.get(row.id, 0)),
                )
                for row in rows
            ]
        if kind.name == "offices":
            return [
                Summary(key=row.slug, title=row.name,
                        detail=row.district.name if row.district else None)
                for row in rows
            ]
        return [
            Summary(
                key=row.key, title=row.name,
                detail=row.office.name if row.office else None,
                last_verified=row.last_verified, updated_at=row.updated_at,
            )
            for row in rows
        ]


# ---- edit forms --------------------------------------------------------------------------------
def edit_view(database: Database, commune: str, kind_name: str, key: str) -> Optional[EditView]:
    """The edit form of one row, filled from the database; None if there is no such row."""
    kind = KINDS[kind_name]
    with database.session() as session:
        town = _commune(session, commune)
        row = _row(session, kind, town, key)
        if row is None:
            return None
        context = _context(session, town)
        view = _blank_view(session, kind, town, key, getattr(row, kind.title))
        view.values = form_values(kind.fields, row, context)
        view.updated_at = getattr(row, "updated_at", None)
        last = session.execute(
            select(AuditEntry.actor, AuditEntry.at)
            .where(AuditEntry.entity == kind.entity, AuditEntry.entity_id == key)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).first()
        view.last_change = LastChange(last[0], last[1]) if last else None
        if kind.name == "consultations":
            votes = _vote_counts(session, row.id)
            view.options = [
                OptionView(option.key, option.label, votes.get(option.id, 0))
                for option in row.options
            ]
        return view


def new_consultation_view(database: Database, commune: str) -> EditView:
    """The form of a new consultation: a draft opening now, for thirty days."""
    with database.session() as session:
        town = _commune(session, commune)
        context = _context(session, town)
        view = _blank_view(session, KINDS["consultations"], town, "", {})
        now = utcnow()
        draft = Consultation(status="draft", opens_at=now, closes_at=now + dt.timedelta(days=30))
        view.values = form_values(CONSULTATION_FIELDS, draft, context)
        return view


def _blank_view(session: Session, kind: Kind, town: Commune, key: str, title: I18n) -> EditView:
    offices = session.execute(
        select(Office.slug, Office.name).where(Office.commune_id == town.id).order_by(Office.id)
    ).all()
    districts = session.execute(
        select(District.slug, District.name)
        .where(District.commune_id == town.id)
        .order_by(District.id)
    ).all()
    return EditView(
        kind=kind.name, key=key, title=title, values={},
        offices=[(slug, name) for slug, name in offices],
        districts=[(slug, name) for slug, name in districts],
        timezone=town.timezone,
    )


# ---- writes ----------------------------------------------------------------------------------
def update_item(
    database: Database, commune: str, kind_name: str, key: str, form: Form, actor: str
) -> list[str]:
    """Save a posted edit form; returns the names of the fields it changed (none: nothing
    written). Raises `Invalid` (nothing written) or `LookupError` (no such row)."""
    kind = KINDS[kind_name]
    with database.session() as session:
        town = _commune(session, commune)
        row = _row(session, kind, town, key)
        if row is None:
            raise LookupError(f"no {kind.entity} {key!r}")
        context = _context(session, town)
        values, errors = parse_form(kind.fields, form, context)
        errors += kind.check(session, row, values)
        if errors:
            raise Invalid(errors)
        found = changes(kind.fields, row, values)
        if not found:
            return []
        for spec in kind.fields:
            if spec.name in found:
                spec.write(row, values[spec.name], context)
        _audit(session, actor, "content.update", kind.entity, key, _diff(found))
        return list(found)


def create_consultation(database: Database, commune: str, form: Form, actor: str) -> str:
    """A new consultation (usually a draft, to which options are added next); its slug."""
    with database.session() as session:
        town = _commune(session, commune)
        context = _context(session, town)
        values, errors = parse_form(NEW_CONSULTATION_FIELDS, form, context)
        slug = values.get("slug")
        if slug and _row(session, KINDS["consultations"], town, slug) is not None:
            errors.append(FieldError("slug", "content_error_slug_taken"))
        errors += _check_consultation(session, None, values)
        if errors:
            raise Invalid(errors)
        row = Consultation(commune_id=town.id, slug=slug)
        for spec in CONSULTATION_FIELDS:
            spec.write(row, values[spec.name], context)
        session.add(row)
        _audit(session, actor, "content.create", "consultation", str(slug),
               {"values": {name: jsonable(value) for name, value in values.items()}})
        return str(slug)


def _consultation(session: Session, commune: str, slug: str) -> Consultation:
    row = _row(session, KINDS["consultations"], _commune(session, commune), slug)
    if row is None:
        raise LookupError(f"no consultation {slug!r}")
    return row


def _option(consultation: Consultation, key: str) -> ConsultationOption:
    for option in consultation.options:
        if option.key == key:
            return option
    raise LookupError(f"no option {key!r} in consultation {consultation.slug!r}")


def _label(form: Form) -> dict[str, str]:
    label = OPTION_LABEL.parse(form, FormContext(dt.timezone.utc, dt.date.today()))
    return dict(label or {})


def add_option(database: Database, commune: str, slug: str, form: Form, actor: str) -> str:
    """A new choice for a consultation; its key (typed, or made from the French label)."""
    with database.session() as session:
        consultation = _consultation(session, commune, slug)
        label = _label(form)
        key = str(form.get("key", "")).strip().lower() or slugify(label["fr"])
        errors = []
        if not is_slug(key):
            errors.append(FieldError("key", "content_error_slug"))
        if any(option.key == key for option in consultation.options):
            errors.append(FieldError("key", "content_error_option_key_taken"))
        if len(consultation.options) >= MAX_OPTIONS:
            errors.append(FieldError("options", "content_error_too_many", {"max": MAX_OPTIONS}))
        if errors:
            raise Invalid(errors)
        position = max((option.position for option in consultation.options), default=-1) + 1
        consultation.options.append(ConsultationOption(key=key, label=label, position=position))
        _audit(session, actor, "content.option_add", "consultation", slug,
               {"option": key, "label": label})
        return key


def update_option(
    database: Database, commune: str, slug: str, key: str, form: Form, actor: str
) -> bool:
    """New labels for a choice (its key, which votes refer to, stays); False if unchanged."""
    with database.session() as session:
        option = _option(_consultation(session, commune, slug), key)
        label = _label(form)
        if label == option.label:
            return False
        _audit(session, actor, "content.option_update", "consultation", slug,
               {"option": key, "changes": {"label": {"from": option.label, "to": label}}})
        option.label = label
        return True


def remove_option(database: Database, commune: str, slug: str, key: str, actor: str) -> None:
    """Remove a choice nobody voted for (a vote must keep meaning what the citizen chose)."""
    with database.session() as session:
        consultation = _consultation(session, commune, slug)
        option = _option(consultation, key)
        votes = _vote_counts(session, consultation.id).get(option.id, 0)
        if votes:
            raise Invalid([FieldError("options", "content_error_option_has_votes",
                                      {"votes": votes})])
        if consultation.status == "open" and len(consultation.options) <= MIN_OPEN_OPTIONS:
            raise Invalid([FieldError("options", "content_error_open_needs_options",
                                      {"min": MIN_OPEN_OPTIONS})])
        consultation.options.remove(option)
        session.delete(option)
        _audit(session, actor, "content.option_remove", "consultation", slug,
               {"option": key, "label": option.label})
