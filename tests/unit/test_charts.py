"""The console's server-drawn SVG charts: well-formed, accessible, escaped, one mark per value."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from jinja2 import Environment
from markupsafe import Markup

from bot.console.charts import (
    LABEL_WIDTH,
    WIDTH,
    Series,
    bar_chart,
    line_chart,
    percent,
    stacked_bars,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def marks(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == css]


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def test_bar_chart_is_an_accessible_image_titled_by_its_title():
    root = parse(bar_chart("chart-x", "Top intents", ["greet", "help"], [3, 1]))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Top intents"
    assert root.get("aria-labelledby") == title.get("id") == "chart-x-title"


def test_bar_chart_draws_one_bar_per_value_proportional_to_it():
    root = parse(bar_chart("c", "t", ["a", "b", "c", "d"], [8, 4, 2, 0]))
    bars = marks(root, "rect", "bar")
    assert len(bars) == 4
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] > 0 and widths[1] == pytest.approx(widths[0] / 2)
    assert widths[2] == pytest.approx(widths[0] / 4) and widths[3] == 0
    assert [b.find(f"{SVG}title").text for b in bars] == ["a: 8", "b: 4", "c: 2", "d: 0"]


def test_a_hostile_label_stays_text():
    markup = bar_chart("c", 'Questions "sans" <réponse>', [HOSTILE, "ok"], [2, 1])
    assert "<script>" not in markup
    root = parse(markup)  # still well-formed XML
    assert HOSTILE in texts(root)
    assert root.find(f"{SVG}title").text == 'Questions "sans" <réponse>'
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_chart_markup_is_not_escaped_again_by_jinja():
    chart = bar_chart("c", "t", ["a"], [1])
    assert isinstance(chart, Markup)
    page = Environment(autoescape=True).from_string("<div>{{ chart }}</div>").render(chart=chart)
    assert page == f"<div>{chart}</div>"


def test_a_long_label_is_shortened_on_screen_but_whole_in_its_tooltip():
    label = "wach kayn chi wra9a dyal " * 4
    root = parse(bar_chart("c", "t", [label], [1]))
    shown = next(e for e in root.iter(f"{SVG}text") if e.find(f"{SVG}title") is not None)
    tooltip = shown.find(f"{SVG}title")
    assert tooltip.text == label
    on_screen = tooltip.tail
    assert on_screen.endswith("…") and len(on_screen) < len(label)
    assert label.startswith(on_screen[:-1])


def test_bar_chart_values_can_be_percentages():
    root = parse(bar_chart("c", "t", ["fr", "ary"], [0.25, 0.5], fmt=percent))
    assert "25.0 %" in texts(root) and "50.0 %" in texts(root)


def test_arabic_bar_chart_is_mirrored_and_laid_out_right_to_left():
    ltr = parse(bar_chart("c", "t", ["الفرنسية"], [5]))
    rtl = parse(bar_chart("c", "t", ["الفرنسية"], [5], rtl=True))
    bar_ltr, bar_rtl = marks(ltr, "rect", "bar")[0], marks(rtl, "rect", "bar")[0]
    assert float(bar_ltr.get("x")) == LABEL_WIDTH
    # The bar now ends where the labels begin, on the right.
    assert float(bar_rtl.get("x")) + float(bar_rtl.get("width")) == pytest.approx(WIDTH - LABEL_WIDTH)
    label = next(e for e in rtl.iter(f"{SVG}text") if "".join(e.itertext()) == "الفرنسية")
    assert label.get("direction") == "rtl" and float(label.get("x")) > WIDTH - LABEL_WIDTH
    value = next(e for e in rtl.iter(f"{SVG}text") if e.get("class") == "value")
    assert value.get("direction") == "rtl"  # a number follows the chart


def test_bar_chart_refuses_labels_and_values_of_different_lengths():
    with pytest.raises(ValueError):
        bar_chart("c", "t", ["a", "b"], [1])


def test_stacked_bars_draw_one_segment_per_non_zero_value():
    series = [Series("received", [2, 0, 1]), Series("resolved", [1, 3, 0])]
    root = parse(stacked_bars("c", "Complaints", ["waste", "roads", "water"], series))
    segments = marks(root, "rect", "segment")
    assert len(segments) == 4
    tips = [s.find(f"{SVG}title").text for s in segments]
    assert tips == ["waste · received: 2", "waste · resolved: 1", "roads · resolved: 3",
                    "water · received: 1"]
    heights = [float(s.get("height")) for s in segments]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[2] == pytest.approx(3 * heights[1])
    # Stacked: the second segment of "waste" sits right on top of the first.
    first, second = segments[0], segments[1]
    assert float(second.get("y")) + float(second.get("height")) == pytest.approx(float(first.get("y")))


def test_stacked_bars_have_a_legend_entry_per_series_with_escaped_names():
    series = [Series(HOSTILE, [1]), Series("Darija (latin)", [2])]
    markup = stacked_bars("c", "t", ["03-01"], series)
    root = parse(markup)
    assert len(marks(root, "rect", "swatch")) == 2
    assert HOSTILE in texts(root) and "Darija (latin)" in texts(root)
    assert "<script>" not in markup


def test_stacked_bars_refuse_a_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        stacked_bars("c", "t", ["a", "b"], [Series("s", [1])])


def test_line_chart_draws_a_line_per_series_and_a_point_per_value():
    days = [f"03-{d:02d}" for d in range(1, 8)]
    series = [Series("telegram", [1, 2, 3, 0, 0, 4, 1]), Series("whatsapp", [0] * 7)]
    root = parse(line_chart("c", "Messages", days, series))
    assert len(marks(root, "polyline", "series")) == 2
    points = marks(root, "circle", "point")
    assert len(points) == 14
    telegram = [float(p.get("cy")) for p in points[:7]]
    assert telegram[2] < telegram[1] < telegram[0]  # more messages, higher on the chart
    assert points[5].find(f"{SVG}title").text == "03-06 · telegram: 4"


def test_many_days_keep_their_axis_readable():
    days = [f"d{n}" for n in range(90)]
    root = parse(line_chart("c", "t", days, [Series("rest", list(range(90)))]))
    axis_days = [t for t in texts(root) if t.startswith("d")]
    assert 1 < len(axis_days) <= 12 and axis_days[0] == "d0"


def test_arabic_time_axis_runs_right_to_left():
    series = [Series("rest", [1, 2])]
    root = parse(line_chart("c", "t", ["a", "b"], series, rtl=True))
    first, second = marks(root, "circle", "point")
    assert float(first.get("cx")) > float(second.get("cx"))


def test_empty_charts_are_still_well_formed():
    for markup in (bar_chart("c", "t", [], []), stacked_bars("c", "t", [], []),
                   line_chart("c", "t", [], [])):
        assert parse(markup).get("role") == "img"


def test_count_axes_have_whole_gridline_values_above_the_largest():
    root = parse(stacked_bars("c", "t", ["a", "b"], [Series("s", [5, 3])]))
    axis = [float(e.text) for e in root.iter(f"{SVG}text") if e.get("class") == "axis"
            and e.text.replace(".", "").isdigit()]
    assert axis == [0, 2, 4, 6, 8]


def test_each_label_is_laid_out_in_its_own_direction_at_the_same_place():
    root = parse(bar_chart("c", "t", ["فين نخلص", "greet"], [2, 1]))
    arabic, latin = (next(e for e in root.iter(f"{SVG}text") if "".join(e.itertext()) == label)
                     for label in ("فين نخلص", "greet"))
    assert arabic.get("direction") == "rtl" and latin.get("direction") == "ltr"
    # Both end where the bars begin: "start" of right-to-left text is its right end.
    assert arabic.get("x") == latin.get("x")
    assert (arabic.get("text-anchor"), latin.get("text-anchor")) == ("start", "end")
