"""Persistence: a yellow breach that holds, rather than one odd reading (issue 13).

A :class:`PersistenceRule` fires when this reading *and* the ``readings - 1`` readings of the
same type before it, all within ``within_days``, are beyond the limit. A team that wants
fewer tasks keeps the single-reading rule for red only (red stays immediate) and lets this
rule give yellow: one SpO2 of 89 % is not a task, 89 % and 90 % the next morning is.

Not part of the shipped starting configuration (that would change what the evaluation
measures); a care team adds it in the limits editor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.measurement_types import MeasurementType
from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    HistoryNeed,
    ReadingFacts,
    ReadingRule,
    RuleOutcome,
    check_unit,
    label_da,
    number_da,
    reason,
    unit_da,
)
from pust.domain.severity import Severity


class PersistenceRule(ReadingRule):
    """``readings`` readings in a row beyond ``below``/``above`` within ``within_days``."""

    collection: ClassVar[str] = "persistence"

    kind: Literal["persistence"] = "persistence"
    type: MeasurementType
    unit: str
    below: float | None = None
    above: float | None = None
    readings: int = Field(default=2, ge=2, le=5)
    within_days: int = Field(default=2, ge=1, le=14)
    severity: Literal[Severity.YELLOW, Severity.RED] = Severity.YELLOW

    @property
    def key(self) -> str:
        return f"{self.type.value}.persistence"

    @property
    def measured(self) -> MeasurementType:
        return self.type

    def history_need(self) -> HistoryNeed:
        return HistoryNeed(self.type.value, self.within_days)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        check_unit(self.type, self.unit)
        name = f"{self.type.value} persistence rule"
        if self.below is None and self.above is None:
            raise ValueError(f"{name}: needs a limit below or above")
        if self.below is not None and self.above is not None and self.below >= self.above:
            raise ValueError(f"{name}: low limit {self.below} is not below high limit {self.above}")
        return self

    def _beyond(self, value: float) -> bool:
        return (self.below is not None and value < self.below) or (
            self.above is not None and value > self.above
        )

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome:
        since = reading.measured_at - timedelta(days=self.within_days)
        before = sorted(
            (
                p
                for p in evidence.history_of(self.type.value)
                if since <= p.at < reading.measured_at
            ),
            key=lambda p: p.at,
        )[-(self.readings - 1) :]
        series = [p.value for p in before] + [reading.value]
        if len(series) < self.readings or not all(self._beyond(v) for v in series):
            return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, reading.value)
        label, unit = label_da(self.type), unit_da(self.type)
        low = self.below is not None and reading.value < self.below
        limit = self.below if low and self.below is not None else self.above
        assert limit is not None  # one of them, by the validator
        values = ", ".join(f"{number_da(v)} {unit}" for v in series)
        text = (
            f"{label} {'under' if low else 'over'} {number_da(limit)} {unit} ved "
            f"{len(series)} målinger i træk inden for {self.within_days} dage ({values}; "
            f"{COLOUR_DA[self.severity]})"
        )
        found = reason(self.key, self.severity, reading.value, limit, text, readings=len(series))
        return RuleOutcome(self.key, self.severity, (found,), self.auto_resolve, reading.value)
