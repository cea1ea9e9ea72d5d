"""The forms, end to end: what the citizen types, what the assistant answers, what the
database holds afterwards."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.db.content import open_consultations
from bot.db.models import Complaint, HandoffRequest, Idea, Subscriber, TaxAccount, Vote
from bot.i18n import pick, t
from tests.conversations.expect import first_line, payloads, response, texts

pytestmark = pytest.mark.slow
COMMUNE = "benguerir"


async def test_complaint_form_records_a_complaint_with_a_reference(chat, citizen, live_db):
    replies = await chat("je veux signaler un problème")
    assert first_line(response("utter_ask_complaint_category", "fr")) in texts(replies)
    assert '/complaint_submit{"complaint_category":"lighting"}' in payloads(replies)
    replies = await chat('/complaint_submit{"complaint_category":"lighting"}')
    assert first_line(response("utter_ask_complaint_description", "fr")) in texts(replies)
    replies = await chat("Le lampadaire de ma rue est en panne depuis deux semaines")
    assert first_line(response("utter_ask_complaint_place", "fr")) in texts(replies)
    replies = await chat("Rue 12, Hay Al Massira, près de la mosquée")
    answer = texts(replies)
    match = re.search(r"REC-\d{4}-\d{6}", answer)
    assert match, answer
    with live_db.session() as session:
        row = session.execute(
            select(Complaint).where(Complaint.reference == match.group(0))
        ).scalar_one()
        assert row.user_id == citizen and row.channel == "rest"
        assert row.category == "lighting"
        assert "lampadaire" in row.description
        assert "Hay Al Massira" in (row.place_text or "")
        assert row.status == "received" and row.language == "fr"


async def test_complaint_category_typed_in_darija_is_understood(chat, live_db):
    await chat("بغيت ندير شكاية")
    replies = await chat("الزبل")
    assert first_line(response("utter_ask_complaint_description", "ary")) in texts(replies)


async def test_deny_during_a_form_cancels_it_and_saves_nothing(chat, citizen, live_db):
    await chat("je veux faire une réclamation")
    replies = await chat("non, annuler")
    assert response("utter_form_cancelled", "fr") in texts(replies)
    with live_db.session() as session:
        count = session.execute(
            select(func.count(Complaint.id)).where(Complaint.user_id == citizen)
        ).scalar_one()
    assert count == 0


async def test_idea_form_records_the_idea(chat, citizen, live_db):
    await chat("j'ai une idée pour la commune")
    replies = await chat("Installer des bancs et de l'ombre au jardin de la médina pour les anciens")
    answer = texts(replies)
    assert re.search(r"IDE-\d{4}-\d{6}", answer), answer
    with live_db.session() as session:
        idea = session.execute(select(Idea).where(Idea.user_id == citizen)).scalar_one()
    assert "bancs" in idea.text


async def _vote(chat, consultation: str, option: str) -> str:
    return texts(await chat(
        f'/consultation_participate{{"consultation":"{consultation}","vote_option":"{option}"}}'
    ))


async def test_a_vote_is_counted_once_and_voting_again_replaces_it(chat, citizen, live_db):
    consultation = open_consultations(live_db, COMMUNE)[0]
    first, second = consultation.options[0], consultation.options[1]
    replies = await chat("je veux voter")
    assert f'/consultation_participate{{"consultation":"{consultation.slug}"}}' in payloads(replies)
    replies = await chat(f'/consultation_participate{{"consultation":"{consultation.slug}"}}')
    assert pick(first.label, "fr") in texts(replies)
    answer = await _vote(chat, consultation.slug, first.key)
    assert "✅" in answer and pick(first.label, "fr") in answer
    answer = await _vote(chat, consultation.slug, first.key)
    assert first_line(t("vote_unchanged", "fr", option=pick(first.label, "fr"),
                        title=pick(consultation.title, "fr"), closes="")) in answer
    answer = await _vote(chat, consultation.slug, second.key)
    assert "🔄" in answer and pick(second.label, "fr") in answer
    with live_db.session() as session:
        votes = session.execute(
            select(Vote).where(Vote.user_id == citizen, Vote.consultation_id == consultation.id)
        ).scalars().all()
    assert len(votes) == 1 and votes[0].option_id == second.id


async def test_a_vote_typed_as_the_option_number_is_understood(chat, citizen, live_db):
    consultation = open_consultations(live_db, COMMUNE)[0]
    await chat(f'/consultation_participate{{"consultation":"{consultation.slug}"}}')
    replies = await chat("2")
    assert pick(consultation.options[1].label, "fr") in texts(replies)
    with live_db.session() as session:
        vote = session.execute(select(Vote).where(Vote.user_id == citizen)).scalar_one()
    assert vote.option_id == consultation.options[1].id


async def test_a_closed_consultation_refuses_votes(chat, citizen, live_db):
    from bot.db.content import closed_consultations

    closed = closed_consultations(live_db, COMMUNE)[0]
    answer = await _vote(chat, closed.slug, closed.options[0].key)
    assert t("consultation_closed", "fr") in answer
    with live_db.session() as session:
        assert session.execute(select(Vote).where(Vote.user_id == citizen)).first() is None


async def test_subscription_with_district_and_topic_then_stop(chat, citizen, live_db):
    await chat("je veux m'abonner aux annonces")
    replies = await chat('/subscribe{"district":"medina"}')
    assert first_line(response("utter_ask_subscribe_topics", "fr")) in texts(replies)
    replies = await chat('/subscribe{"topic":"consultations"}')
    assert "STOP" in texts(replies)
    with live_db.session() as session:
        row = session.execute(select(Subscriber).where(Subscriber.user_id == citizen)).scalar_one()
        assert row.active and row.topics == ["consultations"] and row.language == "fr"
        assert row.district is not None and row.district.slug == "medina"
    replies = await chat("STOP")
    assert t("unsubscribed", "fr") in texts(replies)
    with live_db.session() as session:
        row = session.execute(select(Subscriber).where(Subscriber.user_id == citizen)).scalar_one()
        assert not row.active and row.opted_out_at is not None


@pytest.mark.parametrize("word", ["ARRET", "وقف"])
async def test_bare_stop_words_unsubscribe(chat, citizen, live_db, word):
    await chat("je veux recevoir les annonces")
    await chat('/subscribe{"district":"all"}')
    await chat('/subscribe{"topic":"all"}')
    replies = await chat(word)
    assert any(t("unsubscribed", lang) in texts(replies) for lang in ("fr", "ary", "ary_latn"))


async def test_human_handoff_is_queued_for_an_agent_once(chat, citizen, live_db):
    await chat("je veux parler à une personne")
    replies = await chat("je veux parler à un agent")
    assert t("handoff_already", "fr") in texts(replies)
    with live_db.session() as session:
        rows = session.execute(
            select(HandoffRequest).where(HandoffRequest.user_id == citizen)
        ).scalars().all()
    assert len(rows) == 1 and rows[0].status == "waiting"


# ---- the tax balance and its verification ----------------------------------------------------
# The demo accounts' answers, documented in bot/db/seed_data/demo.yml.
DEMO_ANSWERS = {"TH-20517": "7305", "TNB-31877": "6142"}


def _account(live_db, reference: str) -> TaxAccount:
    with live_db.session() as session:
        return session.execute(
            select(TaxAccount).where(TaxAccount.reference == reference)
        ).scalar_one()


async def test_tax_balance_is_shown_only_after_the_right_answer(chat, live_db):
    account = _account(live_db, "TH-20517")
    replies = await chat("combien je dois pour ma taxe TH-20517 ?")
    assert pick(account.verification_question, "fr") in texts(replies)
    assert f"{account.amount_due:.2f}" not in texts(replies)
    replies = await chat(DEMO_ANSWERS["TH-20517"])
    assert f"{account.amount_due:.2f}" in texts(replies)


async def test_three_wrong_answers_lock_the_reference(chat, citizen, live_db):
    account = _account(live_db, "TNB-31877")
    await chat("je veux connaître mon solde TNB-31877")
    answer = texts(await chat("0000"))
    assert t("verification_wrong", "fr", left=2) in answer
    await chat("1111")
    answer = texts(await chat("2222"))
    assert "🔒" in answer and f"{account.amount_due:.2f}" not in answer
    # Even the right answer is refused while the lock holds, from any conversation.
    await chat("je veux connaître mon solde TNB-31877", sender=citizen + "-other")
    answer = texts(await chat(DEMO_ANSWERS["TNB-31877"], sender=citizen + "-other"))
    assert f"{account.amount_due:.2f}" not in answer
    assert _account(live_db, "TNB-31877").locked_until is not None
