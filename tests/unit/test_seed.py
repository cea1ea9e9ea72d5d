"""The seed content: complete in the three languages, separate per commune, written once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, func, select
from sqlalchemy.orm import Session

from bot.db import seed as seed_module
from bot.db.models import (
    LANGUAGES,
    Application,
    Base,
    Commune,
    Complaint,
    Consultation,
    District,
    Office,
    Procedure,
    Tax,
    TaxAccount,
)
from bot.db.seed import SEED_DIR, is_seeded, next_yearly_date, seed_database
from bot.db.session import Database
from bot.db.verification import check_answer, hash_answer, normalise_answer

PROCEDURE_KEYS = (
    "birth_certificate", "death_certificate", "birth_declaration", "family_record_book",
    "residence_certificate", "signature_legalization", "certified_copy", "building_permit",
    "housing_permit", "business_license", "public_domain_occupation",
)
TAX_KEYS = ("tsc", "th", "tnb", "construction_tax", "beverage_tax", "public_domain_fee")
DISTRICT_SLUGS = (
    "medina", "ville_verte", "hay_al_massira", "hay_essalam", "hay_al_qods", "hay_al_fath",
    "douar_jdid", "hay_al_wahda", "hay_al_amal", "hay_al_matar",
)
TAX_TEXTS = ("name", "description", "who_pays", "base_rate", "deadline", "penalty", "how_to_pay")
# The demo answers documented in seed_data/demo.yml.
ANSWERS = {
    "TSC-48213": "4821", "TH-20517": "7305", "TNB-31877": "6142",
    "TCO-10442": "3390", "TDB-55021": "2057", "ODP-70913": "8614",
}
# Lists of plain strings (spellings, topics), not citizen-readable texts.
NOT_I18N = {"synonyms", "aliases", "topics"}
NOW = dt.datetime(2026, 11, 24, 10, 0)


def assert_i18n(value: Any, where: str) -> None:
    assert isinstance(value, dict), f"{where}: not an I18n dict: {value!r}"
    for language in LANGUAGES:
        text = value.get(language)
        assert isinstance(text, str) and text.strip(), f"{where}: empty {language}"


def commune(session: Session, slug: str) -> Commune:
    return session.execute(select(Commune).where(Commune.slug == slug)).scalar_one()


def rows_of(session: Session, model: Any, commune_id: int) -> list[Any]:
    return list(session.execute(select(model).where(model.commune_id == commune_id)).scalars())


def count(session: Session, model: Any) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


# ---- procedures and taxes ----------------------------------------------------------------------
def test_every_canonical_procedure_exists_for_benguerir_in_the_three_languages(
    db: Database,
) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        procedures = {p.key: p for p in rows_of(session, Procedure, benguerir.id)}
        assert set(PROCEDURE_KEYS) <= set(procedures)
        for key in PROCEDURE_KEYS:
            procedure = procedures[key]
            for name in ("name", "cost", "delay", "legal_basis"):
                assert_i18n(getattr(procedure, name), f"{key}.{name}")
            assert procedure.documents and procedure.steps, key
            for index, item in enumerate(procedure.documents):
                assert_i18n(item, f"{key}.documents[{index}]")
            for index, item in enumerate(procedure.steps):
                assert_i18n(item, f"{key}.steps[{index}]")
            assert procedure.synonyms, key
            assert procedure.last_verified is not None, key


def test_procedures_point_to_real_portals_and_offices_of_their_commune(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        procedures = {p.key: p for p in rows_of(session, Procedure, benguerir.id)}
        assert procedures["birth_certificate"].online_url == "https://www.watiqa.ma"
        for key in ("building_permit", "housing_permit", "business_license"):
            assert procedures[key].online_url == "https://www.rokhas.ma", key
        assert procedures["building_permit"].office.slug == "urbanisme"
        assert procedures["birth_certificate"].office.slug == "etat_civil"
        for procedure in procedures.values():
            if procedure.office is not None:
                assert procedure.office.commune_id == benguerir.id, procedure.key


def test_civil_status_extracts_are_free_at_the_counter(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        procedures = {p.key: p for p in rows_of(session, Procedure, benguerir.id)}
        for key in ("birth_certificate", "death_certificate", "birth_declaration"):
            assert procedures[key].cost_mad == Decimal("0.00"), key
            assert "gratuit" in procedures[key].cost["fr"].lower(), key
        # Fees that depend on a posted scale carry no invented figure.
        for key in ("signature_legalization", "certified_copy", "building_permit"):
            assert procedures[key].cost_mad is None, key


def test_every_canonical_tax_exists_for_benguerir_in_the_three_languages(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        taxes = {t.key: t for t in rows_of(session, Tax, benguerir.id)}
        assert set(TAX_KEYS) <= set(taxes)
        for key in TAX_KEYS:
            for name in TAX_TEXTS:
                assert_i18n(getattr(taxes[key], name), f"{key}.{name}")
            assert_i18n(taxes[key].legal_basis, f"{key}.legal_basis")
            assert taxes[key].synonyms, key


def test_tnb_is_declared_and_paid_before_the_first_of_march(db: Database) -> None:
    with db.session() as session:
        tnb = session.execute(select(Tax).where(Tax.key == "tnb")).scalar_one()
        assert (tnb.due_month, tnb.due_day) == (2, 28)
        assert "1er mars" in tnb.deadline["fr"]
        assert tnb.office.slug == "regie_recettes"


def test_th_and_tsc_are_paid_to_the_dgi_not_the_commune(db: Database) -> None:
    with db.session() as session:
        for key in ("th", "tsc"):
            tax = session.execute(select(Tax).where(Tax.key == key)).scalar_one()
            assert tax.online_url == "https://www.tax.gov.ma", key
            assert "DGI" in tax.how_to_pay["fr"], key


def test_next_yearly_date_rolls_over_to_next_year_once_passed() -> None:
    assert next_yearly_date(dt.date(2026, 11, 24), 2, 28) == dt.date(2027, 2, 28)
    assert next_yearly_date(dt.date(2027, 1, 10), 2, 28) == dt.date(2027, 2, 28)
    assert next_yearly_date(dt.date(2027, 2, 28), 2, 28) == dt.date(2027, 2, 28)
    assert next_yearly_date(dt.date(2027, 3, 1), 2, 29) == dt.date(2028, 2, 29)


# ---- places -----------------------------------------------------------------------------------
def test_benguerir_has_the_ten_districts_of_the_brief(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        districts = {d.slug: d for d in rows_of(session, District, benguerir.id)}
        assert set(districts) == set(DISTRICT_SLUGS)
        for slug, district in districts.items():
            assert_i18n(district.name, f"district {slug}")
            assert district.aliases, slug
            assert any(any("\u0600" <= ch <= "\u06ff" for ch in a) for a in district.aliases), slug
            assert 32.1 < district.latitude < 32.3 and -8.0 < district.longitude < -7.9, slug


def test_offices_have_address_and_hours_and_annexes_sit_in_districts(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        offices = {o.slug: o for o in rows_of(session, Office, benguerir.id)}
        assert {"hotel_de_ville", "etat_civil", "urbanisme", "regie_recettes"} <= set(offices)
        annexes = [o for slug, o in offices.items() if slug.startswith("annexe_")]
        assert 3 <= len(annexes) <= 4
        for annex in annexes:
            assert annex.district is not None, annex.slug
            assert annex.district.commune_id == benguerir.id, annex.slug
        for slug, office in offices.items():
            for name in ("name", "address", "hours"):
                assert_i18n(getattr(office, name), f"office {slug}.{name}")
            assert "Ramadan" in office.hours["fr"], slug
            assert office.latitude is not None and office.longitude is not None, slug


# ---- consultations ----------------------------------------------------------------------------
def test_two_consultations_are_open_and_one_is_closed_with_results(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        consultations = rows_of(session, Consultation, benguerir.id)
        opened = [c for c in consultations if c.status == "open"]
        closed = [c for c in consultations if c.status == "closed"]
        assert len(opened) == 2 and len(closed) == 1
        assert closed[0].results_summary is not None
        assert_i18n(closed[0].results_summary, "results_summary")
        for consultation in consultations:
            assert_i18n(consultation.title, f"{consultation.slug}.title")
            assert_i18n(consultation.description, f"{consultation.slug}.description")
            assert len(consultation.options) >= 3, consultation.slug
            for option in consultation.options:
                assert_i18n(option.label, f"{consultation.slug}.{option.key}")


def test_consultation_dates_are_relative_to_the_seeding_time(empty_db: Database) -> None:
    seed_database(empty_db, now=NOW)
    with empty_db.session() as session:
        by_slug = {c.slug: c for c in session.execute(select(Consultation)).scalars()}
    budget = by_slug["budget_participatif_2027_medina"]
    assert budget.opens_at == NOW - dt.timedelta(days=20)
    assert budget.closes_at == NOW + dt.timedelta(days=60)
    assert by_slug["liaison_ville_verte"].closes_at == NOW + dt.timedelta(days=45)
    assert by_slug["espaces_verts_2026"].closes_at == NOW - dt.timedelta(days=40)
    for consultation in by_slug.values():
        is_open = consultation.opens_at <= NOW < consultation.closes_at
        assert (consultation.status == "open") == is_open, consultation.slug


def test_the_medina_budget_is_scoped_to_the_medina(db: Database) -> None:
    with db.session() as session:
        budget = session.execute(
            select(Consultation).where(Consultation.slug == "budget_participatif_2027_medina")
        ).scalar_one()
        assert budget.district is not None and budget.district.slug == "medina"


# ---- tax accounts and their secret --------------------------------------------------------------
def test_tax_account_secrets_are_stored_only_hashed(db: Database) -> None:
    with db.session() as session:
        accounts = {a.reference: a for a in session.execute(select(TaxAccount)).scalars()}
        assert set(accounts) == set(ANSWERS)
        for reference, account in accounts.items():
            assert account.verification_hash.startswith("$argon2id$"), reference
            assert ANSWERS[reference] not in account.verification_hash, reference
            assert_i18n(account.verification_question, reference)
            assert "CIN" in account.verification_question["fr"], reference
    seed_text = "".join(p.read_text(encoding="utf-8") for p in SEED_DIR.glob("*.yml"))
    assert "verification_answer" not in seed_text


def test_check_answer_accepts_the_right_answer_typed_loosely(db: Database) -> None:
    with db.session() as session:
        account = session.execute(
            select(TaxAccount).where(TaxAccount.reference == "TSC-48213")
        ).scalar_one()
    for typed in (" 48-21 ", "٤٨ ٢١"):  # every variant costs an Argon2 verification
        assert check_answer(account.verification_hash, typed), typed


def test_check_answer_refuses_a_wrong_or_empty_answer(db: Database) -> None:
    with db.session() as session:
        account = session.execute(
            select(TaxAccount).where(TaxAccount.reference == "TH-20517")
        ).scalar_one()
    assert check_answer(account.verification_hash, "7305")
    for typed in ("7306", "", "   ", "-"):
        assert not check_answer(account.verification_hash, typed), typed
    assert not check_answer("not-a-hash", "7305")


def test_answers_are_normalised_before_hashing() -> None:
    assert normalise_answer("  AB-12 34 ") == "ab1234"
    stored = hash_answer("Ab 12-34")
    assert check_answer(stored, "ab1234") and check_answer(stored, "AB 12 34")
    with pytest.raises(ValueError):
        hash_answer(" - ")


def test_tax_accounts_have_amounts_and_payments(db: Database) -> None:
    with db.session() as session:
        accounts = {a.reference: a for a in session.execute(select(TaxAccount)).scalars()}
        assert accounts["TSC-48213"].amount_due == Decimal("0.00")
        assert accounts["TSC-48213"].payments
        assert accounts["TH-20517"].amount_due > 0
        assert accounts["TNB-31877"].tax.key == "tnb"
        assert accounts["TNB-31877"].due_date is not None
        assert (accounts["TNB-31877"].due_date.month, accounts["TNB-31877"].due_date.day) == (2, 28)


# ---- demo files -------------------------------------------------------------------------------
def test_demo_applications_and_complaints_can_be_followed_by_reference(db: Database) -> None:
    with db.session() as session:
        applications = {a.reference: a for a in session.execute(select(Application)).scalars()}
        assert applications["DEM-2026-000417"].status == "in_review"
        assert applications["DEM-2026-000417"].procedure.key == "building_permit"
        assert applications["DEM-2026-000045"].status == "ready"
        for reference, application in applications.items():
            assert_i18n(application.note, reference)
        complaints = {c.reference: c for c in session.execute(select(Complaint)).scalars()}
        followed = complaints["REC-2026-000123"]
        assert [e.status for e in followed.events] == ["received", "in_progress"]
        assert followed.status == "in_progress"
        assert any(c.status == "resolved" for c in complaints.values())
        for complaint in complaints.values():
            for event in complaint.events:
                assert_i18n(event.note, f"{complaint.reference} {event.status}")


def test_every_citizen_readable_text_of_the_seed_exists_in_the_three_languages(
    db: Database,
) -> None:
    """Any JSON column holding a dict, or a list of dicts, is an I18n text."""
    checked = 0
    with db.session() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            columns = [c.key for c in mapper.columns if isinstance(c.type, JSON)]
            columns = [c for c in columns if c not in NOT_I18N]
            if not columns:
                continue
            for row in session.execute(select(model)).scalars():
                for column in columns:
                    value = getattr(row, column)
                    where = f"{model.__name__}.{column}"
                    items = value if isinstance(value, list) else [value]
                    for item in items:
                        if item is not None:
                            assert_i18n(item, where)
                            checked += 1
    assert checked > 200


# ---- seeding once, in one transaction ---------------------------------------------------------
def test_is_seeded_is_false_on_an_empty_database_and_true_after(empty_db: Database) -> None:
    assert not is_seeded(empty_db)
    assert seed_database(empty_db) is True
    assert is_seeded(empty_db)


def test_seeding_twice_writes_nothing_the_second_time(db: Database) -> None:
    models = (Commune, District, Office, Procedure, Tax, TaxAccount, Consultation, Complaint)
    with db.session() as session:
        before = {model.__name__: count(session, model) for model in models}
    assert seed_database(db) is False
    with db.session() as session:
        after = {model.__name__: count(session, model) for model in models}
    assert after == before


def test_a_failure_midway_leaves_the_database_empty(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(seed_module, "_add_complaints", broken)
    with pytest.raises(RuntimeError):
        seed_database(empty_db)
    assert not is_seeded(empty_db)
    with empty_db.session() as session:
        assert count(session, Procedure) == 0


# ---- several communes ---------------------------------------------------------------------------
def test_a_second_communes_content_is_separate(db: Database) -> None:
    with db.session() as session:
        benguerir = commune(session, "benguerir")
        skhour = commune(session, "skhour_rehamna")
        assert_i18n(skhour.name, "skhour name")
        districts = rows_of(session, District, skhour.id)
        offices = rows_of(session, Office, skhour.id)
        procedures = rows_of(session, Procedure, skhour.id)
        assert len(districts) == 1 and len(offices) == 1 and len(procedures) == 2
        assert offices[0].district_id == districts[0].id
        assert all(p.office_id == offices[0].id for p in procedures)
        assert rows_of(session, Tax, skhour.id) == []
        assert rows_of(session, Consultation, skhour.id) == []
        # Same key, two rows: each commune answers with its own office.
        births = session.execute(
            select(Procedure).where(Procedure.key == "birth_certificate")
        ).scalars().all()
        assert {p.commune_id for p in births} == {benguerir.id, skhour.id}
        benguerir_office_ids = {o.id for o in rows_of(session, Office, benguerir.id)}
        assert offices[0].id not in benguerir_office_ids
