"""Every intent of CONTRACT §2, in every language, through the REST channel of the real
gateway, with the trained model, the real action server and the seeded database.

Each case says what a citizen types and what the answer must contain; the expected text is
read from the domain, the catalog or the database, in the citizen's language.
"""
from __future__ import annotations

from typing import Callable

import pytest

from bot.db.citizens import application_by_reference, complaint_by_reference, tax_account
from bot.db.content import annex_offices, closed_consultations, get_procedure, get_tax, open_consultations
from bot.db.session import Database
from bot.i18n import pick, t
from tests.conversations.expect import first_line, response, texts

pytestmark = pytest.mark.slow
COMMUNE = "benguerir"
Expected = Callable[[Database, str], str]


def said(name: str) -> Expected:
    return lambda db, lang: first_line(response(name, lang))


def catalog(key: str) -> Expected:
    return lambda db, lang: first_line(t(key, lang))


def procedure(key: str, field: str) -> Expected:
    def expected(db: Database, lang: str) -> str:
        row = get_procedure(db, COMMUNE, key)
        assert row is not None
        if field == "documents":
            return pick(row.documents[0], lang)
        if field == "office":  # the annexes issue what no office of the commune does
            office = row.office or annex_offices(db, COMMUNE)[0]
            return pick(office.name, lang)
        return pick(getattr(row, field), lang)

    return expected


def tax(key: str, field: str) -> Expected:
    def expected(db: Database, lang: str) -> str:
        row = get_tax(db, COMMUNE, key)
        assert row is not None
        return first_line(pick(getattr(row, field), lang))

    return expected


def application_status(reference: str) -> Expected:
    def expected(db: Database, lang: str) -> str:
        row = application_by_reference(db, COMMUNE, reference)
        assert row is not None
        return t(f"application_status_{row.status}", lang)

    return expected


def complaint_status(reference: str) -> Expected:
    def expected(db: Database, lang: str) -> str:
        row = complaint_by_reference(db, COMMUNE, reference)
        assert row is not None
        return t(f"complaint_status_{row.status}", lang)

    return expected


def verification_question(reference: str) -> Expected:
    def expected(db: Database, lang: str) -> str:
        account = tax_account(db, COMMUNE, reference)
        assert account is not None
        return pick(account.verification_question, lang)

    return expected


def open_consultation_title(db: Database, lang: str) -> str:
    return pick(open_consultations(db, COMMUNE)[0].title, lang)


def closed_consultation_title(db: Database, lang: str) -> str:
    return pick(closed_consultations(db, COMMUNE)[0].title, lang)


