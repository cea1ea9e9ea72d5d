"""The statistics page: what citizens ask, on which channel and in which language, what the
assistant failed to understand, who takes part in consultations, and where complaints stand.

Every section is a chart (inline SVG) followed by the very table it was drawn from, and that
table's CSV export is built by the same code, so the picture, the table and the download always
agree. The questions the assistant could not answer also export as Rasa NLU YAML: the loop from
a citizen's unanswered question to a new training example. Both roles read this page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from aiohttp import web
from markupsafe import Markup

from bot.console.charts import Series, bar_chart, line_chart, percent, stacked_bars
from bot.console.i18n import texts, translator
from bot.console.nlu_export import unanswered_yaml
from bot.console.web import console_language, csv_response, render, run_db
from bot.db import dashboard as figures
from bot.db.dashboard import PERIODS, Period
from bot.db.models import utcnow
from bot.i18n import pick

SHOWN_UNANSWERED = 100  # on the page; the exports hold them all
UNANSWERED_CHART = 10


# ---- tables -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, int, pct, num, datetime

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "pct", "num")


@dataclass
class Table:
    """A table as shown and as exported: raw cells, formatted per column kind."""

    name: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)

    def display(self, row: Sequence[Any]) -> list[str]:
        return [_display(value, column.kind) for value, column in zip(row, self.columns)]

    def csv_rows(self) -> list[list[Any]]:
        return [[_raw(value, column.kind) for value, column in zip(row, self.columns)]
                for row in self.rows]


def _display(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return percent(value)
    if kind == "num":
        return f"{value:.2f}"
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _raw(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "pct":
        return f"{value:.4f}"
    if kind == "num":
        return f"{value:.3f}"
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


class Labels:
    """Names of languages, statuses… in the agent's language; an unknown value shows as is."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._ = translator(language)
        self.rtl = language == "ar"
        self.content_language = "ary" if language == "ar" else "fr"

    def value(self, prefix: str, value: str) -> str:
        key = f"dashboard_{prefix}_{value}"
        return self._(key) if key in texts() else value

    def col(self, key: str, kind: str = "text") -> Column:
        return Column(self._(f"dashboard_col_{key}"), kind)

    def pick(self, value: Optional[dict[str, str]]) -> str:
        return pick(value, self.content_language)


# ---- one builder per table: (the data-layer call, data → table) ------------------------------
def _messages(data: list[figures.DayCount], _period: Period, labels: Labels) -> Table:
    return Table("messages", [labels.col("day"), labels.col("channel"), labels.col("language"),
                              labels.col("messages", "int")],
                 [[c.day.isoformat(), c.channel, labels.value("language", c.language), c.messages]
                  for c in data])


def _per_day(by: str) -> Callable[[list[figures.DayCount], Period, Labels], Table]:
    def build(data: list[figures.DayCount], period: Period, labels: Labels) -> Table:
        columns, counts = figures.per_day(data, period, by)
        names = [labels.value("language", c) if by == "language" else c for c in columns]
        return Table(
            f"messages_by_{by}",
            [labels.col("day")] + [Column(n, "int") for n in names]
            + [Column(labels._("dashboard_total"), "int")],
            [[day.isoformat(), *row, sum(row)] for day, row in zip(period.dates, counts)],
        )

    return build


def _intents(data: list[figures.IntentRow], _period: Period, labels: Labels) -> Table:
    return Table("intents", [labels.col("intent"), labels.col("messages", "int"),
                             labels.col("share", "pct"), labels.col("confidence", "num")],
                 [[r.intent, r.count, r.share, r.mean_confidence] for r in data])


def _fallbacks(data: figures.FallbackRates, _period: Period, labels: Labels) -> Table:
    rows = [[labels.value("language", r.language), r.inbound, r.fallbacks, r.rate]
            for r in data.by_language]
    overall = data.overall
    rows.append([labels._("dashboard_total"), overall.inbound, overall.fallbacks, overall.rate])
    return Table("fallbacks", [labels.col("language"), labels.col("inbound", "int"),
                               labels.col("fallbacks", "int"), labels.col("rate", "pct")], rows)


def _unanswered(data: list[figures.Unanswered], _period: Period, labels: Labels) -> Table:
    return Table("unanswered", [labels.col("question"), labels.col("language"),
                                labels.col("times", "int"), labels.col("last_seen", "datetime"),
                                labels.col("first_seen", "datetime")],
                 [[q.text, labels.value("language", q.language), q.count, q.last_seen,
                   q.first_seen] for q in data])


