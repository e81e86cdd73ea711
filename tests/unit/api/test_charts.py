"""The SVG trend chart: bands where the limits are, marks for late, manual and invalid."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from services.api.web.charts import ChartPoint, LimitBands, trend_chart

END = datetime(2026, 11, 23, 12, tzinfo=UTC)
START = END - timedelta(days=14)


def _chart(points: list[ChartPoint], limits: LimitBands) -> str:
    return trend_chart(
        chart_id="c",
        title="SpO2 <%>",
        description="d",
        unit="%",
        points=points,
        limits=limits,
        start=START,
        end=END,
    )


def test_chart_is_well_formed_accessible_svg() -> None:
    svg = _chart([ChartPoint(END - timedelta(days=1), 93.0)], LimitBands(red_low=88))
    root = ElementTree.fromstring(svg)
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == "c-t c-d"
    assert "SpO2 &lt;%&gt;" in svg  # text is escaped


def test_limit_bands_are_drawn_on_the_right_side() -> None:
    svg = _chart(
        [ChartPoint(END - timedelta(days=1), 93.0)],
        LimitBands(red_low=88, yellow_low=90, yellow_high=None, red_high=None),
    )
    red = re.search(r'class="band-red" x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    yellow = re.search(r'class="band-yellow" x="\d+" y="([\d.]+)"', svg)
    assert red and yellow
    # the red band (below 88) lies under the yellow band (88-90): larger y in SVG
    assert float(red.group(1)) > float(yellow.group(1))
    assert svg.count('class="limit"') == 2


def test_late_manual_and_invalid_readings_are_marked() -> None:
    svg = _chart(
        [
            ChartPoint(END - timedelta(days=3), 92.0, manual=True),
            ChartPoint(END - timedelta(days=2), 91.0, late=True),
            ChartPoint(END - timedelta(days=1), 50.0, valid=False),
        ],
        LimitBands(),
    )
    assert svg.count('class="pt-manual"') == 1
    assert svg.count('class="pt-late"') == 1
    assert svg.count('class="pt-invalid"') == 1
    # the invalid value is not part of the trend line
    line = re.search(r'class="trend" points="([^"]+)"', svg)
    assert line and len(line.group(1).split()) == 2


def test_no_points_still_renders() -> None:
    svg = _chart([], LimitBands(yellow_high=38.0, red_high=38.5))
    ElementTree.fromstring(svg)
    assert 'class="band-red"' in svg
