"""The content editor: agents list and edit what the assistant answers from, and the very
next answer uses the edit (no retraining). Real gateway, real seeded SQLite database, forms
posted as a browser posts them (every field of the page's form, the CSRF token included)."""
from __future__ import annotations

import datetime as dt
import uuid
from html import unescape
from html.parser import HTMLParser
from typing import Any, Optional
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

import actions.common
from actions.procedures import ActionProcedureAnswer
from bot.db.citizens import cast_vote
from bot.db.console import AuditEntry
from bot.db.content import get_consultation, get_procedure, open_consultations
from bot.db.models import Commune, Consultation, ConsultationOption, Office, Procedure, Tax
from bot.i18n import pick, t
from tests.conftest import CONSOLE_ADMIN, CONSOLE_AGENT, console_login, make_tracker

COMMUNE = "benguerir"


# ---- a browser's view of a form ---------------------------------------------------------------
class _FormReader(HTMLParser):
    """The fields a browser would submit for the form whose id or action is given."""

    def __init__(self, wanted: str) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: Optional[str] = None
        self._select: Optional[str] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.wanted in (attr.get("id"), attr.get("action"))
        if not self.inside or "name" not in attr:
            if tag == "option" and self.inside and self._select is not None:
                self._option(attr)
            return
        if tag == "input" and attr.get("type") not in ("submit", "button"):
            self.fields[attr["name"]] = attr.get("value", "")
        elif tag == "textarea":
            self._textarea = attr["name"]
            self.fields[attr["name"]] = ""
        elif tag == "select":
            self._select = attr["name"]

    def _option(self, attr: dict[str, str]) -> None:
        assert self._select is not None
        if "selected" in attr or self._select not in self.fields:
            self.fields[self._select] = attr.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            # A browser drops the newline that follows <textarea>.
            self.fields[self._textarea] = self.fields[self._textarea].removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, wanted: str = "content-form") -> dict[str, str]:
    reader = _FormReader(wanted)
    reader.feed(html)
    assert reader.fields, f"no form {wanted!r} in the page"
    return reader.fields


