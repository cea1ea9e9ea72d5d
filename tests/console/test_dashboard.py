"""The statistics page: exact aggregates from the conversation log, votes and complaints; the
unanswered questions exported as Rasa NLU YAML; CSV exports; charts; both roles read it."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from sqlalchemy import func, select, update

from bot.console.pages.dashboard import TABLES
from bot.db.conversations import LogEntry, write_log
from bot.db.dashboard import (
    DayCount,
    Period,
    complaints_by_category,
    fallback_rates,
    messages_per_day,
    normalise_question,
    participation,
    per_day,
    top_intents,
    unanswered_questions,
)
from bot.db.models import (
    Commune,
    Complaint,
    Consultation,
    ConsultationOption,
    ConversationLog,
    District,
    Vote,
    utcnow,
)
from bot.db.session import Database
from tests.conftest import CONSOLE_AGENT, console_login
from tests.servers import PostgresServer, postgres_bin

@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    # `make test` installs PostgreSQL (scripts/system-deps.sh): its absence is a broken set-up.
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: run `make system-deps`")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database of each kind the commune may run: the figures must agree on both
    (SQLite's `date()` gives text, PostgreSQL's a date; booleans differ too)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("empty_db")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    database = Database(server.create_database(f"dash_{uuid.uuid4().hex[:10]}"))
    database.create_all()
    yield database
    database.dispose()


NOW = dt.datetime(2025, 3, 10, 15, 0)
WEEK = Period.last(7, NOW)  # 2025-03-04 00:00 → today 2025-03-10


def day(n: int, hour: int = 12) -> dt.datetime:
    """`n` days before NOW's day, at `hour`."""
    return NOW.replace(hour=hour, minute=0) - dt.timedelta(days=n)


def log(database: Database, when: dt.datetime, *entries: LogEntry) -> None:
    """Rows written as the gateway writes them, then dated `when`."""
    with database.session() as session:
        before = session.execute(select(func.max(ConversationLog.id))).scalar() or 0
    write_log(database, entries)
    with database.session() as session:
        session.execute(
            update(ConversationLog).where(ConversationLog.id > before).values(created_at=when)
        )


def said(text: str, channel: str = "telegram", language: str | None = "fr",
         intent: str | None = "greet", confidence: float | None = 0.9,
         fallback: bool = False, sender: str = "citizen") -> LogEntry:
    return LogEntry(f"{channel}:{sender}", channel, "in", text, intent=intent,
                    confidence=confidence, language=language, is_fallback=fallback)


def answered(text: str = "Bonjour !", channel: str = "telegram") -> LogEntry:
    return LogEntry(f"{channel}:citizen", channel, "out", text, language="fr")


# ---- the period ---------------------------------------------------------------------------------
def test_a_period_is_its_last_days_today_included_and_only_offered_lengths():
    assert WEEK.start == dt.datetime(2025, 3, 4) and len(WEEK.dates) == 7
    assert WEEK.dates[-1] == NOW.date()
    assert Period.from_query("90", NOW).days == 90
    for wrong in ("12", "abc", None, "-7"):
        assert Period.from_query(wrong, NOW).days == 30


# ---- messages -----------------------------------------------------------------------------------
def test_inbound_messages_are_counted_per_day_channel_and_language_inside_the_period(store):
    log(store, day(0), said("salut"), said("bonjour"), answered(), answered())
    log(store, day(0, 9), said("salam", "whatsapp", "ary"))
    log(store, day(2), said("wach", "rest", "ary_latn"), said("", "rest", language=None))
    log(store, WEEK.start, said("au tout début"))  # the first second counts
    log(store, WEEK.start - dt.timedelta(seconds=1), said("la veille"))  # the one before not
    assert messages_per_day(store, WEEK) == [
        DayCount(dt.date(2025, 3, 4), "telegram", "fr", 1),
        DayCount(dt.date(2025, 3, 8), "rest", "ary_latn", 1),
        DayCount(dt.date(2025, 3, 8), "rest", "unknown", 1),
        DayCount(dt.date(2025, 3, 10), "telegram", "fr", 2),
        DayCount(dt.date(2025, 3, 10), "whatsapp", "ary", 1),
    ]


