"""Personal baselines: the median of the run-in period (the first 14 days), re-set by a
clinician. Baseline-relative rules are skipped until a citizen has a baseline.

A yes/no questionnaire item has a baseline too when a rule asks for it (rule set v4): the
citizen's run-in *yes-rate* (the share of run-in sheets answered "yes", 0..1) instead of a
median: a citizen who says "more cough than usual" on most run-in mornings has that as
their normal (:func:`run_in_baseline` picks the statistic by the baseline's type)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import median
from typing import TYPE_CHECKING

from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType

if TYPE_CHECKING:
    from pust.domain.limits import RuleSet

RUN_IN_DAYS = 14
# fewer values than this in the run-in give no baseline (a median of two is not a baseline)
MIN_RUN_IN_VALUES = 4


class BaselineMethod(StrEnum):
    RUN_IN_MEDIAN = "run_in_median"
    CLINICIAN = "clinician"


@dataclass(frozen=True, slots=True)
class TimedValue:
    at: datetime
    value: float


def run_in_window(
    monitoring_started_at: datetime, days: int = RUN_IN_DAYS
) -> tuple[datetime, datetime]:
    """The half-open run-in period ``[start, end)``."""
    return monitoring_started_at, monitoring_started_at + timedelta(days=days)


def run_in_complete(
    monitoring_started_at: datetime, now: datetime, days: int = RUN_IN_DAYS
) -> bool:
    return now >= run_in_window(monitoring_started_at, days)[1]


def run_in_median(
    values: Iterable[TimedValue],
    *,
    monitoring_started_at: datetime,
    days: int = RUN_IN_DAYS,
    min_values: int = MIN_RUN_IN_VALUES,
) -> float | None:
    """The median of the values measured in the run-in; None with too few values."""
    start, end = run_in_window(monitoring_started_at, days)
    inside = [v.value for v in values if start <= v.at < end]
    if len(inside) < min_values:
        return None
    return float(median(inside))


def is_yes_no_item(type_: str) -> bool:
    """Is ``type_`` (a baseline's type) a yes/no item of a known questionnaire?"""
    for questionnaire in QUESTIONNAIRES.values():
        item = questionnaire.item(type_)
        if item is not None:
            return item.answer_type is AnswerType.BOOLEAN
    return False


def run_in_yes_rate(
    values: Iterable[TimedValue],
    *,
    monitoring_started_at: datetime,
    days: int = RUN_IN_DAYS,
    min_values: int = MIN_RUN_IN_VALUES,
) -> float | None:
    """The share of run-in answers that were "yes" (a yes as 1, a no as 0); None with too
    few answers."""
    start, end = run_in_window(monitoring_started_at, days)
    inside = [1.0 if v.value >= 1 else 0.0 for v in values if start <= v.at < end]
    if len(inside) < min_values:
        return None
    return sum(inside) / len(inside)


def run_in_baseline(
    type_: str,
    values: Iterable[TimedValue],
    *,
    monitoring_started_at: datetime,
    days: int = RUN_IN_DAYS,
    min_values: int = MIN_RUN_IN_VALUES,
) -> float | None:
    """The run-in baseline of ``type_``: the yes-rate of a yes/no item, else the median.
    The alerts service and the evaluation both take baselines through this."""
    of = run_in_yes_rate if is_yes_no_item(type_) else run_in_median
    return of(values, monitoring_started_at=monitoring_started_at, days=days, min_values=min_values)


def baseline_types(rules: RuleSet) -> set[str]:
    """Which baselines the rule set uses: measurement types and scored questionnaire items."""
    return rules.baseline_types()


def validate_clinician_baseline(value: float, reason: str) -> None:
    """A clinician's baseline needs a finite, positive value and a reason."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError("a baseline must be a positive number")
    if not reason.strip():
        raise ValueError("setting a baseline by hand needs a reason")
