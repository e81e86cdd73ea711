"""Persistence: a yellow breach that holds, rather than one odd reading (issue 13).

A :class:`PersistenceRule` fires when this reading *and* the ``readings - 1`` readings of the
same type before it, all within ``within_days``, are beyond the limit. A team that wants
fewer tasks lets the single-reading rule's yellow be a watch (red stays immediate) and lets
this rule give the yellow task: one SpO2 of 89 % is something to keep an eye on, 89 % and
90 % the next morning is a task.

The limit is the citizen's own once the run-in has given a baseline: more than
``below_baseline`` points under the personal baseline (``above_baseline`` over it) replaces
the population limit ``below`` (``above``); without a population limit the rule waits for
the baseline. A citizen who lives at 88 % is not "persistently low" at 88 %; one who lives
at 95 % is, at 91 %, long before the population limit of 90 %.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    HistoryNeed,
    MeasurementRuleInUnit,
    ReadingFacts,
    RuleOutcome,
    earlier,
    label_da,
    number_da,
    reason,
    unit_da,
)
from pust.domain.severity import Severity


class PersistenceRule(MeasurementRuleInUnit):
    """``readings`` readings in a row beyond the limit within ``within_days``."""

    collection: ClassVar[str] = "persistence"
    key_suffix: ClassVar[str] = "persistence"

    kind: Literal["persistence"] = "persistence"
    below: float | None = None
    above: float | None = None
    below_baseline: float | None = Field(default=None, gt=0)
    above_baseline: float | None = Field(default=None, gt=0)
    readings: int = Field(default=2, ge=2, le=5)
    within_days: int = Field(default=2, ge=1, le=14)
    severity: Literal[Severity.YELLOW, Severity.RED] = Severity.YELLOW

    def history_need(self) -> HistoryNeed:
        return HistoryNeed(self.type.value, self.within_days)

    def baseline_type(self) -> str | None:
        relative = self.below_baseline is not None or self.above_baseline is not None
        return self.type.value if relative else None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = f"{self.type.value} persistence rule"
        limits = (self.below, self.above, self.below_baseline, self.above_baseline)
        if all(limit is None for limit in limits):
            raise ValueError(f"{name}: needs a limit below or above (fixed or from the baseline)")
        if self.below is not None and self.above is not None and self.below >= self.above:
            raise ValueError(f"{name}: low limit {self.below} is not below high limit {self.above}")
        return self

    def limits(self, baseline: float | None) -> tuple[float | None, float | None]:
        """(below, above) in force: the personal ones once there is a baseline."""
        below, above = self.below, self.above
        if baseline is not None and self.below_baseline is not None:
            below = baseline - self.below_baseline
        if baseline is not None and self.above_baseline is not None:
            above = baseline + self.above_baseline
        return below, above

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome:
        baseline = evidence.baselines.get(self.type.value) if self.baseline_type() else None
        below, above = self.limits(baseline)
        before = earlier(evidence, self.type.value, reading.measured_at, self.within_days)
        series = [p.value for p in before[-(self.readings - 1) :]] + [reading.value]

        def beyond(value: float) -> bool:
            return (below is not None and value < below) or (above is not None and value > above)

        if len(series) < self.readings or not all(beyond(v) for v in series):
            return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, reading.value)
        label, unit = label_da(self.type), unit_da(self.type)
        low = below is not None and reading.value < below
        limit = below if low else above
        assert limit is not None  # the value is beyond one of them
        values = ", ".join(f"{number_da(v)} {unit}" for v in series)
        own = ""
        if baseline is not None and (self.below_baseline if low else self.above_baseline):
            own = f" (basislinjen {number_da(baseline)} {unit})"
        text = (
            f"{label} {'under' if low else 'over'} {number_da(limit)} {unit}{own} ved "
            f"{len(series)} målinger i træk inden for {self.within_days} dage ({values}; "
            f"{COLOUR_DA[self.severity]})"
        )
        extra = {"readings": len(series)} | ({"baseline": baseline} if own else {})
        found = reason(self.key, self.severity, reading.value, limit, text, **extra)
        return RuleOutcome(self.key, self.severity, (found,), self.auto_resolve, reading.value)
