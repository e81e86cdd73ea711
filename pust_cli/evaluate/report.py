"""The evaluation as a table and a hand-written SVG figure."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from pust.evaluation.metrics import Evaluation
from pust_cli.evaluate.configurations import EvaluationRun


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def rows(evaluation: Evaluation) -> list[tuple[str, str]]:
    e = evaluation
    return [
        ("exacerbations (ground truth)", str(e.exacerbations)),
        (
            "  flagged yellow/red within 24 h of onset",
            f"{e.flagged_within_24h} ({_percent(e.share_flagged_within_24h)})",
        ),
        (
            "  flagged at some time during the episode",
            f"{e.flagged_during_episode} ({_percent(e.share_flagged_during_episode)})",
        ),
        ("  median hours from onset to first flag", _number(e.median_hours_to_flag, 1)),
        ("readings triaged", str(e.readings)),
        ("  needed no nurse (green)", _percent(e.share_needing_no_nurse)),
        ("nurse alerts per citizen-week (all kinds)", _number(e.per_citizen_week(e.nurse_alerts))),
        (
            "  reading/questionnaire alerts per citizen-week",
            _number(e.per_citizen_week(e.reading_alerts)),
        ),
        ("    of which outside any exacerbation", str(e.reading_alerts_outside_episodes)),
        ("    of which red", str(e.red_alerts)),
        (
            "  missed-measurement alerts (blue)",
            f"{e.missed_measurement_alerts} "
            f"({_number(e.per_citizen_week(e.missed_measurement_alerts))} per citizen-week)",
        ),
        (
            "  reminders on the citizen's tablet (no nurse)",
            f"{e.reminders_sent} "
            f"({_number(e.per_citizen_week(e.reminders_sent))} per citizen-week)",
        ),
        (
            "  silent-tablet alerts",
            f"{e.silent_tablet_alerts} ({_number(e.per_citizen_week(e.silent_tablet_alerts))}"
            " per citizen-week)",
        ),
        ("messages rejected by the protocol validator", str(e.rejected_messages)),
    ]


# rows that need the ground truth: left out when a recording has no episodes
_GROUND_TRUTH_ROWS = ("exacerbation", "flagged", "onset to first flag", "outside any exacerbation")


def render_table(
    run: EvaluationRun, *, header: str | None = None, burden_only: bool = False
) -> str:
    names = [configuration.name for configuration, _ in run.results]
    table = [
        [
            row
            for row in rows(evaluation)
            if not burden_only or not any(word in row[0] for word in _GROUND_TRUTH_ROWS)
        ]
        for _, evaluation in run.results
    ]
    width = max(len(label) for label, _ in table[0]) + 2
    columns = [
        max(len(name), *(len(value) for _, value in column)) + 2
        for name, column in zip(names, table, strict=True)
    ]
    lines = [
        header
        or f"pust evaluate — {run.citizens} simulated citizens, {run.weeks} weeks, seed {run.seed}",
        "",
        " " * width + "".join(n.rjust(c) for n, c in zip(names, columns, strict=True)),
    ]
    for index, (label, _) in enumerate(table[0]):
        values = "".join(table[k][index][1].rjust(columns[k]) for k in range(len(table)))
        lines.append(label.ljust(width) + values)
    lines.append("")
    for configuration, _ in run.results:
        lines.append(f"{configuration.name}: {configuration.description}")
    return "\n".join(lines)


_COLOURS = ("#4a6fa5", "#d98b3a", "#6a9f58")
_Metric = Callable[[Evaluation], float | None]


def _as_percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _as_rate(value: float) -> str:
    return f"{value:.2f}"


def render_svg(run: EvaluationRun) -> str:
    """Two panels: shares (higher is better) and nurse work per citizen-week (lower is)."""
    shares: list[tuple[str, _Metric]] = [
        ("flagged ≤ 24 h", lambda e: e.share_flagged_within_24h),
        ("flagged in episode", lambda e: e.share_flagged_during_episode),
        ("green readings", lambda e: e.share_needing_no_nurse),
    ]
    work: list[tuple[str, _Metric]] = [
        ("reading alerts", lambda e: e.per_citizen_week(e.reading_alerts)),
        ("missed (blue)", lambda e: e.per_citizen_week(e.missed_measurement_alerts)),
        ("silent tablet", lambda e: e.per_citizen_week(e.silent_tablet_alerts)),
    ]
    width, height, top, panel_h = 860, 400, 60, 240
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="20" y="24" font-size="15" font-weight="bold">pust evaluate: '
        f"{run.citizens} simulated citizens, {run.weeks} weeks (seed {run.seed})</text>",
    ]
    evaluations = [e for _, e in run.results]
    work_max = max([v for _, f in work for e in evaluations if (v := f(e)) is not None] + [0.1])
    panels: list[tuple[str, list[tuple[str, _Metric]], float, Callable[[float], str]]] = [
        ("exacerbations flagged; readings green (higher is better)", shares, 1.0, _as_percent),
        ("nurse alerts per citizen-week (lower is better)", work, work_max * 1.15, _as_rate),
    ]
    for panel, (title, metrics, scale, fmt) in enumerate(panels):
        x0 = 40 + panel * 420
        parts.append(f'<text x="{x0}" y="{top - 10}" font-weight="bold">{escape(title)}</text>')
        parts.append(
            f'<line x1="{x0}" y1="{top + panel_h}" x2="{x0 + 380}" '
            f'y2="{top + panel_h}" stroke="#333"/>'
        )
        group_w = 380 / len(metrics)
        for g, (label, value_of) in enumerate(metrics):
            gx = x0 + g * group_w
            for k, evaluation in enumerate(evaluations):
                value = value_of(evaluation)
                if value is None:
                    continue
                bar_h = panel_h * min(1.0, value / scale)
                bx = gx + 8 + k * 38
                parts.append(
                    f'<rect x="{bx:.1f}" y="{top + panel_h - bar_h:.1f}" width="32" '
                    f'height="{bar_h:.1f}" fill="{_COLOURS[k % len(_COLOURS)]}"/>'
                )
                parts.append(
                    f'<text x="{bx + 16:.1f}" y="{top + panel_h - bar_h - 4:.1f}" '
                    f'text-anchor="middle" font-size="11">{fmt(value)}</text>'
                )
            parts.append(
                f'<text x="{gx + group_w / 2:.1f}" y="{top + panel_h + 16}" '
                f'text-anchor="middle" font-size="11">{escape(label)}</text>'
            )
    for k, (configuration, _) in enumerate(run.results):
        ly = height - 56 + k * 18
        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(f'<rect x="40" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="58" y="{ly}">{escape(configuration.name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
