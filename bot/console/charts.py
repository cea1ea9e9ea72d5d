"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN, nothing to load.

The console runs in town halls with poor connections and no internet access guaranteed, so a
chart is a few hundred bytes of markup inside the page. Each chart is an image for assistive
technology (`role="img"`, labelled by its `<title>`); every bar and point carries its own
`<title>` (its label and value), shown as a tooltip. The page puts the data table right after
the chart, so nothing is only in the picture.

Labels are escaped (they come from citizens' messages and agents' content). For Arabic
(`rtl=True`) the drawing is mirrored: labels and the value axis on the right, bars growing
leftwards, categories (and time) running right to left. Each text is laid out in its own
direction (an Arabic question in the French page too), anchored where the drawing puts it.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from html import escape
from typing import Callable, Optional, Sequence

from markupsafe import Markup

WIDTH = 640
PALETTE: tuple[str, ...] = (
    "#1f7a4d", "#2f6db5", "#d98c1f", "#b23a48", "#6b4fa3", "#3a9a9a", "#8a7a2e", "#5d6a62",
)
Format = Callable[[float], str]


def number(value: float) -> str:
    """An integer as one (`12`), anything else with one decimal (`0.8`)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category (a channel's messages per day, say)."""

    name: str
    values: Sequence[float]


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# ---- drawing ------------------------------------------------------------------------------------
def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _direction(label: str, default_rtl: bool) -> str:
    """The text's own direction, from its first letter (an Arabic question in the French page,
    a channel name in the Arabic one); neutral text (numbers) follows the chart."""
    for ch in label:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "rtl" if default_rtl else "ltr"


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Canvas:
    """SVG elements in left-to-right coordinates, mirrored on output when `rtl`."""

    def __init__(self, height: float, rtl: bool) -> None:
        self.height = height
        self.rtl = rtl
        self.parts: list[str] = []

    def _x(self, x: float, width: float = 0) -> float:
        return WIDTH - x - width if self.rtl else x

    def rect(self, x: float, y: float, width: float, height: float, fill: str,
             css: str, tip: Optional[str] = None) -> None:
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<rect class="{css}" x="{_f(self._x(x, width))}" y="{_f(y)}" width="{_f(width)}" '
            f'height="{_f(height)}" fill="{fill}">{inner}</rect>'
        )

    def text(self, x: float, y: float, label: str, align: str = "left", css: str = "label",
             limit: Optional[int] = None) -> None:
        """`align` is where the text sits against x in left-to-right drawing: "left" (the text
        starts at x), "right" (it ends at x) or "middle"; mirrored for Arabic."""
        if align != "middle" and self.rtl:
            align = "right" if align == "left" else "left"
        direction = _direction(label, self.rtl)
        # SVG anchors follow the text's direction: in right-to-left text, "start" is its right end.
        rtl = direction == "rtl"
        anchors = {"left": "end" if rtl else "start", "right": "start" if rtl else "end",
                   "middle": "middle"}
        shown = _shorten(label, limit) if limit else label
        tip = f"<title>{escape(label)}</title>" if shown != label else ""
        self.parts.append(
            f'<text class="{css}" x="{_f(self._x(x))}" y="{_f(y)}" text-anchor="{anchors[align]}" '
            f'direction="{direction}">{tip}{escape(shown)}</text>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, css: str) -> None:
        self.parts.append(
            f'<line class="{css}" x1="{_f(self._x(x1))}" y1="{_f(y1)}" x2="{_f(self._x(x2))}" '
            f'y2="{_f(y2)}" stroke="#d9e0db"/>'
        )

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, name: str) -> None:
        coords = " ".join(f"{_f(self._x(x))},{_f(y)}" for x, y in points)
        self.parts.append(
            f'<polyline class="series" points="{coords}" fill="none" stroke="{stroke}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )

    def circle(self, x: float, y: float, fill: str, tip: str) -> None:
        self.parts.append(
            f'<circle class="point" cx="{_f(self._x(x))}" cy="{_f(y)}" r="3" fill="{fill}">'
            f"<title>{escape(tip)}</title></circle>"
        )

    def svg(self, chart_id: str, title: str) -> Markup:
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id) or "chart"
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{safe_id}" role="img" '
            f'aria-labelledby="{safe_id}-title" viewBox="0 0 {WIDTH} {_f(self.height)}" '
            f'width="{WIDTH}" height="{_f(self.height)}" font-size="12" '
            f'direction="{"rtl" if self.rtl else "ltr"}">'
            f'<title id="{safe_id}-title">{escape(title)}</title>'
            + "".join(self.parts)
            + "</svg>"
        )


def _nice_step(largest: float, ticks: int, whole: bool) -> float:
    """The gridline step: 1, 2 or 5 times a power of ten, so that `ticks` steps reach the
    largest value; at least 1 when the values are counts (no "2.5 messages" on the axis)."""
    if largest <= 0:
        return 1.0
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power)
    return max(1.0, float(step)) if whole else float(step)


# ---- horizontal bars --------------------------------------------------------------------------
ROW = 24
LABEL_WIDTH = 190
VALUE_WIDTH = 70


