"""Server-rendered SVG trend charts: one measurement type over 14/30/90 days with the limit
bands drawn and late, manual and invalid readings marked. Pure: no I/O, no scripts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 10, 24


@dataclass(frozen=True, slots=True)
class ChartPoint:
    at: datetime
    value: float
    manual: bool = False
    late: bool = False
    valid: bool = True


@dataclass(frozen=True, slots=True)
class LimitBands:
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


def _range(points: list[ChartPoint], limits: LimitBands) -> tuple[float, float]:
    values = [p.value for p in points] + limits.values()
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = high - low or max(abs(high) * 0.1, 1.0)
    return low - span * 0.15, high + span * 0.15


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 20 else f"{value:.1f}"


def trend_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str,
    points: list[ChartPoint],
    limits: LimitBands,
    start: datetime,
    end: datetime,
) -> str:
    """An accessible SVG (role=img, title and description); the readings table beside it is
    the text alternative."""
    low, high = _range(points, limits)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    seconds = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - start).total_seconds() / seconds, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, low), high) - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>',
    ]

    def band(css: str, from_value: float, to_value: float) -> None:
        top, bottom = y(max(from_value, to_value)), y(min(from_value, to_value))
        if bottom - top > 0.1:
            parts.append(
                f'<rect class="{css}" x="{LEFT}" y="{top:.1f}" width="{plot_w}" '
                f'height="{bottom - top:.1f}"/>'
            )

    if limits.red_low is not None:
        band("band-red", low, limits.red_low)
    if limits.yellow_low is not None:
        band(
            "band-yellow", limits.red_low if limits.red_low is not None else low, limits.yellow_low
        )
    if limits.red_high is not None:
        band("band-red", limits.red_high, high)
    if limits.yellow_high is not None:
        band(
            "band-yellow",
            limits.yellow_high,
            limits.red_high if limits.red_high is not None else high,
        )
    for limit in limits.values():
        parts.append(
            f'<line class="limit" x1="{LEFT}" x2="{LEFT + plot_w}" '
            f'y1="{y(limit):.1f}" y2="{y(limit):.1f}"/>'
        )
    for step in range(5):
        value = low + (high - low) * step / 4
        parts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{_fmt(value)}</text>'
        )
    days = (end - start).days or 1
    every = 1 if days <= 14 else 5 if days <= 30 else 15
    day = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day < end:
        if (day - start).days % every == 0:
            px = x(day)
            parts.append(
                f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            )
            parts.append(
                f'<text class="tick" x="{px:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{day:%d/%m}</text>'
            )
        day += timedelta(days=1)
    ordered = sorted((p for p in points if p.valid), key=lambda p: p.at)
    if len(ordered) > 1:
        path = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in ordered)
        parts.append(f'<polyline class="trend" points="{path}"/>')
    for p in points:
        px, py = x(p.at), y(p.value)
        label = escape(f"{p.at:%d/%m %H:%M} {_fmt(p.value)} {unit}")
        if not p.valid:
            parts.append(
                f'<g class="pt-invalid"><title>{label}</title>'
                f'<path d="M{px - 4:.1f},{py - 4:.1f}l8,8m0,-8l-8,8"/></g>'
            )
            continue
        if p.manual:
            parts.append(
                f'<rect class="pt-manual" x="{px - 4:.1f}" y="{py - 4:.1f}" '
                f'width="8" height="8"><title>{label}</title></rect>'
            )
        else:
            parts.append(
                f'<circle class="pt" cx="{px:.1f}" cy="{py:.1f}" r="3.5">'
                f"<title>{label}</title></circle>"
            )
        if p.late:
            parts.append(f'<circle class="pt-late" cx="{px:.1f}" cy="{py:.1f}" r="7"/>')
    parts.append("</svg>")
    return "".join(parts)