# intent → {language: text}, expected content
CASES: dict[str, tuple[dict[str, str], Expected]] = {
    "greet": ({"fr": "bonjour", "ary": "السلام عليكم", "ary_latn": "salam labas"}, said("utter_greet")),
    "goodbye": ({"fr": "au revoir", "ary": "بسلامة", "ary_latn": "bslama"}, said("utter_goodbye")),
    "thank": ({"fr": "merci beaucoup", "ary": "شكرا بزاف", "ary_latn": "choukran bzaf"}, said("utter_thank")),
    "affirm": ({"fr": "oui d'accord", "ary": "واخا", "ary_latn": "wakha"}, said("utter_anything_else")),
    "deny": ({"fr": "non merci", "ary": "لا", "ary_latn": "la, ma bghitch"}, said("utter_anything_else")),
    "help": (
        {"fr": "qu'est-ce que tu sais faire ?", "ary": "شنو تقدر دير ليا؟", "ary_latn": "chno t9der tdir liya"},
        said("utter_help"),
    ),
    "bot_challenge": (
        {"fr": "tu es un robot ?", "ary": "واش نتا روبو؟", "ary_latn": "wach nta robot"},
        said("utter_iamabot"),
    ),
    "human_handoff": (
        {"fr": "je veux parler à un agent", "ary": "بغيت نهضر مع موظف", "ary_latn": "bghit nhder m3a chi mowadaf"},
        catalog("handoff_requested"),
    ),
    "change_language": (
        {"fr": "changer de langue", "ary": "بغيت نبدل اللغة", "ary_latn": "bghit nbddel logha"},
        catalog("language_pick"),
    ),
    "out_of_scope": (
        {"fr": "qui va gagner le match du Raja ?", "ary": "شكون غادي يربح الماتش ديال الرجاء؟",
         "ary_latn": "chkoun ghadi yrb7 match dyal raja"},
        said("utter_out_of_scope"),
    ),
    "procedure_documents": (
        {"fr": "quels papiers pour un extrait d'acte de naissance ?",
         "ary": "شنو خاصني باش نخرج عقد الازدياد؟", "ary_latn": "chno khasni bach nkhrej 3a9d lazdiyad"},
        procedure("birth_certificate", "documents"),
    ),
    "procedure_cost": (
        {"fr": "combien coûte la légalisation de signature ?", "ary": "شحال كيتخلص تصحيح الإمضاء؟",
         "ary_latn": "ch7al kaytkhles tasli7 l imda"},
        procedure("signature_legalization", "cost"),
    ),
    "procedure_delay": (
        {"fr": "combien de temps pour avoir le permis de construire ?",
         "ary": "شحال كتاخد رخصة البناء ديال الوقت؟", "ary_latn": "ch7al d lwe9t katakhod rokhsat lbni"},
        procedure("building_permit", "delay"),
    ),
    "procedure_where": (
        {"fr": "où faut-il aller pour le certificat de résidence ?", "ary": "فين نمشي لشهادة السكنى؟",
         "ary_latn": "fin nmchi l chahadat soukna"},
        procedure("residence_certificate", "office"),
    ),
    "request_status": (
        {"fr": "où en est mon dossier DEM-2026-000417 ?", "ary": "فين وصل الملف ديالي DEM-2026-000417",
         "ary_latn": "fin wsel dossier dyali DEM-2026-000417"},
        application_status("DEM-2026-000417"),
    ),
    "tax_info": (
        {"fr": "c'est quoi la taxe sur les terrains non bâtis ?",
         "ary": "شنو هي الضريبة على الأراضي الحضرية غير المبنية؟", "ary_latn": "chno hiya tnb"},
        tax("tnb", "description"),
    ),
    "tax_deadline": (
        {"fr": "quand faut-il payer la taxe d'habitation ?", "ary": "إمتى خاصني نخلص ضريبة السكن؟",
         "ary_latn": "imta khassni nkhles taxe d'habitation"},
        tax("th", "deadline"),
    ),
    "tax_pay": (
        {"fr": "comment payer la taxe de services communaux ?",
         "ary": "كيفاش نخلص ضريبة الخدمات الجماعية؟", "ary_latn": "kifach nkhles taxe de services communaux"},
        tax("tsc", "how_to_pay"),
    ),
    "tax_balance": (
        {"fr": "combien je dois encore pour TSC-48213 ?", "ary": "شحال باقي عليا فـ TSC-48213",
         "ary_latn": "ch7al ba9i 3liya f TSC-48213"},
        verification_question("TSC-48213"),
    ),
    "consultation_list": (
        {"fr": "quelles consultations sont ouvertes en ce moment ?", "ary": "شنو هي الاستشارات المفتوحة دابا؟",
         "ary_latn": "chno homa listicharat lmefto7in daba"},
        open_consultation_title,
    ),
    "consultation_participate": (
        {"fr": "je veux voter", "ary": "بغيت نصوت", "ary_latn": "bghit nsawet"},
        catalog("ask_consultation"),
    ),
    "consultation_results": (
        {"fr": "quels sont les résultats de la consultation ?", "ary": "شنو هي النتائج ديال الاستشارة؟",
         "ary_latn": "chno homa nata2ij dyal listichara"},
        closed_consultation_title,
    ),
    "idea_submit": (
        {"fr": "j'ai une idée de projet pour la commune", "ary": "عندي فكرة ديال مشروع للجماعة",
         "ary_latn": "3ndi fikra dyal projet l jama3a"},
        said("utter_ask_idea_text"),
    ),
    "complaint_submit": (
        {"fr": "je veux faire une réclamation", "ary": "بغيت ندير شكاية", "ary_latn": "bghit ndir chikaya"},
        said("utter_ask_complaint_category"),
    ),
    "complaint_status": (
        {"fr": "suivi de ma réclamation REC-2026-000123", "ary": "فين وصلات الشكاية ديالي REC-2026-000123",
         "ary_latn": "fin wslat chikaya dyali REC-2026-000123"},
        complaint_status("REC-2026-000123"),
    ),
    "subscribe": (
        {"fr": "je veux recevoir les annonces de la commune", "ary": "بغيت نتوصل بالإعلانات ديال الجماعة",
         "ary_latn": "bghit nwsel b l2i3lanat dyal jama3a"},
        catalog("ask_subscribe_district"),
    ),
    "unsubscribe": (
        {"fr": "je ne veux plus recevoir vos annonces", "ary": "ما بقيتش باغي نتوصل بالإعلانات",
         "ary_latn": "ma b9itch bghit nwsel b les annonces"},
        catalog("not_subscribed"),
    ),
}

PARAMS = [
    pytest.param(intent, language, id=f"{intent}-{language}")
    for intent in CASES
    for language in ("fr", "ary", "ary_latn")
]


@pytest.mark.parametrize(("intent", "language"), PARAMS)
async def test_every_intent_is_answered_in_the_citizens_language(
    chat, gateway, live_db, brain, intent: str, language: str
) -> None:
    phrases, expected = CASES[intent]
    text = phrases[language]
    reading = await brain.parse(text)
    assert reading["intent"]["name"] == intent, f"{text!r} read as {reading['intent']}"
    replies = await chat(text)
    answer = texts(replies)
    wanted = expected(live_db, language)
    assert wanted and wanted in answer, f"{text!r} → {answer!r}, expected {wanted!r}"


CONTRACT_INTENTS = """greet goodbye thank affirm deny help bot_challenge human_handoff change_language
out_of_scope procedure_documents procedure_cost procedure_delay procedure_where request_status
tax_info tax_deadline tax_pay tax_balance consultation_list consultation_participate
consultation_results idea_submit complaint_submit complaint_status subscribe unsubscribe""".split()


def test_the_cases_cover_every_intent_of_the_contract() -> None:
    assert set(CASES) == set(CONTRACT_INTENTS)
