"""Public consultations: which are open, voting (once per citizen, changeable while open), results."""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import citizen, commune, database, language_of, payload, reset, say
from bot.channels.base import Button
from bot.db.citizens import cast_vote, current_vote
from bot.db.content import (
    closed_consultations,
    fold,
    get_consultation,
    open_consultations,
    vote_counts,
)
from bot.db.models import Consultation
from bot.i18n import pick, t


def vote_buttons(consultations: list[Consultation], language: str) -> list[Button]:
    return [
        Button(
            title=pick(c.title, language),
            payload=payload("consultation_participate", consultation=c.slug),
        )
        for c in consultations
    ]


def match_choice(text: str, choices: list[tuple[str, dict[str, str]]]) -> Optional[str]:
    """The key a citizen meant: the key itself, its number in the list, or its label."""
    wanted = fold(text).strip(" .!?")
    if not wanted:
        return None
    for index, (key, label) in enumerate(choices, 1):
        if wanted in (key, str(index)) or any(wanted == fold(v) for v in label.values()):
            return key
    partial = [key for key, label in choices if any(wanted in fold(v) for v in label.values() if v)]
    return partial[0] if len(partial) == 1 else None


class ActionConsultationList(Action):
    def name(self) -> str:
        return "action_consultation_list"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        district = tracker.get_slot("district")
        found = open_consultations(database(), commune(), None if district == "all" else district)
        if not found:
            say(dispatcher, "consultations_none", language)
            return []
        lines = "\n\n".join(
            t(
                "consultation_line", language, title=pick(c.title, language),
                description=pick(c.description, language),
                closes=c.closes_at.date().isoformat(),
            )
            for c in found
        )
        say(dispatcher, "consultations_open", language, vote_buttons(found, language), items=lines)
        return []


class ActionConsultationResults(Action):
    def name(self) -> str:
        return "action_consultation_results"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        closed = closed_consultations(database(), commune())
        if not closed:
            say(dispatcher, "results_none", language)
            return []
        for consultation in closed[:3]:
            counts = vote_counts(database(), consultation.id)
            total = sum(counts.values())
            lines = "\n".join(
                f"• {pick(o.label, language)} : {counts.get(o.key, 0)}"
                + (f" ({100 * counts.get(o.key, 0) / total:.0f} %)" if total else "")
                for o in consultation.options
            )
            text = t(
                "results", language, title=pick(consultation.title, language),
                closed=consultation.closes_at.date().isoformat(), lines=lines, total=total,
            )
            if consultation.results_summary:
                text += "\n" + pick(consultation.results_summary, language)
            dispatcher.utter_message(text=text)
        still_open = open_consultations(database(), commune())
        if still_open:
            say(dispatcher, "results_open_still", language, vote_buttons(still_open, language))
        return []


class ValidateVoteForm(FormValidationAction):
    def name(self) -> str:
        return "validate_vote_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Nothing open: nothing to ask; the submit action says so.
        return domain_slots if open_consultations(database(), commune()) else []

    async def extract_consultation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """With exactly one consultation open, there is nothing to choose."""
        if tracker.get_slot("consultation"):
            return {}
        found = open_consultations(database(), commune())
        return {"consultation": found[0].slug} if len(found) == 1 else {}

    async def validate_consultation(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        language = language_of(tracker)
        found = open_consultations(database(), commune())
        key = match_choice(str(value or ""), [(c.slug, c.title) for c in found])
        if key is None:
            known = get_consultation(database(), commune(), str(value or ""))
            say(dispatcher, "consultation_closed" if known else "consultation_unknown", language)
            return {"consultation": None}
        return {"consultation": key}

    async def validate_vote_option(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        consultation = get_consultation(database(), commune(), tracker.get_slot("consultation") or "")
        if consultation is None:
            return {"vote_option": None}
        key = match_choice(str(value or ""), [(o.key, o.label) for o in consultation.options])
        if key is None:
            say(dispatcher, "vote_option_unknown", language_of(tracker))
            return {"vote_option": None}
        return {"vote_option": key}


class ActionAskConsultation(Action):
    def name(self) -> str:
        return "action_ask_consultation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        found = open_consultations(database(), commune())
        say(dispatcher, "ask_consultation", language, vote_buttons(found, language))
        return []


class ActionAskVoteOption(Action):
    def name(self) -> str:
        return "action_ask_vote_option"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        consultation = get_consultation(database(), commune(), tracker.get_slot("consultation") or "")
        if consultation is None:
            return []
        channel, user_id = citizen(tracker)
        previous = current_vote(database(), consultation.id, channel, user_id)
        options = "\n".join(
            f"{i}. {pick(o.label, language)}" for i, o in enumerate(consultation.options, 1)
        )
        buttons = [
            Button(
                title=pick(o.label, language),
                payload=payload(
                    "consultation_participate", consultation=consultation.slug, vote_option=o.key
                ),
            )
            for o in consultation.options
        ]
        text = t(
            "ask_vote_option", language, title=pick(consultation.title, language),
            description=pick(consultation.description, language), options=options,
            closes=consultation.closes_at.date().isoformat(),
        )
        if previous:
            label = next((o.label for o in consultation.options if o.key == previous), {})
            text += "\n" + t("vote_previous", language, option=pick(label, language))
        dispatcher.utter_message(text=text, buttons=list(buttons))
        return []


class ActionSubmitVote(Action):
    def name(self) -> str:
        return "action_submit_vote"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        cleared = reset("consultation", "vote_option")
        slug, option = tracker.get_slot("consultation"), tracker.get_slot("vote_option")
        if not slug or not option:
            say(dispatcher, "consultations_none", language)
            return cleared
        channel, user_id = citizen(tracker)
        outcome = cast_vote(database(), commune(), slug, option, channel, user_id)
        consultation = get_consultation(database(), commune(), slug)
        if consultation is None or outcome == "unknown":
            say(dispatcher, "consultation_unknown", language)
            return cleared
        label = next((o.label for o in consultation.options if o.key == option), {})
        say(
            dispatcher, f"vote_{outcome}", language,
            option=pick(label, language), title=pick(consultation.title, language),
            closes=consultation.closes_at.date().isoformat(),
        )
        return cleared
