"""The seed content: what a fresh install knows about its communes, from `seed_data/*.yml`.

`communes.yml` lists the communes; every other file is a mapping from a commune's slug to its
rows (districts, offices, procedures, taxes, consultations, and the demo records of
`demo.yml`). Rows refer to each other by slug or key (an office's `district`, a procedure's
`office`, a tax account's `tax`), always within the same commune, so two communes never share
a row. Times in the YAML are relative (`opens_days_ago`, `due_in_days`…) and become dates
here, at seeding time, so a fresh install always has open consultations and future deadlines.

Everything is written in one transaction: a database is either seeded completely or not at all.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Optional, TypeVar

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import (
    LANGUAGES,
    Application,
    Commune,
    Complaint,
    ComplaintEvent,
    Consultation,
    ConsultationOption,
    District,
    I18n,
    Idea,
    Office,
    Procedure,
    Tax,
    TaxAccount,
    TaxPayment,
    Vote,
    utcnow,
)
from bot.db.session import Database

SEED_DIR: Path = Path(__file__).resolve().parent / "seed_data"
SEED_FILES: tuple[str, ...] = (
    "communes", "districts", "offices", "procedures", "taxes", "consultations", "demo",
)

# libyaml's loader when PyYAML was built with it (ten times faster), else the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Row = Mapping[str, Any]
T = TypeVar("T")


@dataclass
class CommuneRows:
    """One commune's rows being written, by the slug or key the YAML refers to them with."""

    commune: Commune
    districts: dict[str, District] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    taxes: dict[str, Tax] = field(default_factory=dict)
    consultations: dict[str, Consultation] = field(default_factory=dict)


# ---- public API -------------------------------------------------------------------------------
def load_seed_data(seed_dir: Path = SEED_DIR) -> dict[str, Any]:
    """Every seed file, parsed: {"communes": [...], "districts": {slug: [...]}, …}."""
    data: dict[str, Any] = {}
    for name in SEED_FILES:
        with (seed_dir / f"{name}.yml").open(encoding="utf-8") as handle:
            data[name] = yaml.load(handle, Loader=_YAML_LOADER) or {}
    return data


def is_seeded(database: Database) -> bool:
    """Whether the database already holds a commune (then seeding leaves it alone)."""
    with database.session() as session:
        return _has_commune(session)


def seed_database(database: Database, now: Optional[dt.datetime] = None) -> bool:
    """Write the seed content in one transaction; False, writing nothing, if already seeded.

    `now` (naive UTC) anchors the relative dates of the YAML; tests pass a fixed one.
    """
    now = now or utcnow()
    data = load_seed_data()
    with database.session() as session:
        if _has_commune(session):
            return False
        for commune_row in data["communes"]:
            _seed_commune(session, commune_row, data, now)
    return True


# ---- one commune ------------------------------------------------------------------------------
def _has_commune(session: Session) -> bool:
    return session.execute(select(Commune.id).limit(1)).first() is not None


def _seed_commune(session: Session, row: Row, data: Mapping[str, Any], now: dt.datetime) -> None:
    slug = row["slug"]
    rows = CommuneRows(_add_commune(session, row))
    rows.districts = _add_districts(session, rows, _for(data["districts"], slug))
    rows.offices = _add_offices(session, rows, _for(data["offices"], slug))
    rows.procedures = _add_procedures(session, rows, _for(data["procedures"], slug))
    rows.taxes = _add_taxes(session, rows, _for(data["taxes"], slug))
    rows.consultations = _add_consultations(session, rows, _for(data["consultations"], slug), now)
    _add_demo(session, rows, data["demo"].get(slug) or {}, now)


def _for(content: Mapping[str, Any], slug: str) -> list[Row]:
    """A file's rows for one commune (keys starting with "_" hold shared YAML anchors)."""
    return list(content.get(slug) or [])