def _participation(data: list[figures.ParticipationRow], _period: Period, labels: Labels) -> Table:
    return Table(
        "participation",
        [labels.col("consultation"), labels.col("status"), labels.col("district"),
         labels.col("votes", "int")],
        [[labels.pick(r.consultation), labels.value("consultation", r.status),
          labels.pick(r.district) if r.district else labels._("dashboard_no_district"), r.votes]
         for r in data],
    )


def _complaints(data: figures.ComplaintMatrix, _period: Period, labels: Labels) -> Table:
    return Table(
        "complaints",
        [labels.col("category")] + [Column(labels.value("status", s), "int") for s in data.statuses]
        + [Column(labels._("dashboard_total"), "int")],
        [[labels.value("category", c), *data.counts[n], data.total(n)]
         for n, c in enumerate(data.categories)],
    )


Builder = Callable[[Any, Period, Labels], Table]
TABLES: dict[str, tuple[Callable[..., Any], Builder]] = {
    "messages": (figures.messages_per_day, _messages),
    "messages_by_channel": (figures.messages_per_day, _per_day("channel")),
    "messages_by_language": (figures.messages_per_day, _per_day("language")),
    "intents": (figures.top_intents, _intents),
    "fallbacks": (figures.fallback_rates, _fallbacks),
    "unanswered": (figures.unanswered_questions, _unanswered),
    "participation": (figures.participation, _participation),
    "complaints": (figures.complaints_by_category, _complaints),
}


# ---- charts -------------------------------------------------------------------------------------
def _short_days(period: Period) -> list[str]:
    return [day.strftime("%m-%d") for day in period.dates]


def _column_series(table: Table) -> list[Series]:
    """A matrix table's columns, between its first (the category) and its last (the total),
    as chart series."""
    return [Series(column.header, [row[n + 1] for row in table.rows])
            for n, column in enumerate(table.columns[1:-1])]


def _participation_chart(data: list[figures.ParticipationRow], table: Table, labels: Labels,
                         title: str) -> Markup:
    """One column per consultation, one segment per voters' district (the table's rows)."""
    consultations = list(dict.fromkeys((r.consultation_id, row[0])
                                       for r, row in zip(data, table.rows)))
    districts = list(dict.fromkeys(row[2] for r, row in zip(data, table.rows) if r.votes))
    votes = {(r.consultation_id, row[2]): r.votes for r, row in zip(data, table.rows)}
    series = [Series(d, [votes.get((cid, d), 0) for cid, _title in consultations])
              for d in districts]
    return stacked_bars("chart-participation", title, [t for _cid, t in consultations], series,
                        rtl=labels.rtl)


@dataclass
class Section:
    id: str
    title: str
    table: Table
    chart: Optional[Markup]
    help: str = ""
    shown: Optional[int] = None  # rows on the page; None: all
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)


async def _page_data(request: web.Request, period: Period) -> dict[str, Any]:
    """Every figure in one trip to a worker thread, each data-layer call once."""

    def fetch(database: Any) -> dict[str, Any]:
        calls = {fn for fn, _build in TABLES.values()}
        return {fn.__name__: fn(database, period) for fn in calls}

    result: dict[str, Any] = await run_db(request, fetch)
    return result


