"""Server-rendered SVG trend charts: one measurement type over 14/30/90 days, drawn with what
triage used at each time — the limits of the version in force then (not today's limits over
the past), the personal baseline and the bands it implies, and the corridor of a change rule
(weight ± 2 kg within 7 days). Pure: no I/O, no scripts; ``citizen.js`` adds the tooltip on
hover and keyboard focus from each point's ``data-tip``.

Each chart is drawn twice, wide and narrow, so the axis text is legible at 390 px (an SVG
scales its text with it); CSS shows one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from pust.domain.limits import AbsoluteLimit, BaselineRule, ChangeRule, RuleSet

TOP, BOTTOM, RIGHT = 12, 28, 10


@dataclass(frozen=True, slots=True)
class ChartPoint:
    at: datetime
    value: float
    manual: bool = False
    late: bool = False
    valid: bool = True
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The yellow and red limits in force for one type: a value below a low or above a high
    limit alarms. Absolute limits and baseline-relative rules combine to the strictest."""

    red_low: float | None = None
    yellow_low: float | None = None
    yellow_high: float | None = None
    red_high: float | None = None

    def values(self) -> list[float]:
        return [
            v
            for v in (self.red_low, self.yellow_low, self.yellow_high, self.red_high)
            if v is not None
        ]


@dataclass(frozen=True, slots=True)
class LimitPeriod:
    """From ``start`` to ``end`` these thresholds (limit set ``version``) were in force."""

    start: datetime
    end: datetime
    thresholds: Thresholds
    version: int
    baseline: float | None = None


@dataclass(frozen=True, slots=True)
class ChangeCorridor:
    """A change rule: a reading alarms when it is ``yellow``/``red`` away from any valid
    reading of the past ``window_days``."""

    window_days: int
    yellow: float | None
    red: float | None


@dataclass(frozen=True, slots=True)
class ChartText:
    """How the chart writes numbers and times (the page's :class:`Formatter`)."""

    number: Callable[[float, int], str]
    tip_time: Callable[[datetime], str]
    axis_day: Callable[[datetime], str]
    local: Callable[[datetime], datetime]
    baseline: str
    version: str


def _stricter_low(*values: float | None) -> float | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _stricter_high(*values: float | None) -> float | None:
    found = [v for v in values if v is not None]
    return min(found) if found else None


def thresholds_for(rules: RuleSet, type_: str, baseline: float | None) -> Thresholds:
    """The absolute limits of ``type_`` combined with its baseline rule at this baseline."""
    red_low = yellow_low = yellow_high = red_high = None
    for absolute in rules.of_kind(AbsoluteLimit):
        if absolute.type.value == type_:
            red_low, yellow_low = absolute.red_low, absolute.yellow_low
            yellow_high, red_high = absolute.yellow_high, absolute.red_high
    for rule in rules.of_kind(BaselineRule):
        if rule.type.value != type_ or baseline is None:
            continue

        def at(amount: float | None, below: bool, percent: bool) -> float | None:
            if amount is None:
                return None
            if percent:
                return baseline * amount / 100.0
            return baseline - amount if below else baseline + amount

        below, percent = rule.direction == "below", rule.mode == "percent"
        if below:
            yellow_low = _stricter_low(yellow_low, at(rule.yellow, below, percent))
            red_low = _stricter_low(red_low, at(rule.red, below, percent))
        else:
            yellow_high = _stricter_high(yellow_high, at(rule.yellow, below, percent))
            red_high = _stricter_high(red_high, at(rule.red, below, percent))
    return Thresholds(red_low, yellow_low, yellow_high, red_high)


def change_corridor(rules: RuleSet, type_: str) -> ChangeCorridor | None:
    for rule in rules.of_kind(ChangeRule):
        if rule.type.value == type_:
            return ChangeCorridor(rule.window_days, rule.yellow, rule.red)
    return None


