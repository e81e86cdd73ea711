"""Data-quality triage: a reading that cannot be physiological is a "Tjek målingen" task
(wrong person on the scale, a unit mix-up, a slipped probe), never a red or yellow clinical
alert, and the clinical rules do not judge it.

A :class:`PlausibilityRule` screens one measurement type. It flags a reading that

- lies outside ``low``–``high`` (optional; the device contract already refuses what is
  physically impossible, e.g. temperature outside 30–45 °C, so a team only narrows it), or
- differs from the latest plausible reading of the past ``lookback_days`` by more than
  ``max_change`` per ``window_hours`` (never less than ``max_change``: 5 kg within a day,
  10 kg over two days, 42 kg in a week is still flagged, a 4 kg gain in a week is not).

Earlier readings it would have flagged are left out of the history the clinical rules look
back on, so one wrong weighing does not make the next, right one a "weight change".

The defaults (:data:`DEFAULT_PLAUSIBILITY`) are deliberately few and conservative: a rule
here *downgrades* a reading from a clinical alert to a check, so it must only ever catch what
no body can do.

- **Weight ± 5 kg per 24 h, looking back 7 days.** Day-to-day weight varies by 1–2 kg (fluid, meals,
  clothes); fluid retention in heart failure shows as ≥ 2 kg over days, which the clinical
  change rule (± 2 kg in 7 days) still catches. 5 kg in one day is not a body changing but a
  different person, a different scale or a unit mix-up (lb read as kg: × 2.2).
- **No SpO2, pulse, blood-pressure, FEV1 or temperature default.** A sudden low SpO2, a
  pulse of 180 or a fever spike can be real and dangerous; calling it "check the reading"
  could hide a red. What the contract refuses (SpO2 above 100 %, temperature outside
  30–45 °C, pulse outside 20–250) never reaches triage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.baselines import TimedValue
from pust.domain.measurement_types import MeasurementType
from pust.domain.rule_kind import (
    Evidence,
    HistoryNeed,
    MeasurementRuleInUnit,
    ReadingFacts,
    RuleOutcome,
    json_number,
    label_da,
    number_da,
    unit_da,
)
from pust.domain.severity import AlertKind, Severity

CHECK_TITLE_DA = "Tjek målingen"


class PlausibilityRule(MeasurementRuleInUnit):
    """A reading of ``type`` that cannot be physiological becomes a data-quality task."""

    collection: ClassVar[str] = "plausibility"
    alert_kind: ClassVar[AlertKind] = AlertKind.DATA_QUALITY
    key_suffix: ClassVar[str] = "plausibility"

    kind: Literal["plausibility"] = "plausibility"
    max_change: float | None = Field(default=None, gt=0)
    window_hours: int = Field(default=24, ge=1, le=24 * 7)
    lookback_days: int = Field(default=7, ge=1, le=90)
    low: float | None = None
    high: float | None = None

    def history_need(self) -> HistoryNeed | None:
        if self.max_change is None:
            return None
        return HistoryNeed(self.type.value, self.lookback_days)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = f"{self.type.value} plausibility rule"
        if self.max_change is None and self.low is None and self.high is None:
            raise ValueError(f"{name}: needs a largest change or a plausible range")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"{name}: low {self.low} is not below high {self.high}")
        return self

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome:
        value = reading.value
        plausible = self.plausible_history(evidence.history_of(self.type.value))
        problem = self._problem(TimedValue(reading.measured_at, value), plausible)
        if problem is None:
            return RuleOutcome(
                self.key, Severity.GREEN, (), self.auto_resolve, value, self.alert_kind
            )
        text, extra = problem
        found = {
            "rule": self.key,
            "severity": Severity.YELLOW.value,
            "category": "data_quality",
            "title_da": CHECK_TITLE_DA,
            "value": json_number(value),
            "text_da": f"{CHECK_TITLE_DA}: {text}",
            **extra,
        }
        return RuleOutcome(
            self.key, Severity.YELLOW, (found,), self.auto_resolve, value, self.alert_kind
        )

    def screen(self, evidence: Evidence) -> Evidence:
        history = dict(evidence.history)
        if self.type.value in history:
            history[self.type.value] = self.plausible_history(history[self.type.value])
        return Evidence(evidence.baselines, history)

    def plausible_history(self, history: Sequence[TimedValue]) -> list[TimedValue]:
        """The earlier readings this rule would not have flagged, oldest first."""
        accepted: list[TimedValue] = []
        for point in sorted(history, key=lambda p: p.at):
            if self._problem(point, accepted) is None:
                accepted.append(point)
        return accepted

    def _problem(
        self, point: TimedValue, before: Sequence[TimedValue]
    ) -> tuple[str, dict[str, float | int]] | None:
        label, unit = label_da(self.type), unit_da(self.type)
        value = point.value
        if self.low is not None and value < self.low:
            return (
                f"{label} {number_da(value)} {unit} er under {number_da(self.low)} {unit} "
                "og kan ikke passe — forkert person, enhed eller apparat?",
                {"limit": json_number(self.low)},
            )
        if self.high is not None and value > self.high:
            return (
                f"{label} {number_da(value)} {unit} er over {number_da(self.high)} {unit} "
                "og kan ikke passe — forkert person, enhed eller apparat?",
                {"limit": json_number(self.high)},
            )
        if self.max_change is None:
            return None
        since = point.at - timedelta(days=self.lookback_days)
        recent = [p for p in before if since <= p.at < point.at]
        if not recent:
            return None
        previous = max(recent, key=lambda p: p.at)
        change = value - previous.value
        hours = (point.at - previous.at).total_seconds() / 3600
        allowed = self.max_change * max(1.0, hours / self.window_hours)
        if abs(change) <= allowed:
            return None
        sign = "+" if change > 0 else "−"
        span = f"{max(1, round(hours))} timer" if hours < 48 else f"{round(hours / 24)} dage"
        return (
            f"{label} ændret {sign}{number_da(abs(change))} {unit} på {span} (fra "
            f"{number_da(previous.value)} {unit}); mere end {number_da(self.max_change)} {unit} "
            f"pr. {self.window_hours} timer kan ikke være kroppens — forkert person, enhed "
            "eller apparat?",
            {
                "limit": json_number(round(allowed, 3)),
                "change": json_number(round(change, 3)),
                "previous": json_number(previous.value),
                "window_hours": self.window_hours,
            },
        )


DEFAULT_PLAUSIBILITY: tuple[PlausibilityRule, ...] = (
    PlausibilityRule(type=MeasurementType.WEIGHT, unit="kg", max_change=5, window_hours=24),
)