async def get_page(client: Any, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text
    return text


async def post(client: Any, path: str, data: dict[str, str]) -> Any:
    return await client.post(path, data=data, allow_redirects=False)


def audit_entries(database: Any, **where: str) -> list[AuditEntry]:
    with database.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return list(session.execute(query).scalars())


async def assistant_answer(database: Any, settings: Any, intent: str, procedure: str) -> str:
    """The real rasa-sdk action, wired to the console's database as `sawt actions` wires it."""
    actions.common.configure(database, settings)
    tracker = make_tracker(
        intent=intent, entities=[{"entity": "procedure", "value": procedure}],
        slots={"language": "fr"},
    )
    dispatcher = CollectingDispatcher()
    await ActionProcedureAnswer().run(dispatcher, tracker, {})
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


@pytest.fixture(autouse=True)
def _restore_action_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests here point the actions at their own database; put the previous wiring back."""
    monkeypatch.setattr(actions.common, "_database", actions.common._database)
    monkeypatch.setattr(actions.common, "_settings", actions.common._settings)


# ---- lists -----------------------------------------------------------------------------------
async def test_content_index_links_the_four_lists_with_their_counts(console):
    await console_login(console, CONSOLE_AGENT)
    page = await get_page(console, "/admin/content")
    with console.database.session() as session:
        counts = {
            kind: session.execute(
                select(func.count()).select_from(model).join(Commune).where(Commune.slug == COMMUNE)
            ).scalar_one()
            for kind, model in (("procedures", Procedure), ("taxes", Tax), ("offices", Office),
                                ("consultations", Consultation))
        }
    for kind, count in counts.items():
        assert count > 0
        tile = page.split(f'href="/admin/content/{kind}"')[1].split("</a>")[0]
        assert f"<strong>{count}</strong>" in tile


@pytest.mark.parametrize("kind, model, key", [
    ("procedures", Procedure, "key"), ("taxes", Tax, "key"), ("offices", Office, "slug"),
    ("consultations", Consultation, "slug"),
])
async def test_each_list_shows_every_seeded_item_with_a_link_to_its_form(console, kind, model, key):
    await console_login(console, CONSOLE_AGENT)
    page = await get_page(console, f"/admin/content/{kind}")
    with console.database.session() as session:
        rows = list(session.execute(
            select(model).join(Commune).where(Commune.slug == COMMUNE)).scalars())
    assert rows
    for row in rows:
        title = row.title if kind == "consultations" else row.name
        assert f'href="/admin/content/{kind}/{getattr(row, key)}">{escape(title["fr"])}</a>' in page


# ---- the central promise: edit, audit, next answer -----------------------------------------------
async def test_an_agents_edit_of_the_french_documents_is_saved_audited_and_in_the_next_answer(console):
    await console_login(console, CONSOLE_AGENT)
    before = get_procedure(console.database, COMMUNE, "birth_certificate")
    old_answer = await assistant_answer(
        console.database, console.settings, "procedure_documents", "birth_certificate"
    )
    assert before.documents[0]["fr"] in old_answer
    new_text = f"CNIE en cours de validité, ou passeport ({uuid.uuid4().hex[:6]})"

    path = "/admin/content/procedures/birth_certificate"
    form = form_of(await get_page(console, path))
    assert form["documents.0.fr"] == before.documents[0]["fr"]
    form["documents.0.fr"] = new_text
    response = await post(console, path, form)

    assert response.status == 302
    assert response.headers["Location"] == f"{path}?saved=1"
    shown = await get_page(console, response.headers["Location"])
    assert 'data-testid="content-saved"' in shown
    assert form_of(shown)["documents.0.fr"] == new_text
    after = get_procedure(console.database, COMMUNE, "birth_certificate")
    assert after.documents[0] == {**before.documents[0], "fr": new_text}
    assert after.documents[1:] == before.documents[1:]
    [entry] = audit_entries(console.database, entity="procedure", entity_id="birth_certificate")
    assert entry.actor == CONSOLE_AGENT[0] and entry.action == "content.update"
    assert list(entry.details["changes"]) == ["documents"]
    assert entry.details["changes"]["documents"]["from"][0]["fr"] == before.documents[0]["fr"]
    assert entry.details["changes"]["documents"]["to"][0]["fr"] == new_text

    answer = await assistant_answer(
        console.database, console.settings, "procedure_documents", "birth_certificate"
    )
    assert new_text in answer
    assert before.documents[0]["fr"] not in answer


async def test_an_admin_adds_a_document_in_a_blank_row_and_removes_one_by_emptying_it(console):
    await console_login(console, CONSOLE_ADMIN)
    path = "/admin/content/procedures/residence_certificate"
    before = get_procedure(console.database, COMMUNE, "residence_certificate")
    form = form_of(await get_page(console, path))
    blank = len(before.documents)
    assert form[f"documents.{blank}.fr"] == ""  # a blank row to add one
    added = {"fr": "Une facture d'eau ou d'électricité récente",
             "ary": "فاكتورة ديال الما ولا الضو جديدة", "ary_latn": "Fatura dyal lma wla dow jdida"}
    for lang, text in added.items():
        form[f"documents.{blank}.{lang}"] = text
        form[f"documents.0.{lang}"] = ""

    response = await post(console, path, form)

    assert response.status == 302
    after = get_procedure(console.database, COMMUNE, "residence_certificate")
    assert after.documents == [*before.documents[1:], added]
    assert audit_entries(console.database, entity_id="residence_certificate")[0].actor == "admin"


async def test_a_missing_language_is_refused_with_a_clear_message_and_nothing_is_saved(console):
    await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/procedures/birth_certificate"
    before = get_procedure(console.database, COMMUNE, "birth_certificate")
    form = form_of(await get_page(console, path))
    form["documents.0.fr"] = "Texte changé en français seulement"
    form["documents.0.ary"] = ""
    form["cost.ary_latn"] = "  "

    response = await post(console, path, form)

    assert response.status == 400
    page = unescape(await response.text())
    assert "Rien n'a été enregistré" in page
    assert "Ligne 1 : Texte manquant en : Darija (arabe)." in page
    assert "Texte manquant en : Darija (latin)." in page
    kept = form_of(page)  # the agent's input, as typed
    assert kept["documents.0.fr"] == "Texte changé en français seulement"
    assert kept["documents.0.ary"] == ""
    after = get_procedure(console.database, COMMUNE, "birth_certificate")
    assert after.documents == before.documents and after.cost == before.cost
    assert audit_entries(console.database, entity="procedure") == []


async def test_refusals_are_explained_in_the_agents_language(console):
    token = await console_login(console, CONSOLE_AGENT)
    await post(console, "/admin/language", {"language": "ar", "csrf_token": token})
    path = "/admin/content/offices/etat_civil"
    form = form_of(await get_page(console, path))
    form["hours.ary"] = "Mn tnin 7tta l jem3a"  # Darija typed in Latin letters in the Arabic box

    response = await post(console, path, form)

    assert response.status == 400
    page = await response.text()
    assert 'dir="rtl"' in page
    assert "نص الدارجة (بالحروف العربية) يجب أن يُكتب بالحروف العربية." in page


async def test_other_rules_wrong_url_half_coordinates_and_a_day_that_does_not_exist(console):
    await console_login(console, CONSOLE_ADMIN)
    office = form_of(await get_page(console, "/admin/content/offices/hotel_de_ville"))
    office["longitude"] = ""
    office["phone"] = "call us"
    response = await post(console, "/admin/content/offices/hotel_de_ville", office)
    page = await response.text()
    assert response.status == 400
    assert "Numéro invalide" in page  # every broken rule at once
    assert "Donnez la latitude et la longitude, ou aucune des deux." in page

    tax = form_of(await get_page(console, "/admin/content/taxes/tnb"))
    tax["due_month"], tax["due_day"] = "2", "30"
    tax["online_url"] = "tax.gov.ma"
    response = await post(console, "/admin/content/taxes/tnb", tax)
    page = unescape(await response.text())
    assert response.status == 400
    assert "Adresse web invalide" in page
    assert "Ce jour n'existe pas dans ce mois" in page
    assert audit_entries(console.database, entity="office") == []
    assert audit_entries(console.database, entity="tax") == []


async def test_every_seeded_form_saves_back_unchanged_without_an_audit_entry(console):
    """The rules accept the seed content as it is, and a save with no change writes nothing."""
    await console_login(console, CONSOLE_ADMIN)
    for kind in ("procedures", "taxes", "offices", "consultations"):
        page = await get_page(console, f"/admin/content/{kind}")
        keys = [part.split('"')[0] for part in page.split(f'href="/admin/content/{kind}/')[1:]]
        keys = [k for k in keys if k != "new"]
        assert keys
        for key in keys:
            path = f"/admin/content/{kind}/{key}"
            response = await post(console, path, form_of(await get_page(console, path)))
            assert response.status == 302, await response.text()
            assert response.headers["Location"] == f"{path}?saved=0"
    assert [e for e in audit_entries(console.database) if e.action.startswith("content.")] == []


# ---- last verified ---------------------------------------------------------------------------
async def test_the_verified_date_is_editable_and_shows_in_the_list_the_form_and_the_answer(console):
    await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/procedures/signature_legalization"
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    form = form_of(await get_page(console, path))
    assert form["last_verified"] != day
    form["last_verified"] = day

    assert (await post(console, path, form)).status == 302

    page = await get_page(console, path)
    assert 'type="date" name="last_verified"' in page
    assert form_of(page)["last_verified"] == day
    assert f"Vérifié le {day}" in page
    listing = await get_page(console, "/admin/content/procedures")
    row = listing.split('data-testid="row-signature_legalization"')[1].split("</tr>")[0]
    assert day in row
    answer = await assistant_answer(
        console.database, console.settings, "procedure_cost", "signature_legalization"
    )
    assert t("last_verified", "fr", date=day) in answer
    [entry] = audit_entries(console.database, entity_id="signature_legalization")
    assert entry.details["changes"]["last_verified"]["to"] == day


async def test_a_verified_date_in_the_future_is_refused(console):
    await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/taxes/tsc"
    form = form_of(await get_page(console, path))
    form["last_verified"] = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    response = await post(console, path, form)
    assert response.status == 400
    assert "La date de vérification ne peut pas être dans le futur." in await response.text()


# ---- consultations ----------------------------------------------------------------------------
LABEL = {"label.fr": "Des bancs et de l'ombre aux arrêts", "label.ary": "بنكات وضل فالمحطات",
         "label.ary_latn": "Bankat w dell f lma7attat"}


async def test_an_option_is_added_to_a_consultation_and_removed_while_nobody_voted_for_it(console):
    token = await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/consultations/liaison_ville_verte"

    response = await post(console, f"{path}/options", {**LABEL, "key": "", "csrf_token": token})

    assert response.status == 302 and response.headers["Location"] == f"{path}?saved=1#options"
    consultation = get_consultation(console.database, COMMUNE, "liaison_ville_verte")
    added = consultation.options[-1]
    assert added.key == "des_bancs_et_de_l_ombre_aux_arrets"
    assert added.label == {k.split(".")[1]: v for k, v in LABEL.items()}
    page = await get_page(console, path)
    assert f'data-testid="option-{added.key}"' in page

    response = await post(console, f"{path}/options/{added.key}/delete", {"csrf_token": token})

    assert response.status == 302
    keys = [o.key for o in get_consultation(console.database, COMMUNE, "liaison_ville_verte").options]
    assert added.key not in keys and len(keys) == len(consultation.options) - 1
    actions_logged = [e.action for e in audit_entries(console.database, entity_id="liaison_ville_verte")]
    assert actions_logged == ["content.option_add", "content.option_remove"]


async def test_an_option_citizens_voted_for_cannot_be_removed_but_its_label_can_be_fixed(console):
    token = await console_login(console, CONSOLE_AGENT)
    assert cast_vote(console.database, COMMUNE, "liaison_ville_verte", "bus", "telegram", "42") == "counted"
    path = "/admin/content/consultations/liaison_ville_verte"
    page = await get_page(console, path)
    assert 'data-testid="remove-bus" disabled' in page

    response = await post(console, f"{path}/options/bus/delete", {"csrf_token": token})

    assert response.status == 409
    assert "Impossible de retirer cette option : 1 citoyen(s) ont voté pour elle." in await response.text()
    with console.database.session() as session:
        assert session.execute(
            select(func.count()).select_from(ConsultationOption).where(ConsultationOption.key == "bus")
        ).scalar_one() == 1

    fixed = {"label.fr": "Plus de bus, plus souvent", "label.ary": "طوبيسات كثر وكيدوزو بزاف",
             "label.ary_latn": "Tobisat ktar w kaydouzou bzaf", "csrf_token": token}
    assert (await post(console, f"{path}/options/bus", fixed)).status == 302
    option = get_consultation(console.database, COMMUNE, "liaison_ville_verte").options[0]
    assert option.key == "bus" and option.label["fr"] == "Plus de bus, plus souvent"


async def test_an_option_with_a_missing_language_is_refused_and_the_input_kept(console):
    token = await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/consultations/liaison_ville_verte"
    response = await post(
        console, f"{path}/options",
        {**LABEL, "label.ary": "", "key": "bancs", "csrf_token": token},
    )
    assert response.status == 400
    page = await response.text()
    assert "Texte manquant en : Darija (arabe)." in page
    assert 'value="bancs"' in page
    keys = [o.key for o in get_consultation(console.database, COMMUNE, "liaison_ville_verte").options]
    assert "bancs" not in keys


async def test_consultation_dates_in_the_wrong_order_are_refused(console):
    await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/consultations/budget_participatif_2027_medina"
    before = get_consultation(console.database, COMMUNE, "budget_participatif_2027_medina")
    form = form_of(await get_page(console, path))
    form["opens_at"], form["closes_at"] = "2027-03-10T09:00", "2027-03-01T18:00"

    response = await post(console, path, form)

    assert response.status == 400
    assert "La clôture doit venir après l'ouverture." in unescape(await response.text())
    after = get_consultation(console.database, COMMUNE, "budget_participatif_2027_medina")
    assert (after.opens_at, after.closes_at) == (before.opens_at, before.closes_at)


async def test_dates_are_typed_in_local_time_and_the_district_scope_reaches_the_assistant(console):
    await console_login(console, CONSOLE_AGENT)
    slug = "budget_participatif_2027_medina"
    path = f"/admin/content/consultations/{slug}"
    other_district = "hay_al_qods"
    assert slug not in [c.slug for c in open_consultations(console.database, COMMUNE, other_district)]
    form = form_of(await get_page(console, path))
    assert form["district"] == "medina"
    closes_local = (dt.datetime.now() + dt.timedelta(days=90)).replace(
        hour=18, minute=30, second=0, microsecond=0)
    form["district"] = ""  # the whole commune
    form["closes_at"] = closes_local.strftime("%Y-%m-%dT%H:%M")

    assert (await post(console, path, form)).status == 302

    after = get_consultation(console.database, COMMUNE, slug)
    expected = closes_local.replace(tzinfo=ZoneInfo("Africa/Casablanca")).astimezone(dt.timezone.utc)
    assert after.district_id is None
    assert after.closes_at == expected.replace(tzinfo=None)
    assert form_of(await get_page(console, path))["closes_at"] == form["closes_at"]
    assert slug in [c.slug for c in open_consultations(console.database, COMMUNE, other_district)]


async def test_a_new_consultation_starts_as_a_draft_and_opens_only_with_two_options(console):
    token = await console_login(console, CONSOLE_AGENT)
    form = form_of(await get_page(console, "/admin/content/consultations/new"))
    assert form["status"] == "draft"
    form.update({
        "slug": "marche_hebdomadaire", "title.fr": "Marché hebdomadaire : quel jour ?",
        "title.ary": "السوق الأسبوعي: أشمن نهار؟", "title.ary_latn": "Souk l2osbou3i: achmen nhar?",
        "description.fr": "Choisissez le jour du marché.", "description.ary": "ختار النهار ديال السوق.",
        "description.ary_latn": "Khtar nhar dyal souk.",
    })

    response = await post(console, "/admin/content/consultations/new", form)

    assert response.status == 302
    path = "/admin/content/consultations/marche_hebdomadaire"
    assert response.headers["Location"] == f"{path}?saved=1"
    created = get_consultation(console.database, COMMUNE, "marche_hebdomadaire")
    assert created.status == "draft" and created.options == []
    assert slug_is_listed(await get_page(console, "/admin/content/consultations"), "marche_hebdomadaire")

    edit = form_of(await get_page(console, path))
    edit["status"] = "open"
    response = await post(console, path, edit)
    assert response.status == 400
    assert "Une consultation ouverte doit proposer au moins 2 options." in await response.text()
    for key, fr, ary, latn in (("vendredi", "Vendredi", "الجمعة", "Jem3a"),
                               ("dimanche", "Dimanche", "الحد", "L7ed")):
        await post(console, f"{path}/options", {"key": key, "label.fr": fr, "label.ary": ary,
                                                "label.ary_latn": latn, "csrf_token": token})
    assert (await post(console, path, edit)).status == 302
    assert get_consultation(console.database, COMMUNE, "marche_hebdomadaire").status == "open"
    assert "marche_hebdomadaire" in [c.slug for c in open_consultations(console.database, COMMUNE)]


def slug_is_listed(page: str, slug: str) -> bool:
    return f'data-testid="row-{slug}"' in page


async def test_an_office_edit_reaches_the_answer_about_where_to_go(console):
    await console_login(console, CONSOLE_ADMIN)
    procedure = get_procedure(console.database, COMMUNE, "birth_certificate")
    path = f"/admin/content/offices/{procedure.office.slug}"
    form = form_of(await get_page(console, path))
    form["hours.fr"] = "Du lundi au vendredi, de 8h00 à 16h00 (horaire d'été)"

    assert (await post(console, path, form)).status == 302

    answer = await assistant_answer(
        console.database, console.settings, "procedure_where", "birth_certificate"
    )
    assert "de 8h00 à 16h00 (horaire d'été)" in answer
    assert pick(procedure.office.name, "fr") in answer


# ---- doors -----------------------------------------------------------------------------------
async def test_content_forms_without_the_csrf_token_are_forbidden_and_change_nothing(console):
    await console_login(console, CONSOLE_AGENT)
    path = "/admin/content/procedures/birth_certificate"
    form = form_of(await get_page(console, path))
    form["name.fr"] = "Nom changé sans jeton"
    del form["csrf_token"]

    assert (await post(console, path, form)).status == 403
    assert (await post(console, "/admin/content/consultations/liaison_ville_verte/options/bus/delete",
                       {})).status == 403
    assert (await post(console, path, {**form, "csrf_token": "forged"})).status == 403
    assert get_procedure(console.database, COMMUNE, "birth_certificate").name["fr"] != "Nom changé sans jeton"
    assert len(get_consultation(console.database, COMMUNE, "liaison_ville_verte").options) == 3


@pytest.mark.parametrize("path", [
    "/admin/content", "/admin/content/procedures", "/admin/content/taxes/tsc",
    "/admin/content/consultations/new", "/admin/content/offices/etat_civil",
])
async def test_content_pages_without_a_session_redirect_to_the_login(console, path):
    response = await console.get(path, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


async def test_a_post_without_a_session_redirects_and_saves_nothing(console):
    response = await post(console, "/admin/content/procedures/birth_certificate",
                          {"name.fr": "x", "name.ary": "س", "name.ary_latn": "x"})
    assert response.status == 302 and response.headers["Location"].startswith("/admin/login")
    assert get_procedure(console.database, COMMUNE, "birth_certificate").name["fr"] != "x"


async def test_an_unknown_item_is_not_found(console):
    await console_login(console, CONSOLE_AGENT)
    assert (await console.get("/admin/content/procedures/no_such_thing")).status == 404
