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
            "  flagged yellow/red within 48 h of onset",
            f"{e.flagged_within_48h} ({_percent(e.share_flagged_within_48h)})",
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
        (
            "    of which outside any exacerbation",
            f"{e.reading_alerts_outside_episodes} ({_percent(e.share_outside_episodes)})",
        ),
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
        (
            "watches (lower band, not a task)",
            f"{e.watch_alerts} ({_number(e.per_citizen_week(e.watch_alerts))} per citizen-week)",
        ),
        ("  of which outside any exacerbation", str(e.watch_alerts_outside_episodes)),
        ("messages rejected by the protocol validator", str(e.rejected_messages)),
    ]


# rows that need the ground truth: left out when a recording has no episodes
_GROUND_TRUTH_ROWS = (
    "exacerbation",
    "flagged",
    "onset to first flag",
    "outside any exacerbation",
    "outside episodes",
)


# issue 13's goals: (label, value of an evaluation, goal, is the goal met)
_Goal = tuple[str, Callable[[Evaluation], float | None], str, Callable[[float], bool]]
GOALS: tuple[_Goal, ...] = (
    ("flagged within 24 h", lambda e: e.share_flagged_within_24h, ">= 85 %", lambda v: v >= 0.85),
    ("flagged within 48 h", lambda e: e.share_flagged_within_48h, ">= 95 %", lambda v: v >= 0.95),
    ("tasks per citizen-week", lambda e: e.tasks_per_citizen_week, "<= 1.0", lambda v: v <= 1.0),
    (
        "  without blue (blue's budget 0.3)",
        lambda e: e.per_citizen_week(e.nurse_alerts - e.missed_measurement_alerts),
        "<= 0.7",
        lambda v: v <= 0.7,
    ),
    (
        "  of which blue",
        lambda e: e.per_citizen_week(e.missed_measurement_alerts),
        "<= 0.3",
        lambda v: v <= 0.3,
    ),
    (
        "reading alerts outside episodes",
        lambda e: e.share_outside_episodes,
        "<= 50 %",
        lambda v: v <= 0.5,
    ),
)


def goal_rows(evaluation: Evaluation) -> list[tuple[str, str]]:
    found = []
    for label, value_of, goal, met in GOALS:
        value = value_of(evaluation)
        rate = "tasks" in label or "blue" in label
        shown = _number(value) if rate else _percent(value)
        verdict = "—" if value is None else ("met" if met(value) else "NOT met")
        found.append((f"{label} (goal {goal})", f"{shown} {verdict}"))
    return found


def curve_lines(run: EvaluationRun) -> list[str]:
    """Each configuration's place on the curve: sensitivity within 24/48 h against nurse
    tasks per citizen-week (all kinds), sorted by tasks."""
    points = sorted(run.results, key=lambda r: r[1].tasks_per_citizen_week or 0.0)
    lines = ["the curve (sensitivity against nurse tasks per citizen-week):"]
    for configuration, e in points:
        lines.append(
            f"  {_number(e.tasks_per_citizen_week)} tasks/citizen-week  "
            f"24 h {_percent(e.share_flagged_within_24h):>8}  "
            f"48 h {_percent(e.share_flagged_within_48h):>8}  "
            f"{configuration.name} (v{configuration.version})"
        )
    return lines


def _kept(row: tuple[str, str], burden_only: bool) -> bool:
    return not burden_only or not any(word in row[0] for word in _GROUND_TRUTH_ROWS)


def render_table(
    run: EvaluationRun, *, header: str | None = None, burden_only: bool = False
) -> str:
    names = [configuration.name for configuration, _ in run.results]
    table = [
        [row for row in (*rows(e), ("", ""), *goal_rows(e)) if _kept(row, burden_only)]
        for _, e in run.results
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
    if not burden_only:
        lines.extend(curve_lines(run))
        lines.append("")
    for configuration, _ in run.results:
        lines.append(
            f"{configuration.name} (v{configuration.version}): {configuration.description}"
        )
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
    width, height, top, panel_h = 1280, 400, 60, 240
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
    parts.extend(_curve_panel(run, x0=880, top=top, panel_h=panel_h))
    for k, (configuration, _) in enumerate(run.results):
        ly = height - 56 + k * 18
        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(f'<rect x="40" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="58" y="{ly}">{escape(configuration.name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _curve_panel(run: EvaluationRun, *, x0: int, top: int, panel_h: int) -> list[str]:
    """Sensitivity within 24 h (filled) and 48 h (open) against tasks per citizen-week."""
    panel_w = 360
    rates = [e.tasks_per_citizen_week or 0.0 for _, e in run.results]
    x_max = max([*rates, 1.0]) * 1.15
    parts = [
        f'<text x="{x0}" y="{top - 10}" font-weight="bold">the curve: flagged (24 h filled, '
        "48 h open) vs tasks per citizen-week</text>",
        f'<line x1="{x0}" y1="{top + panel_h}" x2="{x0 + panel_w}" y2="{top + panel_h}" '
        'stroke="#333"/>',
        f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{top + panel_h}" stroke="#333"/>',
    ]
    goal_x = x0 + panel_w * 1.0 / x_max
    parts.append(
        f'<line x1="{goal_x:.1f}" y1="{top}" x2="{goal_x:.1f}" y2="{top + panel_h}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    )
    for share in (0.85, 0.95):
        y = top + panel_h * (1 - share)
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#ccc" '
            'stroke-dasharray="4 3"/>'
        )
        parts.append(f'<text x="{x0 + panel_w + 4}" y="{y + 4:.1f}">{_as_percent(share)}</text>')
    parts.append(f'<text x="{goal_x - 10:.1f}" y="{top + panel_h + 16}">1.0</text>')
    for k, (_, e) in enumerate(run.results):
        colour = _COLOURS[k % len(_COLOURS)]
        x = x0 + panel_w * (e.tasks_per_citizen_week or 0.0) / x_max
        for value, fill in (
            (e.share_flagged_within_24h, colour),
            (e.share_flagged_within_48h, "white"),
        ):
            if value is None:
                continue
            y = top + panel_h * (1 - value)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke="{colour}" '
                'stroke-width="2"/>'
            )
    return parts