def _sections(data: dict[str, Any], period: Period, labels: Labels) -> list[Section]:
    _ = labels._
    days = period.days

    def table(name: str) -> Table:
        fn, build = TABLES[name]
        return build(data[fn.__name__], period, labels)

    def csv(name: str) -> tuple[str, str]:
        return f"/admin/dashboard/{name}.csv?days={days}", _("dashboard_csv")

    by_channel, by_language = table("messages_by_channel"), table("messages_by_language")
    intents, fallbacks = table("intents"), table("fallbacks")
    unanswered, participation = table("unanswered"), table("participation")
    complaints = table("complaints")
    rates: figures.FallbackRates = data["fallback_rates"]
    questions: list[figures.Unanswered] = data["unanswered_questions"]
    frequent = sorted(questions, key=lambda q: -q.count)[:UNANSWERED_CHART]
    all_messages = (f"/admin/dashboard/messages.csv?days={days}", _("dashboard_csv_all_messages"))
    any_message = rates.overall.inbound > 0
    return [
        Section("messages-channel", _("dashboard_messages_channel"), by_channel,
                line_chart("chart-messages-channel", _("dashboard_messages_channel"),
                           _short_days(period), _column_series(by_channel), rtl=labels.rtl)
                if any_message else None,
                links=[csv("messages_by_channel"), all_messages]),
        Section("messages-language", _("dashboard_messages_language"), by_language,
                stacked_bars("chart-messages-language", _("dashboard_messages_language"),
                             _short_days(period), _column_series(by_language), rtl=labels.rtl)
                if any_message else None,
                links=[csv("messages_by_language"), all_messages]),
        Section("intents", _("dashboard_intents"), intents,
                bar_chart("chart-intents", _("dashboard_intents"),
                          [row[0] for row in intents.rows], [row[1] for row in intents.rows],
                          rtl=labels.rtl) if intents.rows else None,
                help=_("dashboard_intents_help"), links=[csv("intents")]),
        Section("fallbacks", _("dashboard_fallbacks"), fallbacks,
                bar_chart("chart-fallbacks", _("dashboard_fallbacks"),
                          [row[0] for row in fallbacks.rows], [row[3] for row in fallbacks.rows],
                          fmt=percent, rtl=labels.rtl) if any_message else None,
                links=[csv("fallbacks")]),
        Section("unanswered", _("dashboard_unanswered"), unanswered,
                bar_chart("chart-unanswered", _("dashboard_unanswered_chart"),
                          [q.text for q in frequent], [q.count for q in frequent],
                          rtl=labels.rtl) if frequent else None,
                help=_("dashboard_yaml_help"), shown=SHOWN_UNANSWERED,
                links=[csv("unanswered"),
                       (f"/admin/dashboard/unanswered.yml?days={days}", _("dashboard_yaml"))]),
        Section("participation", _("dashboard_participation"), participation,
                _participation_chart(data["participation"], participation, labels,
                                     _("dashboard_participation"))
                if any(row[3] for row in participation.rows) else None,
                help=_("dashboard_participation_help"), links=[csv("participation")]),
        Section("complaints", _("dashboard_complaints"), complaints,
                stacked_bars("chart-complaints", _("dashboard_complaints"),
                             [row[0] for row in complaints.rows], _column_series(complaints),
                             rtl=labels.rtl) if any(row[-1] for row in complaints.rows) else None,
                help=_("dashboard_complaints_help"), links=[csv("complaints")]),
    ]


# ---- handlers ----------------------------------------------------------------------------------
async def dashboard_page(request: web.Request) -> web.Response:
    period = Period.from_query(request.query.get("days"))
    labels = Labels(console_language(request))
    data = await _page_data(request, period)
    rates: figures.FallbackRates = data["fallback_rates"]
    complaints: figures.ComplaintMatrix = data["complaints_by_category"]
    tiles = [
        ("messages", str(rates.overall.inbound), labels._("dashboard_tile_messages")),
        ("fallback", percent(rates.overall.rate), labels._("dashboard_tile_fallback")),
        ("unanswered", str(len(data["unanswered_questions"])),
         labels._("dashboard_tile_unanswered")),
        ("complaints", str(sum(sum(row) for row in complaints.counts)),
         labels._("dashboard_tile_complaints")),
    ]
    return render(
        request, "dashboard/page.html", period=period, periods=PERIODS, tiles=tiles,
        sections=_sections(data, period, labels),
    )


def _filename(name: str, period: Period, extension: str) -> str:
    return f"sawt-{name}-{period.days}d-{period.now.date().isoformat()}.{extension}"


async def table_csv(request: web.Request) -> web.Response:
    name = request.match_info["table"]
    if name not in TABLES:
        raise web.HTTPNotFound()
    period = Period.from_query(request.query.get("days"))
    fn, build = TABLES[name]
    data = await run_db(request, fn, period)
    table = build(data, period, Labels(console_language(request)))
    return csv_response(_filename(name, period, "csv"), [c.header for c in table.columns],
                        table.csv_rows())


async def unanswered_nlu(request: web.Request) -> web.Response:
    period = Period.from_query(request.query.get("days"))
    questions = await run_db(request, figures.unanswered_questions, period)
    body = unanswered_yaml(questions, period.start.date(), utcnow())
    return web.Response(
        text=body, content_type="application/x-yaml", charset="utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="{_filename("unanswered", period, "yml")}"'},
    )


def add_routes(console: web.Application) -> None:
    console.router.add_get("/dashboard", dashboard_page)
    console.router.add_get("/dashboard/unanswered.yml", unanswered_nlu)
    console.router.add_get("/dashboard/{table}.csv", table_csv)