def test_per_day_tables_have_every_day_of_the_period_with_zeros(store):
    log(store, day(0), said("a"), said("b", "whatsapp", "ary"))
    log(store, day(6), said("c", "whatsapp", "ary"))
    counts = messages_per_day(store, WEEK)
    channels, rows = per_day(counts, WEEK, "channel")
    assert channels == ["telegram", "whatsapp"]
    assert rows == [[0, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [1, 1]]
    languages, rows = per_day(counts, WEEK, "language")
    assert languages == ["ary", "fr"] and rows[0] == [1, 0] and rows[-1] == [1, 1]


# ---- intents ------------------------------------------------------------------------------------
def test_top_intents_rank_by_count_with_their_share_and_mean_confidence(store):
    log(store, day(1),
        said("prix ?", intent="procedure_cost", confidence=0.9),
        said("combien ?", intent="procedure_cost", confidence=0.8),
        said("ch7al ?", intent="procedure_cost", confidence=0.7),
        said("salut", intent="greet", confidence=1.0),
        said("slt", intent="greet", confidence=0.5),
        said("???", intent="nlu_fallback", confidence=0.3, fallback=True),
        said("", intent=None, confidence=None),  # refused before the model: not classified
        answered())
    rows = top_intents(store, WEEK)
    assert [(r.intent, r.count) for r in rows] == [
        ("procedure_cost", 3), ("greet", 2), ("nlu_fallback", 1),
    ]
    assert rows[0].share == pytest.approx(3 / 6) and rows[1].share == pytest.approx(2 / 6)
    assert rows[0].mean_confidence == pytest.approx(0.8)
    assert rows[1].mean_confidence == pytest.approx(0.75)


def test_only_the_fifteen_most_frequent_intents_are_listed(store):
    log(store, day(1), *(said(f"q{n}", intent=f"intent_{n:02d}") for n in range(16)),
        said("again", intent="intent_07"))
    rows = top_intents(store, WEEK)
    assert len(rows) == 15 and rows[0].intent == "intent_07"
    assert sum(r.share for r in rows) == pytest.approx(16 / 17)


# ---- fallbacks ----------------------------------------------------------------------------------
def test_fallback_rate_is_fallbacks_over_inbound_messages_per_language_and_overall(store):
    log(store, day(0),
        said("a"), said("b"), said("c"), said("d ?", fallback=True),
        said("e", language="ary", fallback=True), said("f", language="ary", fallback=True),
        LogEntry("rest:x", "rest", "out", "pardon ?", language="fr", is_fallback=True))
    log(store, day(9), said("too old", fallback=True))
    rates = fallback_rates(store, WEEK)
    by_language = {r.language: (r.inbound, r.fallbacks, r.rate) for r in rates.by_language}
    assert by_language == {"fr": (4, 1, 0.25), "ary": (2, 2, 1.0)}
    assert (rates.overall.inbound, rates.overall.fallbacks) == (6, 3)
    assert rates.overall.rate == pytest.approx(0.5)


def test_fallback_rate_without_messages_is_zero_not_an_error(store):
    rates = fallback_rates(store, WEEK)
    assert rates.overall.rate == 0 and rates.by_language == []


# ---- unanswered questions ---------------------------------------------------------------------
def test_unanswered_questions_are_deduplicated_newest_first_with_count_and_language(store):
    log(store, day(3), said("Où payer la TNB ?", fallback=True))
    log(store, day(2), said("فين نخلّص الضريبة؟", language="ary", fallback=True))
    log(store, day(1), said("ou payer   la tnb", language="ary_latn", fallback=True))
    log(store, day(1, 13), said("فين نخلص الضريبة", language="ary", fallback=True))
    log(store, day(0), said("Où payer la TNB ?"))  # understood this time: not a fallback
    log(store, day(8), said("trop vieux", fallback=True))
    questions = unanswered_questions(store, WEEK)
    assert [(q.text, q.language, q.count) for q in questions] == [
        ("فين نخلص الضريبة", "ary", 2),
        ("ou payer la tnb", "ary_latn", 2),  # "Où payer la TNB ?" two days before
    ]
    assert questions[0].last_seen == day(1, 13) and questions[0].first_seen == day(2)
    assert questions[1].first_seen == day(3)


def test_normalising_ignores_case_spacing_punctuation_and_arabic_vowel_marks():
    assert normalise_question("  Où   payer la TNB ?! ") == normalise_question("ou payer la tnb")
    assert normalise_question("Acte de décès") == normalise_question("acte de deces")
    assert normalise_question("فين نخلّص الضريبة؟") == normalise_question("فين نخلص الضريبة")
    assert normalise_question("TNB") != normalise_question("TSC")


# ---- participation ----------------------------------------------------------------------------
def make_commune(session) -> tuple[Commune, District, District]:
    commune = Commune(slug="test", name={"fr": "Test"})
    north = District(commune=commune, slug="nord", name={"fr": "Nord", "ary": "الشمال"})
    south = District(commune=commune, slug="sud", name={"fr": "Sud", "ary": "الجنوب"})
    session.add_all([commune, north, south])
    session.flush()
    return commune, north, south


def make_consultation(session, commune, slug, opens, closes, status="open") -> Consultation:
    consultation = Consultation(
        commune_id=commune.id, slug=slug, title={"fr": slug.title()}, description={"fr": "-"},
        status=status, opens_at=opens, closes_at=closes,
        options=[ConsultationOption(key="yes", label={"fr": "Oui"}, position=0)],
    )
    session.add(consultation)
    session.flush()
    return consultation


def vote(consultation, number, district=None) -> Vote:
    return Vote(consultation_id=consultation.id, option_id=consultation.options[0].id,
                channel="rest", user_id=f"voter-{number}",
                district_id=district.id if district else None)


def test_participation_counts_votes_per_consultation_and_district(store):
    with store.session() as session:
        commune, north, south = make_commune(session)
        park = make_consultation(session, commune, "park", day(20), day(-5))
        budget = make_consultation(session, commune, "budget", day(2), day(-30))
        old = make_consultation(session, commune, "old", day(60), day(30), "closed")
        later = make_consultation(session, commune, "later", day(-2), day(-30))
        session.add_all([vote(park, 1, north), vote(park, 2, south), vote(park, 3, south),
                         vote(park, 4), vote(old, 5, north), vote(later, 6, north)])
    rows = participation(store, WEEK)
    assert [(r.consultation["fr"], r.district["fr"] if r.district else None, r.votes)
            for r in rows] == [
        ("Park", "Sud", 2), ("Park", "Nord", 1), ("Park", None, 1),
        ("Budget", None, 0),
    ]
    assert {r.consultation_id for r in rows} == {park.id, budget.id}


# ---- complaints -------------------------------------------------------------------------------
def complaint(commune, category, status, when) -> Complaint:
    return Complaint(commune_id=commune.id, channel="rest", user_id="u", category=category,
                     description="-", language="fr", status=status, created_at=when)


def test_complaints_are_counted_by_category_and_current_status_inside_the_period(store):
    with store.session() as session:
        commune, _north, _south = make_commune(session)
        session.add_all([
            complaint(commune, "waste", "received", day(1)),
            complaint(commune, "waste", "received", day(2)),
            complaint(commune, "waste", "resolved", day(3)),
            complaint(commune, "lighting", "in_progress", day(0)),
            complaint(commune, "roads", "rejected", day(10)),  # before the period
        ])
    matrix = complaints_by_category(store, WEEK)
    assert matrix.statuses == ["received", "in_progress", "resolved", "rejected"]
    assert matrix.categories[:3] == ["lighting", "waste", "roads"]
    counts = dict(zip(matrix.categories, matrix.counts))
    assert counts["waste"] == [2, 0, 1, 0] and counts["lighting"] == [0, 1, 0, 0]
    assert counts["roads"] == [0, 0, 0, 0]
    assert matrix.total(matrix.categories.index("waste")) == 3


# ---- the page -----------------------------------------------------------------------------------
ARABIC = "فين نقدر نخلص الضريبة ديال السكن؟"
TRICKY = 'Prix : "acte" d\'urgence ? #2 - oui'
HOSTILE = "<script>alert('x')</script> c'est quoi"


def recent_traffic(database: Database) -> None:
    """A day of conversations, and two votes in an open consultation of the seeded commune."""
    with database.session() as session:
        consultation = session.execute(
            select(Consultation).where(Consultation.status == "open").order_by(Consultation.id)
        ).scalars().first()
        district = session.execute(select(District).where(District.slug == "medina")).scalar_one()
        session.add_all([vote(consultation, 901, district), vote(consultation, 902)])
    now = utcnow()
    log(database, now,
        said("salut", "telegram"), said("ch7al", "whatsapp", "ary_latn", "procedure_cost", 0.8),
        said(ARABIC, "whatsapp", "ary", "nlu_fallback", 0.2, fallback=True),
        said(TRICKY, "rest", "fr", "nlu_fallback", 0.3, fallback=True),
        said(HOSTILE, "rest", "fr", "nlu_fallback", 0.1, fallback=True),
        answered())
    log(database, now - dt.timedelta(days=1),
        said(ARABIC, "telegram", "ary", "nlu_fallback", 0.2, fallback=True))


@pytest.mark.parametrize("account", ["admin", "agent"])
async def test_both_roles_read_the_dashboard_with_a_chart_and_table_per_section(console, account):
    recent_traffic(console.database)
    if account == "agent":
        await console_login(console, CONSOLE_AGENT)
    else:
        await console_login(console)
    response = await console.get("/admin/dashboard")
    assert response.status == 200
    page = await response.text()
    for section in ("messages_by_channel", "messages_by_language", "intents", "fallbacks",
                    "unanswered", "participation", "complaints"):
        assert f'data-testid="section-{section}"' in page
        assert f'data-testid="table-{section}"' in page
        assert f"/admin/dashboard/{section}.csv?days=30" in page
    assert page.count('role="img"') == 7
    assert "/admin/dashboard/unanswered.yml?days=30" in page
    assert 'id="period-30" aria-current="page"' in page


async def test_every_chart_on_the_page_is_well_formed_svg(console):
    recent_traffic(console.database)
    await console_login(console)
    page = await (await console.get("/admin/dashboard?days=7")).text()
    charts = page.split("<svg")[1:]
    assert len(charts) == 7
    for chart in charts:
        root = ET.fromstring("<svg" + chart.split("</svg>")[0] + "</svg>")
        assert root.get("role") == "img"


async def test_tiles_show_the_period_totals(console):
    recent_traffic(console.database)
    await console_login(console)
    page = await (await console.get("/admin/dashboard?days=7")).text()
    assert 'data-testid="tile-messages"><strong>6</strong>' in page
    assert 'data-testid="tile-fallback"><strong>66.7 %</strong>' in page
    assert 'data-testid="tile-unanswered"><strong>3</strong>' in page


async def test_a_citizens_hostile_question_is_shown_as_text(console):
    recent_traffic(console.database)
    await console_login(console)
    page = await (await console.get("/admin/dashboard")).text()
    assert "<script>" not in page
    chart = page.split('id="chart-unanswered" role="img"')[1].split("</svg>")[0]
    assert "&lt;script&gt;alert(" in chart  # its label and tooltip
    assert '<td dir="auto">&lt;script&gt;alert(' in page  # its row in the table


async def test_an_unknown_period_shows_the_last_thirty_days(console):
    await console_login(console)
    page = await (await console.get("/admin/dashboard?days=1000")).text()
    assert 'id="period-30" aria-current="page"' in page
    assert 'id="period-7" aria-current' not in page


async def test_an_empty_period_says_there_is_no_data(console):
    await console_login(console)
    page = await (await console.get("/admin/dashboard?days=7")).text()
    assert 'data-testid="tile-messages"><strong>0</strong>' in page
    assert page.count('data-testid="no-data"') >= 4  # messages ×2, intents, fallbacks, unanswered


async def test_arabic_dashboard_is_right_to_left_with_mirrored_charts(console):
    recent_traffic(console.database)
    csrf = await console_login(console)
    await console.post("/admin/language", data={"language": "ar", "csrf_token": csrf},
                       allow_redirects=False)
    page = await (await console.get("/admin/dashboard")).text()
    assert 'dir="rtl"' in page and "الإحصائيات" in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 7
    assert 'direction="rtl"' in page and "الدارجة (بالحروف العربية)" in page


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # so a spreadsheet reads Arabic right
    return list(csv.reader(io.StringIO(text[1:])))


async def test_every_table_exports_as_csv_with_its_header_and_rows(console):
    recent_traffic(console.database)
    await console_login(console)
    for name in TABLES:
        response = await console.get(f"/admin/dashboard/{name}.csv?days=7")
        assert response.status == 200, name
        assert response.headers["Content-Type"].startswith("text/csv")
        assert f"sawt-{name}-7d-" in response.headers["Content-Disposition"]
        rows = read_csv(await response.read())
        assert len(rows) >= 2 and all(rows[0]), name
        assert all(len(row) == len(rows[0]) for row in rows), name


async def test_csv_exports_hold_the_same_figures_as_the_page(console):
    recent_traffic(console.database)
    await console_login(console)
    intents = read_csv(await (await console.get("/admin/dashboard/intents.csv")).read())
    assert intents[0] == ["Intention", "Messages", "Part", "Confiance moyenne"]
    assert ["nlu_fallback", "4", "0.6667", "0.200"] in intents
    fallbacks = read_csv(await (await console.get("/admin/dashboard/fallbacks.csv")).read())
    assert fallbacks[-1] == ["Total", "6", "4", "0.6667"]
    unanswered = read_csv(await (await console.get("/admin/dashboard/unanswered.csv")).read())
    assert [row[:3] for row in unanswered[1:]] == [
        [HOSTILE, "Français", "1"], [TRICKY, "Français", "1"], [ARABIC, "Darija (arabe)", "2"],
    ]
    messages = read_csv(await (await console.get("/admin/dashboard/messages.csv")).read())
    assert messages[0] == ["Jour", "Canal", "Langue", "Messages"]
    assert sum(int(row[3]) for row in messages[1:]) == 6


async def test_unknown_table_is_not_found(console):
    await console_login(console)
    assert (await console.get("/admin/dashboard/secrets.csv")).status == 404


async def test_the_dashboard_and_its_exports_need_a_session(console):
    for path in ("/admin/dashboard", "/admin/dashboard/intents.csv",
                 "/admin/dashboard/unanswered.yml"):
        response = await console.get(path, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"].startswith("/admin/login")


async def test_unanswered_questions_export_as_rasa_nlu_yaml_ready_to_label(console, tmp_path):
    recent_traffic(console.database)
    await console_login(console)
    response = await console.get("/admin/dashboard/unanswered.yml?days=7")
    assert response.status == 200
    assert "unanswered" in response.headers["Content-Disposition"]
    body = await response.text()
    assert "# ---- ary (Darija in Arabic script)" in body and "examples: |" in body
    data = yaml.safe_load(body)
    assert str(data["version"]) == "3.1"
    blocks = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert set(blocks) == {"to_label_fr", "to_label_ary"}
    assert blocks["to_label_ary"] == f"- {ARABIC}\n"
    assert blocks["to_label_fr"] == f"- {HOSTILE}\n- {TRICKY}\n"

    from rasa.shared.nlu.training_data.loading import load_data

    path = Path(tmp_path, "unanswered.yml")
    path.write_text(body, encoding="utf-8")
    examples = {(m.get("intent"), m.get("text")) for m in load_data(str(path)).training_examples}
    assert examples == {("to_label_ary", ARABIC), ("to_label_fr", TRICKY),
                        ("to_label_fr", HOSTILE)}


async def test_without_unanswered_questions_the_yaml_is_still_valid_training_data(console):
    await console_login(console)
    body = await (await console.get("/admin/dashboard/unanswered.yml")).text()
    assert yaml.safe_load(body)["nlu"] == []