def _add_commune(session: Session, row: Row) -> Commune:
    commune = Commune(
        slug=row["slug"],
        name=_i18n(row["name"], f"commune {row['slug']}: name"),
        region=_optional_i18n(row.get("region"), f"commune {row['slug']}: region"),
        country=row.get("country", "MA"),
        timezone=row.get("timezone", "Africa/Casablanca"),
        website=row.get("website"),
        phone=row.get("phone"),
    )
    session.add(commune)
    session.flush()  # its id is needed by the rows that only hold commune_id
    return commune


def _add_districts(session: Session, rows: CommuneRows, items: list[Row]) -> dict[str, District]:
    districts: dict[str, District] = {}
    for row in items:
        district = District(
            commune=rows.commune,
            slug=row["slug"],
            name=_i18n(row["name"], f"district {row['slug']}: name"),
            aliases=list(row.get("aliases") or []),
            latitude=row.get("latitude"),
            longitude=row.get("longitude"),
        )
        session.add(district)
        districts[row["slug"]] = district
    session.flush()
    return districts


def _add_offices(session: Session, rows: CommuneRows, items: list[Row]) -> dict[str, Office]:
    offices: dict[str, Office] = {}
    for row in items:
        where = f"office {row['slug']}"
        office = Office(
            commune=rows.commune,
            district=_lookup(rows.districts, row.get("district"), f"{where}: district"),
            slug=row["slug"],
            name=_i18n(row["name"], f"{where}: name"),
            address=_i18n(row["address"], f"{where}: address"),
            hours=_i18n(row["hours"], f"{where}: hours"),
            phone=row.get("phone"),
            latitude=row.get("latitude"),
            longitude=row.get("longitude"),
        )
        session.add(office)
        offices[row["slug"]] = office
    session.flush()
    return offices


def _add_procedures(session: Session, rows: CommuneRows, items: list[Row]) -> dict[str, Procedure]:
    procedures: dict[str, Procedure] = {}
    for row in items:
        where = f"procedure {row['key']}"
        procedure = Procedure(
            commune_id=rows.commune.id,
            key=row["key"],
            name=_i18n(row["name"], f"{where}: name"),
            synonyms=list(row.get("synonyms") or []),
            documents=_i18n_list(row.get("documents"), f"{where}: documents"),
            steps=_i18n_list(row.get("steps"), f"{where}: steps"),
            cost=_i18n(row["cost"], f"{where}: cost"),
            cost_mad=_decimal(row.get("cost_mad")),
            delay=_i18n(row["delay"], f"{where}: delay"),
            office=_lookup(rows.offices, row.get("office"), f"{where}: office"),
            online_url=row.get("online_url"),
            legal_basis=_optional_i18n(row.get("legal_basis"), f"{where}: legal_basis"),
            last_verified=row.get("last_verified"),
        )
        session.add(procedure)
        procedures[row["key"]] = procedure
    session.flush()
    return procedures


_TAX_TEXTS: tuple[str, ...] = (
    "name", "description", "who_pays", "base_rate", "deadline", "penalty", "how_to_pay",
)


def _add_taxes(session: Session, rows: CommuneRows, items: list[Row]) -> dict[str, Tax]:
    taxes: dict[str, Tax] = {}
    for row in items:
        where = f"tax {row['key']}"
        texts = {name: _i18n(row[name], f"{where}: {name}") for name in _TAX_TEXTS}
        tax = Tax(
            commune_id=rows.commune.id,
            key=row["key"],
            synonyms=list(row.get("synonyms") or []),
            due_month=row.get("due_month"),
            due_day=row.get("due_day"),
            online_url=row.get("online_url"),
            office=_lookup(rows.offices, row.get("office"), f"{where}: office"),
            legal_basis=_optional_i18n(row.get("legal_basis"), f"{where}: legal_basis"),
            last_verified=row.get("last_verified"),
            **texts,
        )
        session.add(tax)
        taxes[row["key"]] = tax
    session.flush()
    return taxes


