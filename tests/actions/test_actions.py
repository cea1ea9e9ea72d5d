"""The actions against a real seeded database, without a server: what they say and write."""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.complaints import ActionSubmitComplaint, category_from_text
from actions.consultations import match_choice
from actions.language import ActionSetLanguage
from actions.procedures import ActionProcedureAnswer
from actions.subscriptions import ActionUnsubscribe, topics_from_text
from actions.taxes import ActionShowTaxBalance, ValidateTaxBalanceForm, next_due_date
from bot.db.citizens import (
    LOCK_DURATION,
    cast_vote,
    record_complaint,
    NewComplaint,
    subscribe,
    verify_tax_account,
)
from bot.db.content import get_procedure, get_tax, open_consultations
from bot.db.models import Commune, Complaint, Procedure, TaxAccount, Vote, utcnow
from bot.i18n import pick, t
from tests.conftest import make_tracker

COMMUNE = "benguerir"


async def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


async def test_procedure_documents_come_from_the_database_in_the_citizens_language(actions_db):
    procedure = get_procedure(actions_db, COMMUNE, "birth_certificate")
    for language in ("fr", "ary", "ary_latn"):
        tracker = make_tracker(
            intent="procedure_documents",
            entities=[{"entity": "procedure", "value": "birth_certificate"}],
            slots={"language": language},
        )
        messages, _ = await run(ActionProcedureAnswer(), tracker)
        answer = text_of(messages)
        assert pick(procedure.name, language) in answer
        for document in procedure.documents:
            assert pick(document, language) in answer


async def test_an_agents_edit_shows_in_the_next_answer_without_retraining(actions_db):
    with actions_db.session() as session:
        row = session.execute(
            select(Procedure)
            .join(Commune)
            .where(Procedure.key == "signature_legalization", Commune.slug == COMMUNE)
        ).scalar_one()
        row.cost = {**row.cost, "fr": "Nouveau tarif affiché : 3 DH par signature"}
    tracker = make_tracker(
        intent="procedure_cost",
        entities=[{"entity": "procedure", "value": "signature_legalization"}],
        slots={"language": "fr"},
    )
    messages, _ = await run(ActionProcedureAnswer(), tracker)
    assert "Nouveau tarif affiché : 3 DH par signature" in text_of(messages)


async def test_a_missing_procedure_is_asked_with_buttons_not_guessed(actions_db):
    tracker = make_tracker(intent="procedure_cost", slots={"language": "ary"})
    messages, _ = await run(ActionProcedureAnswer(), tracker)
    assert t("procedure_which", "ary") in text_of(messages)
    payloads = [b["payload"] for m in messages for b in m.get("buttons") or []]
    assert '/procedure_cost{"procedure":"birth_certificate"}' in payloads


async def test_two_procedures_named_at_once_are_asked_back(actions_db):
    tracker = make_tracker(
        intent="procedure_documents",
        entities=[
            {"entity": "procedure", "value": "birth_certificate"},
            {"entity": "procedure", "value": "death_certificate"},
        ],
        slots={"language": "fr"},
    )
    messages, _ = await run(ActionProcedureAnswer(), tracker)
    payloads = [b["payload"] for m in messages for b in m.get("buttons") or []]
    assert len(payloads) == 2 and t("procedure_which", "fr") in text_of(messages)


def test_next_due_date_rolls_over_to_next_year(actions_db):
    tnb = get_tax(actions_db, COMMUNE, "tnb")
    assert tnb is not None and tnb.due_month
    after = dt.date(2026, tnb.due_month, tnb.due_day) + dt.timedelta(days=1)
    assert next_due_date(tnb, after) == dt.date(2027, tnb.due_month, tnb.due_day)


def test_third_wrong_answer_locks_the_reference_for_fifteen_minutes(actions_db):
    now = utcnow()
    assert verify_tax_account(actions_db, COMMUNE, "TNB-31877", "0000", now).status == "wrong"
    assert verify_tax_account(actions_db, COMMUNE, "TNB-31877", "1111", now).attempts_left == 1
    locked = verify_tax_account(actions_db, COMMUNE, "TNB-31877", "2222", now)
    assert locked.status == "locked" and locked.locked_until == now + LOCK_DURATION
    # the right answer is refused until the lock ends, then accepted
    assert verify_tax_account(actions_db, COMMUNE, "TNB-31877", "6142", now).status == "locked"
    later = now + LOCK_DURATION + dt.timedelta(seconds=1)
    assert verify_tax_account(actions_db, COMMUNE, "TNB-31877", "6142", later).status == "ok"


async def test_verification_text_without_digits_is_not_counted_as_an_attempt(actions_db):
    tracker = make_tracker(slots={"language": "fr", "reference": "TNB-31877"})
    dispatcher = CollectingDispatcher()
    result = await ValidateTaxBalanceForm().validate_verification_answer(
        "merci", dispatcher, tracker, {}
    )
    assert result == {"verification_answer": None}
    with actions_db.session() as session:
        account = session.execute(
            select(TaxAccount).where(TaxAccount.reference == "TNB-31877")
        ).scalar_one()
    assert account.failed_attempts == 0


async def test_balance_is_not_shown_when_the_form_did_not_verify(actions_db):
    tracker = make_tracker(
        slots={"language": "fr", "reference": "TH-20517", "verification_answer": "7305"}
    )
    messages, events = await run(ActionShowTaxBalance(), tracker)
    assert messages == []  # only the validation's marker opens the balance, never a typed text
    assert {"event": "slot", "name": "verification_answer", "value": None, "timestamp": None} in events


