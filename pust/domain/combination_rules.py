"""Combinations of readings: several small changes from the citizen's own baseline in one
measuring session, none of which alone is worth a nurse's time (issue 13).

A :class:`ReadingCombinationRule` fires when every one of its :class:`BaselineShift`
conditions holds for readings taken within ``within_minutes`` of each other: e.g. SpO2 at
least 3 points below the personal baseline *and* pulse at least 10 /min above it. A
falling saturation with a rising pulse is the physiological signature of an exacerbation's
onset in home pulse oximetry (Hurst 2010, BMC Pulm Med 10:52; Al Rajeh & Hurst 2016 review,
J Clin Med 5:108), while each alone varies from day to day.

The rule is judged on each reading of a type it names; the partner readings come from the
history (the oximeter sends SpO2 and pulse together, so whichever is judged second sees the
first). Both are judged against one alert key (``combination.<name>``): the pair is one task.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pust.domain.measurement_types import MeasurementType
from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    HistoryNeed,
    ReadingFacts,
    ReadingRule,
    RuleOutcome,
    json_number,
    label_da,
    number_da,
    reason,
    unit_da,
)
from pust.domain.severity import Severity


class BaselineShift(BaseModel):
    """A reading of ``type`` at least ``points`` below/above the personal baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: MeasurementType
    direction: Literal["below", "above"]
    points: float = Field(gt=0)

    def shift(self, value: float, baseline: float) -> float:
        return baseline - value if self.direction == "below" else value - baseline

    def text_da(self, value: float, baseline: float) -> str:
        unit = unit_da(self.type)
        where = "under" if self.direction == "below" else "over"
        return (
            f"{label_da(self.type)} {number_da(value)} {unit} er "
            f"{number_da(abs(self.shift(value, baseline)))} {where} basislinjen "
            f"{number_da(baseline)} {unit}"
        )


class ReadingCombinationRule(ReadingRule):
    """Every condition in one session (``within_minutes``) → ``severity``."""

    collection: ClassVar[str] = "reading_combinations"

    kind: Literal["reading_combination"] = "reading_combination"
    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    conditions: tuple[BaselineShift, ...] = Field(min_length=2)
    within_minutes: int = Field(default=30, ge=1, le=24 * 60)
    severity: Literal[Severity.YELLOW, Severity.RED] = Severity.YELLOW

    @property
    def key(self) -> str:
        return f"combination.{self.name}"

    @property
    def measured(self) -> MeasurementType:
        return self.conditions[0].type

    def judges_type(self, type_: str) -> bool:
        return any(c.type.value == type_ for c in self.conditions)

    def baselines_used(self) -> tuple[str, ...]:
        return tuple(c.type.value for c in self.conditions)

    def history_wanted(self) -> tuple[HistoryNeed, ...]:
        return tuple(HistoryNeed(c.type.value, 1) for c in self.conditions)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        types = [c.type for c in self.conditions]
        if len(set(types)) != len(types):
            raise ValueError(f"combination {self.name}: a measurement type is listed twice")
        return self

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome | None:
        window = self.within_minutes * 60
        values: list[tuple[BaselineShift, float, float]] = []
        for condition in self.conditions:
            baseline = evidence.baselines.get(condition.type.value)
            if baseline is None:
                return None
            if condition.type.value == reading.type:
                value: float | None = reading.value
            else:
                near = [
                    p
                    for p in evidence.history_of(condition.type.value)
                    if abs((p.at - reading.measured_at).total_seconds()) <= window
                ]
                nearest = min(
                    near,
                    key=lambda p: abs((p.at - reading.measured_at).total_seconds()),
                    default=None,
                )
                value = nearest.value if nearest is not None else None
            if value is None:  # the partner reading is not there (yet): not judged
                return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, reading.value)
            values.append((condition, value, baseline))
        if not all(c.shift(v, b) >= c.points for c, v, b in values):
            return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, reading.value)
        parts = " og ".join(c.text_da(v, b) for c, v, b in values)
        limits = ", ".join(
            f"{label_da(c.type)} {number_da(c.points)} "
            f"{'under' if c.direction == 'below' else 'over'}"
            for c, _, _ in values
        )
        text = f"{parts} i samme måling ({COLOUR_DA[self.severity]} ved {limits})"
        first, _, first_baseline = values[0]
        limit = first_baseline + (-1 if first.direction == "below" else 1) * first.points
        found = reason(
            self.key,
            self.severity,
            reading.value,
            limit,
            text,
            values={c.type.value: json_number(v) for c, v, _ in values},
        )
        return RuleOutcome(self.key, self.severity, (found,), self.auto_resolve, reading.value)