def bar_chart(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float], *,
              fmt: Format = number, rtl: bool = False, colours: Optional[Sequence[str]] = None,
              ) -> Markup:
    """One horizontal bar per value, its label beside it and its value at its end: for ranked
    lists (intents, fallback rate per language) whose labels are too long to stand under a bar."""
    if len(labels) != len(values):
        raise ValueError("one label per value")
    canvas = _Canvas(height=max(1, len(values)) * ROW + 8, rtl=rtl)
    top = max([v for v in values if v > 0], default=1.0)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    for n, (label, value) in enumerate(zip(labels, values)):
        y = 4 + n * ROW
        width = max(0.0, value) / top * plot
        fill = colours[n % len(colours)] if colours else PALETTE[0]
        canvas.text(LABEL_WIDTH - 8, y + 16, label, align="right", limit=28)
        canvas.rect(LABEL_WIDTH, y + 4, width, ROW - 8, fill, "bar", f"{label}: {fmt(value)}")
        canvas.text(LABEL_WIDTH + width + 4, y + 16, fmt(value), css="value")
    return canvas.svg(chart_id, title)


# ---- vertical axes (stacked bars, lines) ------------------------------------------------------
MARGIN_VALUES = 48  # the value axis's labels
MARGIN_END = 12
TOP = 12
PLOT_HEIGHT = 200
AXIS_LABELS = 34
LEGEND_ROW = 20
MAX_CATEGORY_LABELS = 12
TICKS = 4
LEGEND_LABEL = 28


def _legend_rows(names: Sequence[str]) -> list[list[tuple[int, str, float]]]:
    """Legend items (index, name, x) wrapped into rows that fit the width."""
    rows: list[list[tuple[int, str, float]]] = [[]]
    x = float(MARGIN_VALUES)
    for index, name in enumerate(names):
        width = 22 + 7 * min(len(name), LEGEND_LABEL) + 16
        if rows[-1] and x + width > WIDTH - MARGIN_END:
            rows.append([])
            x = float(MARGIN_VALUES)
        rows[-1].append((index, name, x))
        x += width
    return rows if rows[0] else []


class _Axes:
    """A value axis with gridlines, a category axis, and a legend below."""

    def __init__(self, categories: Sequence[str], series: Sequence[Series], largest: float,
                 fmt: Format, rtl: bool) -> None:
        self.legend = _legend_rows([s.name for s in series])
        height = TOP + PLOT_HEIGHT + AXIS_LABELS + LEGEND_ROW * len(self.legend) + 4
        self.canvas = _Canvas(height=height, rtl=rtl)
        whole = all(float(v).is_integer() for s in series for v in s.values)
        self.top = _nice_step(largest, TICKS, whole) * TICKS
        self.band = (WIDTH - MARGIN_VALUES - MARGIN_END) / max(1, len(categories))
        self.bottom = TOP + PLOT_HEIGHT
        for tick in range(TICKS + 1):
            value = self.top * tick / TICKS
            y = self.y(value)
            self.canvas.line(MARGIN_VALUES, y, WIDTH - MARGIN_END, y, "grid")
            self.canvas.text(MARGIN_VALUES - 6, y + 4, fmt(value), align="right", css="axis")
        step = max(1, math.ceil(len(categories) / MAX_CATEGORY_LABELS))
        for n, category in enumerate(categories):
            if n % step == 0:
                self.canvas.text(self.centre(n), self.bottom + 16, category, align="middle",
                                 css="axis", limit=14)
        for row, items in enumerate(self.legend):
            y = self.bottom + AXIS_LABELS + row * LEGEND_ROW
            for index, name, x in items:
                self.canvas.rect(x, y, 12, 12, colour(index), "swatch")
                self.canvas.text(x + 16, y + 11, name, css="legend", limit=LEGEND_LABEL)

    def y(self, value: float) -> float:
        return self.bottom - max(0.0, value) / self.top * PLOT_HEIGHT

    def centre(self, n: int) -> float:
        return MARGIN_VALUES + (n + 0.5) * self.band


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r}: one value per category")


def stacked_bars(chart_id: str, title: str, categories: Sequence[str], series: Sequence[Series],
                 *, fmt: Format = number, rtl: bool = False) -> Markup:
    """One column per category, one coloured segment per series stacked in it (a zero draws
    nothing): messages per day and language, complaints per category and status."""
    _check(categories, series)
    totals = [sum(max(0.0, s.values[n]) for s in series) for n in range(len(categories))]
    axes = _Axes(categories, series, max(totals, default=0.0), fmt, rtl)
    width = axes.band * 0.7
    for n, category in enumerate(categories):
        stacked = 0.0
        for index, s in enumerate(series):
            value = max(0.0, s.values[n])
            if value == 0:
                continue
            y = axes.y(stacked + value)
            axes.canvas.rect(axes.centre(n) - width / 2, y, width, axes.y(stacked) - y,
                             colour(index), "segment", f"{category} · {s.name}: {fmt(value)}")
            stacked += value
    return axes.canvas.svg(chart_id, title)


def line_chart(chart_id: str, title: str, categories: Sequence[str], series: Sequence[Series],
               *, fmt: Format = number, rtl: bool = False) -> Markup:
    """One line per series over the categories (days), a point per value: trends per channel."""
    _check(categories, series)
    axes = _Axes(categories, series, max((max(s.values, default=0) for s in series), default=0),
                 fmt, rtl)
    for index, s in enumerate(series):
        points = [(axes.centre(n), axes.y(v)) for n, v in enumerate(s.values)]
        if len(points) > 1:
            axes.canvas.polyline(points, colour(index), s.name)
        for n, (x, y) in enumerate(points):
            axes.canvas.circle(x, y, colour(index), f"{categories[n]} · {s.name}: {fmt(s.values[n])}")
    return axes.canvas.svg(chart_id, title)
