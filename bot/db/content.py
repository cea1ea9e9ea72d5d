"""Reads of the commune's content: what the assistant answers from.

Every function takes the `Database` and the commune's slug and returns ORM rows loaded with
what the caller will read (sessions close before the actions format the answer), so an
agent's edit in the console shows in the very next answer: nothing here is cached.
"""
from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import (
    Commune,
    Consultation,
    ConsultationOption,
    District,
    Office,
    Procedure,
    Tax,
    Vote,
    utcnow,
)
from bot.db.session import Database


def commune_id(session: Session, slug: str) -> int:
    found = session.execute(select(Commune.id).where(Commune.slug == slug)).scalar_one_or_none()
    if found is None:
        raise LookupError(f"no commune {slug!r} in the database: run `sawt seed`")
    return int(found)


def fold(text: str) -> str:
    """Lower case without accents or Arabic diacritics, for matching what people type."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


# ---- procedures and taxes ------------------------------------------------------------------
def get_procedure(database: Database, commune: str, key: str) -> Optional[Procedure]:
    with database.session() as session:
        return session.execute(
            select(Procedure)
            .where(Procedure.commune_id == commune_id(session, commune), Procedure.key == key)
            .options(selectinload(Procedure.office).selectinload(Office.district))
        ).scalar_one_or_none()


def _resolve(rows: list[Any], value: str) -> Optional[Any]:
    """The row whose key, name or synonym the value is, or else the one whose spelling the
    value contains (longest wins): the model may extract "la taxe sur les terrains non bâtis"
    where only "terrains non bâtis" is a known synonym."""
    wanted = fold(value)
    best: Optional[tuple[int, Any]] = None
    for row in rows:
        spellings = [row.key, *row.name.values(), *row.synonyms]
        for spelling in (fold(s) for s in spellings if s):
            if spelling == wanted:
                return row
            if len(spelling) >= 3 and spelling in wanted and (best is None or len(spelling) > best[0]):
                best = (len(spelling), row)
    return best[1] if best else None


def find_procedure(database: Database, commune: str, value: str) -> Optional[Procedure]:
    """The procedure an extracted entity value names (canonical key or any known spelling)."""
    found = get_procedure(database, commune, value)
    if found is not None:
        return found
    row = _resolve(list_procedures(database, commune), value)
    return get_procedure(database, commune, row.key) if row is not None else None


def list_procedures(database: Database, commune: str) -> list[Procedure]:
    with database.session() as session:
        return list(
            session.execute(
                select(Procedure)
                .where(Procedure.commune_id == commune_id(session, commune))
                .order_by(Procedure.id)
            ).scalars()
        )


def get_tax(database: Database, commune: str, key: str) -> Optional[Tax]:
    with database.session() as session:
        return session.execute(
            select(Tax)
            .where(Tax.commune_id == commune_id(session, commune), Tax.key == key)
            .options(selectinload(Tax.office))
        ).scalar_one_or_none()


def list_taxes(database: Database, commune: str) -> list[Tax]:
    with database.session() as session:
        return list(
            session.execute(
                select(Tax).where(Tax.commune_id == commune_id(session, commune)).order_by(Tax.id)
            ).scalars()
        )


def find_tax(database: Database, commune: str, value: str) -> Optional[Tax]:
    found = get_tax(database, commune, value)
    if found is not None:
        return found
    row = _resolve(list_taxes(database, commune), value)
    return get_tax(database, commune, row.key) if row is not None else None


# ---- places ----------------------------------------------------------------------------------
def list_districts(database: Database, commune: str) -> list[District]:
    with database.session() as session:
        return list(
            session.execute(
                select(District)
                .where(District.commune_id == commune_id(session, commune))
                .order_by(District.id)
            ).scalars()
        )


def find_district(database: Database, commune: str, text: str) -> Optional[District]:
    """The district whose slug, name or alias the text is or contains (longest match wins)."""
    wanted = fold(text)
    if not wanted:
        return None
    best: Optional[tuple[int, District]] = None
    for district in list_districts(database, commune):
        spellings = [district.slug.replace("_", " "), *district.name.values(), *district.aliases]
        for spelling in spellings:
            folded = fold(spelling)
            if folded and (folded == wanted or folded in wanted):
                if best is None or len(folded) > best[0]:
                    best = (len(folded), district)
    return best[1] if best else None


def district_offices(database: Database, commune: str, district_slug: str) -> list[Office]:
    with database.session() as session:
        return list(
            session.execute(
                select(Office)
                .join(District, Office.district_id == District.id)
                .where(
                    Office.commune_id == commune_id(session, commune),
                    District.slug == district_slug,
                )
                .order_by(Office.id)
            ).scalars()
        )


def annex_offices(database: Database, commune: str) -> list[Office]:
    """The administrative annexes (slug `annexe_…`, see seed_data/offices.yml): the local
    authority's counters, where residence certificates are issued."""
    with database.session() as session:
        return list(
            session.execute(
                select(Office)
                .where(Office.commune_id == commune_id(session, commune), Office.slug.like("annexe%"))
                .options(selectinload(Office.district))
                .order_by(Office.slug)
            ).scalars()
        )


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): offices are a few km apart, this is exact enough."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def nearest_office(
    database: Database, commune: str, latitude: float, longitude: float
) -> Optional[tuple[Office, float]]:
    """The closest office with coordinates, and its distance in km."""
    with database.session() as session:
        offices = session.execute(
            select(Office).where(
                Office.commune_id == commune_id(session, commune),
                Office.latitude.is_not(None),
                Office.longitude.is_not(None),
            )
        ).scalars()
        ranked = sorted(
            ((o, _distance_km(latitude, longitude, o.latitude, o.longitude)) for o in offices),
            key=lambda pair: pair[1],
        )
    return ranked[0] if ranked else None


