"""Local taxes: what, when, how to pay — and a taxpayer's own balance, behind a verification.

A balance is personal data: it is shown only after the citizen gives the account's reference
and the answer to its verification question; three wrong answers lock the reference for 15
minutes (`bot.db.citizens.verify_tax_account`). The answer never stays in a slot: the form
keeps only a marker of the outcome.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    commune,
    database,
    language_of,
    reset,
    say,
)
from actions.subjects import aspect_of, choose, other_aspect_buttons, subject_buttons
from bot.db.citizens import (
    is_locked,
    payments_total,
    tax_account,
    verify_tax_account,
)
from bot.db.content import find_tax, list_taxes
from bot.db.models import Tax
from bot.i18n import pick, t
from bot.references import tax_reference

ASPECTS = ("tax_info", "tax_deadline", "tax_pay")
VERIFIED = "__verified__"
LOCKED = "__locked__"
_DIGITS = re.compile(r"\d")


def next_due_date(tax: Tax, today: dt.date) -> Optional[dt.date]:
    """The next yearly due date on or after today, for taxes with a fixed day."""
    if not tax.due_month or not tax.due_day:
        return None
    due = dt.date(today.year, tax.due_month, tax.due_day)
    return due if due >= today else dt.date(today.year + 1, tax.due_month, tax.due_day)


def tax_answer(tax: Tax, aspect: str, language: str, today: dt.date) -> str:
    name = pick(tax.name, language)
    if aspect == "tax_deadline":
        text = t(
            "tax_deadline", language, name=name, deadline=pick(tax.deadline, language),
            penalty=pick(tax.penalty, language),
        )
        due = next_due_date(tax, today)
        if due is not None:
            text += "\n" + t("tax_due_in", language, date=due.isoformat(), days=(due - today).days)
    elif aspect == "tax_pay":
        text = t("tax_pay", language, name=name, how=pick(tax.how_to_pay, language))
        if tax.online_url:
            text += "\n" + t("online", language, url=tax.online_url)
        if tax.office is not None:
            text += "\n" + t(
                "tax_counter", language, office=pick(tax.office.name, language),
                hours=pick(tax.office.hours, language),
            )
    else:
        text = t(
            "tax_info", language, name=name, description=pick(tax.description, language),
            who=pick(tax.who_pays, language), rate=pick(tax.base_rate, language),
        )
        if tax.legal_basis:
            text += "\n" + t("legal_basis", language, basis=pick(tax.legal_basis, language))
    if tax.last_verified is not None:
        text += "\n\n" + t("last_verified", language, date=tax.last_verified.isoformat())
    return text


class ActionTaxAnswer(Action):
    def name(self) -> str:
        return "action_tax_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        aspect = aspect_of(tracker, ASPECTS)
        choice = choose(
            tracker, "tax",
            lambda key: find_tax(database(), commune(), key),
            lambda: list_taxes(database(), commune()),
        )
        tax = choice.row
        if tax is None:
            buttons = subject_buttons(choice.options, aspect, "tax", language)
            say(dispatcher, f"tax_{choice.question}", language, buttons)
            return reset("tax")
        dispatcher.utter_message(
            text=tax_answer(tax, aspect, language, dt.date.today()),
            buttons=list(other_aspect_buttons(tax, "tax", ASPECTS, aspect, language)),
        )
        return [SlotSet("tax", tax.key)]


class ValidateTaxBalanceForm(FormValidationAction):
    def name(self) -> str:
        return "validate_tax_balance_form"

    async def validate_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        language = language_of(tracker)
        reference = tax_reference(str(value or ""))
        if reference is None:
            say(dispatcher, "reference_invalid", language, example="TSC-48213")
            return {"reference": None}
        if tax_account(database(), commune(), reference) is None:
            say(dispatcher, "tax_reference_unknown", language, reference=reference)
            return {"reference": None}
        locked_until = is_locked(database(), commune(), reference)
        if locked_until is not None:
            say(dispatcher, "tax_locked", language, time=locked_until.strftime("%H:%M"))
            return {"reference": reference, "verification_answer": LOCKED}
        return {"reference": reference}

    async def validate_verification_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        language = language_of(tracker)
        answer = str(value or "")
        if not _DIGITS.search(answer):
            # "merci", "?" …: not an attempt, ask again without counting it.
            say(dispatcher, "verification_needs_digits", language)
            return {"verification_answer": None}
        reference = tracker.get_slot("reference")
        result = verify_tax_account(database(), commune(), reference, answer)
        if result.status == "ok":
            return {"verification_answer": VERIFIED}
        if result.status == "wrong":
            say(dispatcher, "verification_wrong", language, left=result.attempts_left)
            return {"verification_answer": None}
        if result.status == "locked" and result.locked_until is not None:
            say(dispatcher, "tax_locked", language, time=result.locked_until.strftime("%H:%M"))
            return {"verification_answer": LOCKED}
        say(dispatcher, "tax_reference_unknown", language, reference=reference)
        return {"verification_answer": LOCKED}


class ActionAskVerificationAnswer(Action):
    def name(self) -> str:
        return "action_ask_verification_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        account = tax_account(database(), commune(), tracker.get_slot("reference") or "")
        question = pick(account.verification_question, language) if account else ""
        say(dispatcher, "verification_question", language, question=question)
        return []


def mask_name(name: str) -> str:
    """"Mohamed Benali" → "Mohamed B.": enough for the taxpayer to recognise, little to leak."""
    parts = name.split()
    return " ".join(parts[:1] + [p[0] + "." for p in parts[1:]])


class ActionShowTaxBalance(Action):
    def name(self) -> str:
        return "action_show_tax_balance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language = language_of(tracker)
        cleared = reset("reference", "verification_answer")
        if tracker.get_slot("verification_answer") != VERIFIED:
            return cleared  # locked or unknown: the citizen was already told
        account = tax_account(database(), commune(), tracker.get_slot("reference") or "")
        if account is None:
            return cleared
        text = t(
            "tax_balance", language, reference=account.reference,
            tax=pick(account.tax.name, language), holder=mask_name(account.holder_name),
            due=f"{account.amount_due:.2f}",
            due_date=account.due_date.isoformat() if account.due_date else "—",
        )
        if account.payments:
            lines = "\n".join(
                f"• {p.paid_at.date().isoformat()} — {p.amount:.2f} {t('currency', language)}"
                f" ({t(f'payment_{p.method}', language)})"
                for p in account.payments[-3:]
            )
            text += "\n" + t(
                "tax_payments", language, payments=lines,
                total=f"{payments_total(account.payments):.2f}",
            )
        dispatcher.utter_message(text=text)
        return cleared