def _add_consultations(
    session: Session, rows: CommuneRows, items: list[Row], now: dt.datetime
) -> dict[str, Consultation]:
    consultations: dict[str, Consultation] = {}
    for row in items:
        where = f"consultation {row['slug']}"
        consultation = Consultation(
            commune_id=rows.commune.id,
            slug=row["slug"],
            title=_i18n(row["title"], f"{where}: title"),
            description=_i18n(row["description"], f"{where}: description"),
            status=row["status"],
            opens_at=now - dt.timedelta(days=row["opens_days_ago"]),
            closes_at=now + dt.timedelta(days=row["closes_in_days"]),
            district=_lookup(rows.districts, row.get("district"), f"{where}: district"),
            results_summary=_optional_i18n(row.get("results_summary"), f"{where}: results_summary"),
        )
        consultation.options = [
            ConsultationOption(
                key=option["key"],
                label=_i18n(option["label"], f"{where}: option {option['key']}"),
                position=position,
            )
            for position, option in enumerate(row.get("options") or [])
        ]
        session.add(consultation)
        consultations[row["slug"]] = consultation
    session.flush()
    return consultations


# ---- demo records -----------------------------------------------------------------------------
def _add_demo(session: Session, rows: CommuneRows, demo: Row, now: dt.datetime) -> None:
    _add_tax_accounts(session, rows, demo.get("tax_accounts") or [], now)
    _add_applications(session, rows, demo.get("applications") or [], now)
    _add_complaints(session, rows, demo.get("complaints") or [], now)
    _add_ideas(session, rows, demo.get("ideas") or [], now)
    _add_votes(session, rows, demo.get("votes") or {})


def _add_tax_accounts(
    session: Session, rows: CommuneRows, items: list[Row], now: dt.datetime
) -> None:
    for row in items:
        where = f"tax account {row['reference']}"
        tax = _require(rows.taxes, row["tax"], f"{where}: tax")
        account = TaxAccount(
            commune_id=rows.commune.id,
            tax=tax,
            reference=row["reference"],
            holder_name=row["holder_name"],
            verification_question=_i18n(row["verification_question"], f"{where}: question"),
            verification_hash=_argon2_hash(row["verification_hash"], where),
            amount_due=_decimal(row.get("amount_due")) or Decimal("0.00"),
            due_date=_account_due_date(row, tax, now.date()),
        )
        account.payments = [
            TaxPayment(
                amount=_decimal(payment["amount"]),
                paid_at=now - dt.timedelta(days=payment["days_ago"]),
                method=payment["method"],
            )
            for payment in row.get("payments") or []
        ]
        session.add(account)


def _account_due_date(row: Row, tax: Tax, today: dt.date) -> Optional[dt.date]:
    """`due_in_days` from today, else the next yearly deadline of the tax, else none."""
    if row.get("due_in_days") is not None:
        return today + dt.timedelta(days=row["due_in_days"])
    if tax.due_month and tax.due_day:
        return next_yearly_date(today, tax.due_month, tax.due_day)
    return None


def next_yearly_date(today: dt.date, month: int, day: int) -> dt.date:
    """The next `month`/`day` on or after `today` (the day is capped to the month's length)."""
    for year in (today.year, today.year + 1):
        candidate = dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if candidate >= today:
            return candidate
    raise AssertionError("unreachable: next year's date is always after today")


def _add_applications(
    session: Session, rows: CommuneRows, items: list[Row], now: dt.datetime
) -> None:
    for row in items:
        where = f"application {row['reference']}"
        session.add(
            Application(
                commune_id=rows.commune.id,
                reference=row["reference"],
                procedure=_require(rows.procedures, row["procedure"], f"{where}: procedure"),
                status=row["status"],
                note=_optional_i18n(row.get("note"), f"{where}: note"),
                submitted_at=now - dt.timedelta(days=row["submitted_days_ago"]),
                updated_at=now - dt.timedelta(days=row["updated_days_ago"]),
            )
        )


def _add_complaints(
    session: Session, rows: CommuneRows, items: list[Row], now: dt.datetime
) -> None:
    for row in items:
        where = f"complaint {row['reference']}"
        events = [_complaint_event(event, now, where) for event in row["events"]]
        complaint = Complaint(
            commune_id=rows.commune.id,
            reference=row["reference"],
            channel=row["channel"],
            user_id=str(row["user_id"]),
            category=row["category"],
            description=row["description"],
            place_text=row.get("place_text"),
            latitude=row.get("latitude"),
            longitude=row.get("longitude"),
            district=_lookup(rows.districts, row.get("district"), f"{where}: district"),
            language=row["language"],
            status=events[-1].status,
            created_at=events[0].created_at,
            updated_at=events[-1].created_at,
        )
        complaint.events = events
        session.add(complaint)