# ---- consultations ----------------------------------------------------------------------------
def _consultations(
    database: Database, commune: str, is_open: bool, district_slug: Optional[str] = None
) -> list[Consultation]:
    now = utcnow()
    with database.session() as session:
        query = (
            select(Consultation)
            .where(Consultation.commune_id == commune_id(session, commune))
            .options(
                selectinload(Consultation.options), selectinload(Consultation.district)
            )
        )
        if is_open:
            query = query.where(
                Consultation.status == "open",
                Consultation.opens_at <= now,
                Consultation.closes_at > now,
            ).order_by(Consultation.closes_at)
        else:
            query = query.where(
                or_(Consultation.status == "closed", Consultation.closes_at <= now)
            ).order_by(Consultation.closes_at.desc())
        if district_slug:
            # The whole commune's consultations concern every district too.
            query = query.outerjoin(District, Consultation.district_id == District.id).where(
                or_(Consultation.district_id.is_(None), District.slug == district_slug)
            )
        return list(session.execute(query).scalars())


def open_consultations(
    database: Database, commune: str, district_slug: Optional[str] = None
) -> list[Consultation]:
    return _consultations(database, commune, True, district_slug)


def closed_consultations(database: Database, commune: str) -> list[Consultation]:
    return _consultations(database, commune, False)


def get_consultation(database: Database, commune: str, slug: str) -> Optional[Consultation]:
    with database.session() as session:
        return session.execute(
            select(Consultation)
            .where(
                Consultation.commune_id == commune_id(session, commune),
                Consultation.slug == slug,
            )
            .options(selectinload(Consultation.options))
        ).scalar_one_or_none()


def is_open(consultation: Consultation, now: Optional[dt.datetime] = None) -> bool:
    now = now or utcnow()
    return (
        consultation.status == "open"
        and consultation.opens_at <= now < consultation.closes_at
    )


def vote_counts(database: Database, consultation_id: int) -> dict[str, int]:
    """Votes per option key (every option listed, zero included)."""
    with database.session() as session:
        rows = session.execute(
            select(ConsultationOption.key, func.count(Vote.id))
            .outerjoin(Vote, Vote.option_id == ConsultationOption.id)
            .where(ConsultationOption.consultation_id == consultation_id)
            .group_by(ConsultationOption.key, ConsultationOption.position)
            .order_by(ConsultationOption.position)
        ).all()
    return {key: int(count) for key, count in rows}