def nice_ticks(low: float, high: float, count: int = 6) -> tuple[list[float], int]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2, 2.5 or 5 × 10ⁿ) and the
    decimals that write them exactly: the axis says 36,5 and 37,0, never 36, 37, 37."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    multiple = next(m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw - 1e-12)
    step = multiple * magnitude
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks: list[float] = []
    value = first
    while value <= last + step / 2:
        ticks.append(round(value, 10))
        value += step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    while decimals < 6 and abs(round(step, decimals) - step) > 1e-9:
        decimals += 1  # 2.5 needs one decimal, 0.25 two, 25 none
    return ticks, decimals


def _domain(points: Sequence[ChartPoint], periods: Sequence[LimitPeriod]) -> tuple[float, float]:
    values = [p.value for p in points]
    for period in periods:
        values += period.thresholds.values()
        if period.baseline is not None:
            values.append(period.baseline)
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 0.5)
    return low - pad, high + pad


def _corridor_steps(
    points: Sequence[ChartPoint], corridor: ChangeCorridor, amount: float
) -> list[tuple[datetime, float, float]]:
    """For each valid reading: the band ``(lower, upper)`` it was judged against."""
    valid = sorted((p for p in points if p.valid), key=lambda p: p.at)
    window = timedelta(days=corridor.window_days)
    steps = []
    for index, point in enumerate(valid):
        prior = [p.value for p in valid[:index] if point.at - window <= p.at < point.at]
        if prior:
            steps.append((point.at, max(prior) - amount, min(prior) + amount))
    return steps


def _tip(point: ChartPoint, value: str, unit: str, text: ChartText, flags: dict[str, str]) -> str:
    parts = [text.tip_time(point.at), f"{value} {unit}".strip()]
    if point.severity in ("red", "yellow"):
        parts.append(flags[point.severity])
    if point.manual:
        parts.append(flags["manual"])
    if point.late:
        parts.append(flags["late"])
    if not point.valid:
        parts.append(flags["invalid"])
    return " · ".join(parts)


