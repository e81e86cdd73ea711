"""The SVG trend chart: bands of the limits in force at each time, baseline and change
rules drawn, honest axes with Danish decimals, local-time labels, marks for late, manual
and invalid readings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from pust.domain.limits import default_rule_set
from services.api.web.charts import (
    ChartPoint,
    ChartText,
    LimitPeriod,
    Thresholds,
    change_corridor,
    nice_ticks,
    thresholds_for,
    trend_chart,
)
from services.api.web.formatting import Formatter

END = datetime(2026, 11, 30, 12, tzinfo=UTC)
START = END - timedelta(days=14)
FMT = Formatter("da", ZoneInfo("Europe/Copenhagen"))
TEXT = ChartText(
    number=FMT.number,
    tip_time=FMT.datetime,
    axis_day=FMT.day_month,
    local=FMT.local,
    baseline="Basislinje",
    version="version",
)
FLAGS = {
    "red": "Rød",
    "yellow": "Gul",
    "manual": "indtastet",
    "late": "for sen",
    "invalid": "ugyldig",
}


def _chart(
    points: list[ChartPoint],
    periods: list[LimitPeriod],
    *,
    unit: str = "%",
    decimals: int = 0,
    corridor: object = None,
) -> str:
    return trend_chart(
        chart_id="c",
        title="SpO2 <%>",
        description="d",
        unit=unit,
        decimals=decimals,
        points=points,
        periods=periods,
        corridor=corridor,  # type: ignore[arg-type]
        start=START,
        end=END,
        text=TEXT,
        flags=FLAGS,
    )


def _whole(thresholds: Thresholds, version: int = 1) -> list[LimitPeriod]:
    return [LimitPeriod(START, END, thresholds, version)]


def test_chart_is_well_formed_accessible_svg() -> None:
    svg = _chart([ChartPoint(END - timedelta(days=1), 93.0)], _whole(Thresholds(red_low=88)))
    root = ElementTree.fromstring(svg)
    assert root.attrib["role"] == "group"
    assert root.attrib["aria-labelledby"] == "c-t"
    assert "SpO2 &lt;%&gt;" in svg  # text is escaped
    point = re.search(r'<g class="pt [^"]*" role="img" aria-label="([^"]+)"[^>]*tabindex="0"', svg)
    assert point is not None  # the first point is keyboard-reachable and labelled


def test_tooltips_and_axis_are_in_the_clinics_local_time() -> None:
    at = datetime(2026, 11, 29, 7, 27, tzinfo=UTC)  # 08.27 in Copenhagen (CET)
    svg = _chart([ChartPoint(at, 93.0, severity="yellow")], _whole(Thresholds()))
    assert 'data-tip="29.11.2026 08.27 · 93 % · Gul"' in svg
    assert "07.27" not in svg
    # day ticks at local midnights
    assert ">29.11<" in svg


def test_axis_ticks_are_round_and_keep_their_decimals() -> None:
    ticks, decimals = nice_ticks(36.2, 38.7)
    assert ticks == [36.0, 36.5, 37.0, 37.5, 38.0, 38.5, 39.0] and decimals == 1
    ticks, decimals = nice_ticks(40, 150)
    assert decimals == 0 and all(t % 25 == 0 for t in ticks)
    ticks, decimals = nice_ticks(0.9, 1.4)
    assert decimals == 1 and ticks[0] <= 0.9 and ticks[-1] >= 1.4
    svg = _chart(
        [ChartPoint(END - timedelta(days=1), 36.8)],
        _whole(Thresholds(yellow_high=38.0, red_high=38.5)),
        unit="°C",
        decimals=1,
    )
    labels = re.findall(r'class="tick" x="\d+" y="[\d.]+" text-anchor="end">([^<]+)<', svg)
    assert labels and all("," in label for label in labels)  # 36,5 not 36.5, never "37, 37"
    assert len(set(labels)) == len(labels)


def test_each_limit_version_is_drawn_where_it_was_in_force() -> None:
    middle = START + timedelta(days=7)
    svg = _chart(
        [ChartPoint(END - timedelta(days=1), 93.0)],
        [
            LimitPeriod(START, middle, Thresholds(red_low=88), 1),
            LimitPeriod(middle, END, Thresholds(red_low=85), 2),
        ],
    )
    reds = re.findall(r'class="band-red" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg)
    assert len(reds) == 2
    (x1, y1, w1), (x2, y2, _w2) = [tuple(map(float, r)) for r in reds]
    assert x2 >= x1 + w1 - 0.2  # side by side in time
    assert y2 > y1  # the lower limit of version 2 leaves a smaller red band
    assert "version 2" in svg  # the change is marked


def test_baseline_rules_become_bands_and_a_baseline_line() -> None:
    rules = default_rule_set()
    fev1 = thresholds_for(rules, "fev1", baseline=2.0)
    assert fev1.yellow_low == 1.6 and fev1.red_low == 1.2  # 80 % and 60 % of 2.0 L
    spo2 = thresholds_for(rules, "spo2", baseline=95.0)
    assert spo2.yellow_low == 91.0 and spo2.red_low == 89.0  # stricter than 90/88
    spo2_low = thresholds_for(rules, "spo2", baseline=90.0)
    assert spo2_low.yellow_low == 90.0 and spo2_low.red_low == 88.0  # absolute is stricter
    svg = _chart(
        [ChartPoint(END - timedelta(days=1), 1.9)],
        [LimitPeriod(START, END, fev1, 1, baseline=2.0)],
        unit="L",
        decimals=2,
    )
    assert 'class="baseline"' in svg and "Basislinje 2,00 L" in svg


def test_a_change_rule_draws_the_corridor_of_each_reading() -> None:
    corridor = change_corridor(default_rule_set(), "weight")
    assert corridor is not None and corridor.window_days == 7
    points = [
        ChartPoint(END - timedelta(days=3), 80.0),
        ChartPoint(END - timedelta(days=2), 80.5),
        ChartPoint(END - timedelta(days=1), 83.0, severity="yellow"),
    ]
    svg = _chart(points, _whole(Thresholds()), unit="kg", decimals=1, corridor=corridor)
    # two readings have a predecessor in the window; each gets a lower and an upper mark
    assert svg.count('class="corridor-yellow"') == 4
    assert svg.count('class="corridor-red"') == 4


def test_late_manual_and_invalid_readings_are_marked() -> None:
    svg = _chart(
        [
            ChartPoint(END - timedelta(days=3), 92.0, manual=True),
            ChartPoint(END - timedelta(days=2), 91.0, late=True),
            ChartPoint(END - timedelta(days=1), 50.0, valid=False),
        ],
        _whole(Thresholds()),
    )
    assert svg.count('class="pt-manual"') == 1
    assert svg.count('class="pt-late"') == 1
    assert svg.count("pt-invalid") == 1
    # the invalid value is not part of the trend line
    line = re.search(r'class="trend" points="([^"]+)"', svg)
    assert line and len(line.group(1).split()) == 2


def test_no_points_still_renders() -> None:
    svg = _chart([], _whole(Thresholds(yellow_high=38.0, red_high=38.5)))
    ElementTree.fromstring(svg)
    assert 'class="band-red"' in svg