def test_a_vote_is_counted_once_when_the_same_citizen_votes_twice(actions_db):
    consultation = open_consultations(actions_db, COMMUNE)[0]
    key = consultation.options[0].key
    assert cast_vote(actions_db, COMMUNE, consultation.slug, key, "telegram", "42") == "counted"
    assert cast_vote(actions_db, COMMUNE, consultation.slug, key, "telegram", "42") == "unchanged"
    other = consultation.options[1].key
    assert cast_vote(actions_db, COMMUNE, consultation.slug, other, "telegram", "42") == "changed"
    with actions_db.session() as session:
        count = session.execute(
            select(func.count(Vote.id)).where(Vote.user_id == "42", Vote.channel == "telegram")
        ).scalar_one()
    assert count == 1


def test_complaint_references_follow_the_years_highest(actions_db):
    new = NewComplaint(channel="rest", user_id="c", category="waste", description="zbel", language="ary")
    first = record_complaint(actions_db, COMMUNE, new)
    second = record_complaint(actions_db, COMMUNE, new)
    assert first.startswith(f"REC-{utcnow().year}-")
    assert int(second[-6:]) == int(first[-6:]) + 1


async def test_submitted_complaint_keeps_the_shared_location(actions_db):
    tracker = make_tracker(
        sender="whatsapp:212600000001",
        slots={
            "language": "ary", "complaint_category": "roads", "complaint_description": "حفرة كبيرة",
            "complaint_place": "📍 32.23000, -7.95000", "complaint_latitude": 32.23,
            "complaint_longitude": -7.95,
        },
    )
    messages, _ = await run(ActionSubmitComplaint(), tracker)
    with actions_db.session() as session:
        row = session.execute(select(Complaint).where(Complaint.user_id == "212600000001")).scalar_one()
    assert row.channel == "whatsapp" and row.latitude == 32.23 and row.longitude == -7.95
    assert row.reference in text_of(messages)


async def test_unsubscribe_says_whether_there_was_anything_to_stop(actions_db):
    tracker = make_tracker(sender="telegram:7", slots={"language": "ary_latn"})
    messages, _ = await run(ActionUnsubscribe(), tracker)
    assert t("not_subscribed", "ary_latn") in text_of(messages)
    subscribe(actions_db, COMMUNE, "telegram", "7", "ary_latn", None, ["jobs"])
    messages, _ = await run(ActionUnsubscribe(), tracker)
    assert t("unsubscribed", "ary_latn") in text_of(messages)


async def test_language_follows_the_message_and_an_explicit_choice(actions_db):
    events = (await run(ActionSetLanguage(), make_tracker(text="salam bghit 3a9d lazdiyad")))[1]
    assert events[0]["value"] == "ary_latn"
    choose = make_tracker(
        text="kteb liya b l3arbiya", intent="change_language",
        entities=[{"entity": "language", "value": "ary"}], slots={"language": "ary_latn"},
    )
    events = (await run(ActionSetLanguage(), choose))[1]
    assert [e["value"] for e in events] == ["ary", "ary"]
    # Arabizi after choosing Arabic script: still Arabic script
    after = make_tracker(text="chno khasni", slots={"language": "ary", "language_choice": "ary"})
    assert (await run(ActionSetLanguage(), after))[1][0]["value"] == "ary"


def test_free_text_answers_are_mapped_to_their_keys():
    assert category_from_text("il y a des déchets partout") == "waste"
    assert category_from_text("الضو مطفي") == "lighting"
    assert topics_from_text("kolchi") == ["consultations", "taxes", "works", "events", "jobs"]
    assert topics_from_text("les travaux et l'emploi") == ["works", "jobs"]
    choices = [("bus", {"fr": "Une ligne de bus"}), ("bike", {"fr": "Une piste cyclable"})]
    assert match_choice("2", choices) == "bike"
    assert match_choice("piste", choices) == "bike"
    assert match_choice("train", choices) is None


async def test_an_extracted_spelling_that_is_not_the_key_still_finds_the_tax(actions_db):
    from actions.taxes import ActionTaxAnswer

    tracker = make_tracker(
        intent="tax_info",
        entities=[{"entity": "tax", "value": "la taxe sur les terrains non bâtis"}],
        slots={"language": "fr"},
    )
    messages, events = await run(ActionTaxAnswer(), tracker)
    tnb = get_tax(actions_db, COMMUNE, "tnb")
    assert pick(tnb.name, "fr") in text_of(messages)
    assert {"event": "slot", "name": "tax", "value": "tnb", "timestamp": None} in events


async def test_where_for_a_procedure_of_the_annexes_names_the_citizens_annex(actions_db):
    from bot.db.content import annex_offices

    annex = next(o for o in annex_offices(actions_db, COMMUNE) if o.district is not None)
    tracker = make_tracker(
        intent="procedure_where",
        entities=[{"entity": "procedure", "value": "residence_certificate"}],
        slots={"language": "ary", "district": annex.district.slug},
    )
    messages, _ = await run(ActionProcedureAnswer(), tracker)
    assert pick(annex.name, "ary") in text_of(messages)


async def test_verified_balance_lists_payments_in_the_citizens_words(actions_db):
    from actions.taxes import VERIFIED

    tracker = make_tracker(
        slots={"language": "ary", "reference": "TNB-31877", "verification_answer": VERIFIED}
    )
    messages, _ = await run(ActionShowTaxBalance(), tracker)
    answer = text_of(messages)
    assert "TNB-31877" in answer and t("payment_counter", "ary") in answer
    assert "counter" not in answer