def _complaint_event(row: Row, now: dt.datetime, where: str) -> ComplaintEvent:
    return ComplaintEvent(
        status=row["status"],
        note=_optional_i18n(row.get("note"), f"{where}: {row['status']} note"),
        created_at=now - dt.timedelta(days=row["days_ago"]),
    )


def _add_ideas(session: Session, rows: CommuneRows, items: list[Row], now: dt.datetime) -> None:
    for row in items:
        where = f"idea {row['reference']}: district"
        district = _lookup(rows.districts, row.get("district"), where)
        session.add(
            Idea(
                commune_id=rows.commune.id,
                reference=row["reference"],
                channel=row["channel"],
                user_id=str(row["user_id"]),
                text=row["text"],
                district_id=district.id if district is not None else None,
                language=row["language"],
                created_at=now - dt.timedelta(days=row["days_ago"]),
            )
        )


def _add_votes(session: Session, rows: CommuneRows, votes: Mapping[str, Mapping[str, int]]) -> None:
    """Demo votes: `count` anonymous voters per option, spread over the consultation's window."""
    session.flush()  # options need their ids
    for slug, counts in votes.items():
        consultation = _require(rows.consultations, slug, f"votes: consultation {slug}")
        options = {option.key: option for option in consultation.options}
        number = 0
        for key, count in counts.items():
            option = _require(options, key, f"votes of {slug}: option")
            for _ in range(count):
                number += 1
                session.add(_demo_vote(consultation, option, number))


def _demo_vote(consultation: Consultation, option: ConsultationOption, number: int) -> Vote:
    window = consultation.closes_at - consultation.opens_at
    cast_at = consultation.opens_at + (window * (number % 97)) / 97
    return Vote(
        consultation_id=consultation.id,
        option_id=option.id,
        channel="rest",
        user_id=f"demo-voter-{consultation.slug}-{number:04d}",
        created_at=cast_at,
        updated_at=cast_at,
    )


# ---- checks and conversions -------------------------------------------------------------------
def _lookup(rows: Mapping[str, T], key: Optional[str], where: str) -> Optional[T]:
    """The row an optional YAML reference names: None without a reference."""
    return None if key is None else _require(rows, key, where)


def _require(rows: Mapping[str, T], key: str, where: str) -> T:
    """The row a YAML reference names, with a clear error when the commune has none such."""
    if key not in rows:
        raise ValueError(f"seed data: {where}: unknown {key!r} (known: {sorted(rows)})")
    return rows[key]


def _i18n(value: Any, where: str) -> I18n:
    """A citizen-readable text, required in the three languages, none empty."""
    if not isinstance(value, Mapping):
        raise ValueError(f"seed data: {where}: expected {{fr, ary, ary_latn}}, got {value!r}")
    missing = [language for language in LANGUAGES if not str(value.get(language) or "").strip()]
    if missing:
        raise ValueError(f"seed data: {where}: missing or empty {', '.join(missing)}")
    return {language: str(value[language]).strip() for language in LANGUAGES}


def _optional_i18n(value: Any, where: str) -> Optional[I18n]:
    return None if value is None else _i18n(value, where)


def _i18n_list(values: Any, where: str) -> list[I18n]:
    return [_i18n(value, f"{where}[{index}]") for index, value in enumerate(values or [])]


def _decimal(value: Any) -> Optional[Decimal]:
    """Money from YAML (a float or an int) as an exact Decimal with two decimals."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _argon2_hash(value: str, where: str) -> str:
    """Refuse a clear-text secret: seed files hold only Argon2 hashes (bot.db.verification)."""
    if not str(value).startswith("$argon2"):
        raise ValueError(f"seed data: {where}: verification_hash must be an Argon2 hash")
    return str(value)
