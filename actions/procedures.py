"""Procedures (démarches): documents, cost, delay, where — answered from the database.

With no procedure named (or one the commune does not list), the citizen picks one from
buttons: an answer about the wrong procedure is worse than a question.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    bullet_list,
    commune,
    database,
    language_of,
    reset,
    say,
)
from actions.subjects import aspect_of, choose, other_aspect_buttons, subject_buttons
from bot.db.citizens import application_by_reference
from bot.db.content import annex_offices, district_offices, find_procedure, list_procedures
from bot.db.models import Office, Procedure
from bot.i18n import pick, t
from bot.references import application_reference

ASPECTS = ("procedure_documents", "procedure_cost", "procedure_delay", "procedure_where")
def office_text(office: Optional[Office], language: str) -> str:
    if office is None:
        return ""
    parts = [pick(office.name, language), pick(office.address, language)]
    text = " — ".join(p for p in parts if p)
    hours = pick(office.hours, language)
    if hours:
        text += "\n" + t("hours", language, hours=hours)
    if office.phone:
        text += "\n" + t("phone", language, phone=office.phone)
    return text


def where_text(procedure: Procedure, language: str, district: Optional[str]) -> str:
    """The procedure's office; with none (the annexes issue it), the citizen's annex, or all."""
    if procedure.office is not None:
        return office_text(procedure.office, language)
    annexes = annex_offices(database(), commune())
    mine = [o for o in annexes if o.district is not None and o.district.slug == district]
    chosen = mine or annexes
    lines = [pick(procedure.steps[0], language)] if procedure.steps else []
    lines += [office_text(o, language) for o in chosen]
    return "\n\n".join(lines)


def verified_note(procedure: Procedure, language: str) -> str:
    if procedure.last_verified is None:
        return ""
    return "\n\n" + t("last_verified", language, date=procedure.last_verified.isoformat())


def procedure_answer(procedure: Procedure, aspect: str, language: str, district: Optional[str]) -> str:
    name = pick(procedure.name, language)
    if aspect == "procedure_cost":
        body = t("procedure_cost", language, name=name, cost=pick(procedure.cost, language))
    elif aspect == "procedure_delay":
        body = t("procedure_delay", language, name=name, delay=pick(procedure.delay, language))
    elif aspect == "procedure_where":
        body = t("procedure_where", language, name=name, office=where_text(procedure, language, district))
        nearby = [
            o for o in district_offices(database(), commune(), district) if o.id != procedure.office_id
        ] if district and procedure.office is not None else []
        if nearby:
            body += "\n" + t("procedure_where_nearby", language, office=office_text(nearby[0], language))
        if procedure.online_url:
            body += "\n" + t("online", language, url=procedure.online_url)
    else:
        body = t(
            "procedure_documents", language, name=name,
            documents=bullet_list(procedure.documents, language),
            steps=bullet_list(procedure.steps, language, numbered=True),
        )
        if procedure.online_url:
            body += "\n" + t("online", language, url=procedure.online_url)
    if procedure.legal_basis and aspect == "procedure_documents":
        body += "\n" + t("legal_basis", language, basis=pick(procedure.legal_basis, language))
    return body + verified_note(procedure, language)


class ActionProcedureAnswer(Action):
    def name(self) -> str:
        return "action_procedure_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        aspect = aspect_of(tracker, ASPECTS)
        choice = choose(
            tracker, "procedure",
            lambda key: find_procedure(database(), commune(), key),
            lambda: list_procedures(database(), commune()),
        )
        procedure = choice.row
        if procedure is None:
            buttons = subject_buttons(choice.options, aspect, "procedure", language)
            say(dispatcher, f"procedure_{choice.question}", language, buttons)
            return reset("procedure")
        dispatcher.utter_message(
            text=procedure_answer(procedure, aspect, language, tracker.get_slot("district")),
            buttons=list(other_aspect_buttons(procedure, "procedure", ASPECTS, aspect, language)),
        )
        return [SlotSet("procedure", procedure.key)]


# ---- applications ---------------------------------------------------------------------------
class ValidateRequestStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_request_status_form"

    async def validate_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = application_reference(str(value or ""))
        if reference is None:
            say(dispatcher, "reference_invalid", language_of(tracker), example="DEM-2026-000417")
            return {"reference": None}
        return {"reference": reference}


class ActionRequestStatus(Action):
    def name(self) -> str:
        return "action_request_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        reference = application_reference(tracker.get_slot("reference") or "")
        application = (
            application_by_reference(database(), commune(), reference) if reference else None
        )
        if application is None:
            say(dispatcher, "request_not_found", language, reference=reference or "?")
            return reset("reference")
        text = t(
            "request_status", language, reference=application.reference,
            procedure=pick(application.procedure.name, language),
            status=t(f"application_status_{application.status}", language),
            date=application.updated_at.date().isoformat(),
        )
        if application.note:
            text += "\n" + pick(application.note, language)
        dispatcher.utter_message(text=text)
        return reset("reference")
