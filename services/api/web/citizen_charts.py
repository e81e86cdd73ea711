"""The citizen page's charts: per measurement type (and the CAT score), with the limit
versions and baselines that were in force at each time turned into :class:`LimitPeriod`s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from pust.db.tables import Baseline, LimitSet, QuestionnaireResponse
from pust.domain.baselines import RUN_IN_DAYS, BaselineMethod
from pust.domain.limits import (
    InvalidRuleSetError,
    QuestionnaireScoreRule,
    RuleSet,
    parse_rule_set,
)
from pust.domain.measurement_types import SPECS
from services.api.citizens.models import ReadingPublic
from services.api.web.charts import (
    ChartPoint,
    ChartText,
    LimitPeriod,
    Thresholds,
    change_corridor,
    thresholds_for,
    trend_chart,
)
from services.api.web.formatting import Formatter


@dataclass(frozen=True, slots=True)
class Chart:
    type: str
    title: str
    unit: str
    wide_svg: str
    narrow_svg: str
    rows: list[dict[str, str]]  # the table alternative: time, value, flags
    summary: str


def _rule_set(limit_set: LimitSet) -> RuleSet | None:
    try:
        return parse_rule_set(limit_set.rules)
    except InvalidRuleSetError:
        return None  # a stored document of an older shape: drawn without bands


def _in_force_from(baseline: Baseline, run_in_end: datetime | None) -> datetime:
    """A run-in median describes the citizen from the end of the run-in, even when it was
    written later (the demo seeds its history after the fact)."""
    if baseline.method == BaselineMethod.RUN_IN_MEDIAN and run_in_end is not None:
        return min(baseline.set_at, run_in_end)
    return baseline.set_at


def _baseline_at(
    baselines: Sequence[Baseline], type_: str, at: datetime, run_in_end: datetime | None
) -> float | None:
    found = [
        b
        for b in baselines
        if b.type == type_
        and _in_force_from(b, run_in_end) <= at
        and (b.superseded_at is None or b.superseded_at > at)
    ]
    return max(found, key=lambda b: b.set_at).value if found else None


def limit_periods(
    versions: Sequence[LimitSet],
    baselines: Sequence[Baseline],
    type_: str,
    start: datetime,
    end: datetime,
    *,
    run_in_end: datetime | None = None,
    score_item: bool = False,
) -> list[LimitPeriod]:
    """Cut ``[start, end)`` wherever a limit version or a baseline of ``type_`` changed.
    Before the first version the first version applies (it is the team's default, copied
    at enrolment)."""
    ordered = sorted(versions, key=lambda v: v.version)
    cuts = {start, end}
    cuts |= {v.created_at for v in ordered if start < v.created_at < end}
    for b in baselines:
        if b.type == type_:
            edges_b = (_in_force_from(b, run_in_end), b.superseded_at)
            cuts |= {t for t in edges_b if t is not None and start < t < end}
    edges = sorted(cuts)
    periods: list[LimitPeriod] = []
    for left, right in pairwise(edges):
        in_force = [v for v in ordered if v.created_at <= left]
        version = in_force[-1] if in_force else (ordered[0] if ordered else None)
        if version is None:
            continue
        rules = _rule_set(version)
        baseline = _baseline_at(baselines, type_, left, run_in_end)
        if rules is None:
            thresholds = Thresholds()
        elif score_item:
            thresholds = _score_thresholds(rules, type_, baseline)
        else:
            thresholds = thresholds_for(rules, type_, baseline)
        periods.append(LimitPeriod(left, right, thresholds, version.version, baseline))
    return periods


def _score_thresholds(rules: RuleSet, item: str, baseline: float | None) -> Thresholds:
    for rule in rules.of_kind(QuestionnaireScoreRule):
        if rule.item == item and baseline is not None:
            yellow, red = rule.yellow_points_above_baseline, rule.red_points_above_baseline
            return Thresholds(
                yellow_high=baseline + yellow if yellow is not None else None,
                red_high=baseline + red if red is not None else None,
            )
    return Thresholds()


def _chart_text(fmt: Formatter, t: Callable[[str], str]) -> ChartText:
    return ChartText(
        number=fmt.number,
        tip_time=fmt.datetime,
        axis_day=fmt.day_month,
        local=fmt.local,
        baseline=t("baseline"),
        version=t("limits_version"),
    )


def _flags(t: Callable[[str], str]) -> dict[str, str]:
    return {
        "red": t("band_red"),
        "yellow": t("band_yellow"),
        "manual": t("manual"),
        "late": t("late"),
        "invalid": t("invalid"),
    }


def _chart(
    *,
    type_: str,
    points: list[ChartPoint],
    periods: list[LimitPeriod],
    rules: RuleSet | None,
    start: datetime,
    end: datetime,
    fmt: Formatter,
    t: Callable[[str], str],
) -> Chart:
    unit = fmt.unit_of(type_)
    decimals = fmt.decimals_for(type_)
    title = f"{fmt.type_name(type_)} ({unit})"
    values = [p.value for p in points if p.valid]
    summary = (
        f"{len(points)} {t('readings_lower')}, {t('lowest')} {fmt.number(min(values), decimals)}, "
        f"{t('highest')} {fmt.number(max(values), decimals)} {unit}"
        if values
        else f"0 {t('readings_lower')}"
    )
    corridor = change_corridor(rules, type_) if rules is not None else None
    text, flags = _chart_text(fmt, t), _flags(t)

    def draw(chart_id: str, width: int, height: int) -> str:
        return trend_chart(
            chart_id=chart_id,
            title=title,
            description=summary,
            unit=unit,
            decimals=decimals,
            points=points,
            periods=periods,
            corridor=corridor,
            start=start,
            end=end,
            text=text,
            flags=flags,
            width=width,
            height=height,
        )

    rows = []
    for p in sorted(points, key=lambda p: p.at, reverse=True):
        marks = [flags[p.severity]] if p.severity in ("red", "yellow") else []
        marks += [flags[k] for k, on in (("manual", p.manual), ("late", p.late)) if on]
        marks += [] if p.valid else [flags["invalid"]]
        rows.append(
            {
                "at": fmt.datetime(p.at),
                "value": fmt.measurement(p.value, type_),
                "flags": ", ".join(marks),
            }
        )
    return Chart(
        type=type_,
        title=title,
        unit=unit,
        wide_svg=draw(f"chart-{type_}-w", 720, 230),
        narrow_svg=draw(f"chart-{type_}-n", 360, 240),
        rows=rows,
        summary=summary,
    )


def build_charts(
    *,
    readings: Sequence[ReadingPublic],
    responses: Sequence[QuestionnaireResponse],
    versions: Sequence[LimitSet],
    baselines: Sequence[Baseline],
    start: datetime,
    end: datetime,
    monitoring_started_at: datetime | None,
    fmt: Formatter,
    t: Callable[[str], str],
) -> list[Chart]:
    run_in_end = (
        monitoring_started_at + timedelta(days=RUN_IN_DAYS) if monitoring_started_at else None
    )
    current = _rule_set(max(versions, key=lambda v: v.version)) if versions else None
    charts = []
    for spec in SPECS.values():
        type_ = spec.type.value
        mine = [r for r in readings if r.type == type_]
        if not mine:
            continue
        points = [
            ChartPoint(
                at=r.measured_at,
                value=r.value,
                manual=r.entry == "manual",
                late=r.late,
                valid=r.valid,
                severity=r.severity,
            )
            for r in mine
        ]
        charts.append(
            _chart(
                type_=type_,
                points=points,
                periods=limit_periods(
                    versions, baselines, type_, start, end, run_in_end=run_in_end
                ),
                rules=current,
                start=start,
                end=end,
                fmt=fmt,
                t=t,
            )
        )
    cat_points = [
        ChartPoint(at=r.answered_at, value=float(a["value"]), late=r.late, valid=r.valid)
        for r in responses
        for a in r.answers
        if a.get("item") == "cat_score" and isinstance(a.get("value"), int | float)
    ]
    if cat_points:
        charts.append(
            _chart(
                type_="cat_score",
                points=cat_points,
                periods=limit_periods(
                    versions,
                    baselines,
                    "cat_score",
                    start,
                    end,
                    run_in_end=run_in_end,
                    score_item=True,
                ),
                rules=None,
                start=start,
                end=end,
                fmt=fmt,
                t=t,
            )
        )
    return charts