def trend_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str,
    decimals: int,
    points: Sequence[ChartPoint],
    periods: Sequence[LimitPeriod],
    corridor: ChangeCorridor | None,
    start: datetime,
    end: datetime,
    text: ChartText,
    flags: dict[str, str],
    width: int = 720,
    height: int = 230,
) -> str:
    """One chart as an SVG group (labelled by its title and a summary); the points are
    keyboard-reachable images with a local-time label each."""
    ticks, tick_decimals = nice_ticks(*_domain(points, periods))
    low, high = ticks[0], ticks[-1]
    label_width = max(len(text.number(v, tick_decimals)) for v in ticks) * 7 + 10
    left = max(34, label_width)
    plot_w, plot_h = width - left - RIGHT, height - TOP - BOTTOM
    seconds = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return left + plot_w * min(max((at - start).total_seconds() / seconds, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, low), high) - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="group" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t" '
        f'aria-describedby="{chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<rect class="plot" x="{left}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>',
    ]

    def band(css: str, x0: float, x1: float, v0: float, v1: float) -> None:
        top, bottom = y(max(v0, v1)), y(min(v0, v1))
        if bottom - top > 0.1 and x1 - x0 > 0.1:
            parts.append(
                f'<rect class="{css}" x="{x0:.1f}" y="{top:.1f}" '
                f'width="{x1 - x0:.1f}" height="{bottom - top:.1f}"/>'
            )

    for period in periods:
        x0, x1 = x(max(period.start, start)), x(min(period.end, end))
        limits = period.thresholds
        if limits.red_low is not None:
            band("band-red", x0, x1, low, limits.red_low)
        if limits.yellow_low is not None:
            floor_ = limits.red_low if limits.red_low is not None else low
            band("band-yellow", x0, x1, floor_, limits.yellow_low)
        if limits.red_high is not None:
            band("band-red", x0, x1, limits.red_high, high)
        if limits.yellow_high is not None:
            ceiling = limits.red_high if limits.red_high is not None else high
            band("band-yellow", x0, x1, limits.yellow_high, ceiling)
        for limit in limits.values():
            parts.append(
                f'<line class="limit" x1="{x0:.1f}" x2="{x1:.1f}" '
                f'y1="{y(limit):.1f}" y2="{y(limit):.1f}"/>'
            )
        if period.baseline is not None:
            by = y(period.baseline)
            parts.append(
                f'<line class="baseline" x1="{x0:.1f}" x2="{x1:.1f}" y1="{by:.1f}" '
                f'y2="{by:.1f}"><title>{escape(text.baseline)} '
                f"{escape(text.number(period.baseline, decimals))} {escape(unit)}</title></line>"
            )
        if period.start > start:
            parts.append(
                f'<line class="version" x1="{x0:.1f}" x2="{x0:.1f}" y1="{TOP}" '
                f'y2="{TOP + plot_h}"><title>{escape(text.version)} {period.version}: '
                f"{escape(text.tip_time(period.start))}</title></line>"
            )
    if corridor is not None:
        for css, amount in (("corridor-yellow", corridor.yellow), ("corridor-red", corridor.red)):
            if amount is None:
                continue
            steps = _corridor_steps(points, corridor, amount)
            for at, lower, upper in steps:
                px = x(at)
                for level in (lower, upper):
                    parts.append(
                        f'<line class="{css}" x1="{px - 6:.1f}" x2="{px + 6:.1f}" '
                        f'y1="{y(level):.1f}" y2="{y(level):.1f}"/>'
                    )
    for value in ticks:
        ty = y(value)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
        parts.append(
            f'<text class="tick" x="{left - 5}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{escape(text.number(value, tick_decimals))}</text>"
        )
    days = max(round(seconds / 86400), 1)
    max_labels = max(plot_w // 58, 2)
    every = next(n for n in (1, 2, 3, 5, 7, 10, 14, 15, 30, 45) if days / n <= max_labels)
    local_start = text.local(start)
    day = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    index = 0
    while day < text.local(end):
        # a local midnight: the axis shows the clinic's days, not UTC's
        instant = day.astimezone(start.tzinfo)
        if index % every == 0:
            px = x(instant)
            parts.append(
                f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            )
            parts.append(
                f'<text class="tick" x="{px:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{escape(text.axis_day(instant))}</text>"
            )
        index += 1
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    ordered = sorted((p for p in points if p.valid), key=lambda p: p.at)
    if len(ordered) > 1:
        path = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in ordered)
        parts.append(f'<polyline class="trend" points="{path}"/>')
    parts.append('<g class="points">')
    for number, p in enumerate(sorted(points, key=lambda p: p.at)):
        px, py = x(p.at), y(p.value)
        tip = escape(_tip(p, text.number(p.value, decimals), unit, text, flags))
        focus = ' tabindex="0"' if number == 0 else ' tabindex="-1"'
        common = f'role="img" aria-label="{tip}" data-tip="{tip}"{focus}'
        css = f"sev-{p.severity}" if p.severity in ("red", "yellow") else ""
        if not p.valid:
            parts.append(
                f'<g class="pt pt-invalid" {common}><title>{tip}</title>'
                f'<path d="M{px - 4:.1f},{py - 4:.1f}l8,8m0,-8l-8,8"/>'
                f'<circle class="hit" cx="{px:.1f}" cy="{py:.1f}" r="8"/></g>'
            )
            continue
        shape = (
            f'<rect class="pt-manual" x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8"/>'
            if p.manual
            else f'<circle class="pt-dot" cx="{px:.1f}" cy="{py:.1f}" r="4"/>'
        )
        late = f'<circle class="pt-late" cx="{px:.1f}" cy="{py:.1f}" r="7.5"/>' if p.late else ""
        parts.append(
            f'<g class="pt {css}" {common}><title>{tip}</title>{shape}{late}'
            f'<circle class="hit" cx="{px:.1f}" cy="{py:.1f}" r="9"/></g>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
