"""Rule kinds on one measurement: fixed limits, distance from the personal baseline, and
change over days. Each validates its configuration and judges a reading by itself (see
:mod:`pust.domain.rule_kind`)."""

from __future__ import annotations

from collections.abc import Callable
from statistics import median
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.baselines import MIN_RUN_IN_VALUES, RUN_IN_DAYS
from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    HistoryNeed,
    MeasurementRule,
    MeasurementRuleInUnit,
    ReadingFacts,
    RuleOutcome,
    earlier,
    json_number,
    label_da,
    number_da,
    reason,
    unit_da,
)
from pust.domain.severity import Severity


class AbsoluteLimit(MeasurementRuleInUnit):
    """Four limits (OpenTele): a value below a low or above a high limit is yellow or red.

    ``*_inclusive`` makes the limit itself alarming (temperature ≥ 38.0 °C).

    ``red_low_below_baseline``: a citizen who lives near the red low limit (BACKGROUND.md:
    "many COPD citizens live with SpO2 at 88–92 %, so absolute limits must be per citizen")
    gets a personal red low limit once the run-in has given a baseline: ``baseline − this``
    where that is below ``red_low``. A single reading beyond it stays red at once; before the
    baseline the population limit holds, unless ``provisional_within_days`` is set (version
    4): then, until the run-in has given the baseline, the median of the citizen's readings
    of the last that many days stands in for it once there are at least
    :data:`pust.domain.baselines.MIN_RUN_IN_VALUES` of them (a citizen who lives at 87 %
    is not red twice a day through the whole run-in)."""

    collection: ClassVar[str] = "absolute"
    key_suffix: ClassVar[str] = "absolute"

    kind: Literal["absolute"] = "absolute"
    red_low: float | None = None
    yellow_low: float | None = None
    yellow_high: float | None = None
    red_high: float | None = None
    low_inclusive: bool = False
    high_inclusive: bool = False
    red_low_below_baseline: float | None = Field(default=None, gt=0)
    provisional_within_days: int | None = Field(default=None, ge=1, le=RUN_IN_DAYS)

    def baseline_type(self) -> str | None:
        return self.type.value if self.red_low_below_baseline is not None else None

    def history_need(self) -> HistoryNeed | None:
        days = self.provisional_within_days
        return None if days is None else HistoryNeed(self.type.value, days)

    def _provisional(self, reading: ReadingFacts, evidence: Evidence) -> float | None:
        """The median of the last ``provisional_within_days`` (see the class), if enough."""
        days = self.provisional_within_days
        if days is None:
            return None
        values = [p.value for p in earlier(evidence, self.type.value, reading.measured_at, days)]
        return float(median(values)) if len(values) >= MIN_RUN_IN_VALUES else None

    def red_low_in_force(self, baseline: float | None) -> float | None:
        """The red low limit for a citizen with ``baseline`` (see the class)."""
        margin, red_low = self.red_low_below_baseline, self.red_low
        if margin is None or red_low is None or baseline is None:
            return red_low
        return min(red_low, baseline - margin)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = self.type.value
        if self.red_low_below_baseline is not None and self.red_low is None:
            raise ValueError(f"{name}: a personal red low limit needs a red low limit")
        if self.provisional_within_days is not None and self.red_low_below_baseline is None:
            raise ValueError(
                f"{name}: a provisional baseline needs a personal red low limit "
                "(red_low_below_baseline)"
            )
        limits = (self.red_low, self.yellow_low, self.yellow_high, self.red_high)
        if all(limit is None for limit in limits):
            raise ValueError(f"{name}: an absolute limit needs at least one value")
        red_low, yellow_low = self.red_low, self.yellow_low
        if red_low is not None and yellow_low is not None and yellow_low < red_low:
            raise ValueError(f"{name}: yellow low {yellow_low} is outside red low {red_low}")
        red_high, yellow_high = self.red_high, self.yellow_high
        if red_high is not None and yellow_high is not None and yellow_high > red_high:
            raise ValueError(f"{name}: yellow high {yellow_high} is outside red high {red_high}")
        lows = [v for v in (self.red_low, self.yellow_low) if v is not None]
        highs = [v for v in (self.yellow_high, self.red_high) if v is not None]
        if lows and highs and max(lows) >= min(highs):
            raise ValueError(f"{name}: low limit {max(lows)} is not below high limit {min(highs)}")
        return self

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome:
        value, label, unit = reading.value, label_da(self.type), unit_da(self.type)

        def below(limit: float | None) -> bool:
            return limit is not None and (value <= limit if self.low_inclusive else value < limit)

        def above(limit: float | None) -> bool:
            return limit is not None and (value >= limit if self.high_inclusive else value > limit)

        low_sign = "≤" if self.low_inclusive else "<"
        high_sign = "≥" if self.high_inclusive else ">"
        baseline = evidence.baselines.get(self.type.value) if self.baseline_type() else None
        provisional = False
        if baseline is None and self.baseline_type():
            baseline = self._provisional(reading, evidence)
            provisional = baseline is not None
        red_low = self.red_low_in_force(baseline)
        own = red_low != self.red_low
        checks: list[tuple[Severity, float | None, Callable[[float | None], bool], str]] = [
            (Severity.RED, red_low, below, low_sign),
            (Severity.RED, self.red_high, above, high_sign),
            (Severity.YELLOW, self.yellow_low, below, low_sign),
            (Severity.YELLOW, self.yellow_high, above, high_sign),
        ]
        for severity, limit, breached, sign in checks:
            if limit is not None and breached(limit):
                text = (
                    f"{label} {number_da(value)} {unit} {sign} {COLOUR_DA[severity]} grænse "
                    f"{number_da(limit)} {unit}"
                )
                if own and limit == red_low and severity is Severity.RED:
                    own_level = "foreløbig basislinje" if provisional else "basislinjen"
                    text += f" (personlig: {own_level} {number_da(baseline or 0)} {unit})"
                found = reason(self.key, severity, value, limit, text, comparison=sign)
                return RuleOutcome(self.key, severity, (found,), self.auto_resolve, value)
        return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, value)


class BaselineRule(MeasurementRule):
    """Relative to the citizen's personal baseline.

    ``mode='points'``: alarm when the value is at least ``yellow``/``red`` units away from the
    baseline in ``direction`` (SpO2 ≥ 4 points below). ``mode='percent'``: alarm when the value
    is beyond ``yellow``/``red`` percent *of* the baseline (FEV1 < 80 % of baseline)."""

    collection: ClassVar[str] = "baseline"
    key_suffix: ClassVar[str] = "baseline"

    kind: Literal["baseline"] = "baseline"
    direction: Literal["below", "above"]
    mode: Literal["points", "percent"]
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    def baseline_type(self) -> str:
        return self.type.value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = f"{self.type.value} baseline rule"
        if self.yellow is None and self.red is None:
            raise ValueError(f"{name}: needs a yellow or a red threshold")
        if self.yellow is None or self.red is None:
            return self
        if self.mode == "points" and self.red < self.yellow:
            raise ValueError(
                f"{name}: red ({self.red} points) must be at least yellow ({self.yellow})"
            )
        if self.mode == "percent":
            if self.direction == "below" and self.red > self.yellow:
                raise ValueError(
                    f"{name}: red ({self.red} % of baseline) must be at most yellow "
                    f"({self.yellow} %)"
                )
            if self.direction == "above" and self.red < self.yellow:
                raise ValueError(
                    f"{name}: red ({self.red} % of baseline) must be at least yellow "
                    f"({self.yellow} %)"
                )
        if self.mode == "percent" and self.direction == "below" and self.yellow >= 100:
            raise ValueError(f"{name}: yellow below {self.yellow} % of baseline alarms at baseline")
        return self

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome | None:
        baseline = evidence.baselines.get(self.type.value)
        if baseline is None:
            return None
        value, label, unit = reading.value, label_da(self.type), unit_da(self.type)
        for severity, threshold in ((Severity.RED, self.red), (Severity.YELLOW, self.yellow)):
            if threshold is None:
                continue
            if self.mode == "points":
                below = self.direction == "below"
                distance = baseline - value if below else value - baseline
                if distance >= threshold:
                    where = "under" if below else "over"
                    limit = baseline - threshold if below else baseline + threshold
                    text = (
                        f"{label} {number_da(value)} {unit} er {number_da(distance)} {where} "
                        f"basislinjen {number_da(baseline)} {unit} ({COLOUR_DA[severity]} "
                        f"grænse {number_da(threshold)})"
                    )
                    found = reason(self.key, severity, value, limit, text, baseline=baseline)
                    return RuleOutcome(self.key, severity, (found,), self.auto_resolve, value)
                continue
            percent = value / baseline * 100.0
            breached = percent < threshold if self.direction == "below" else percent > threshold
            if breached:
                sign = "<" if self.direction == "below" else ">"
                text = (
                    f"{label} {number_da(value)} {unit} er {number_da(round(percent))} % af "
                    f"basislinjen {number_da(baseline)} {unit} ({sign} {COLOUR_DA[severity]} "
                    f"grænse {number_da(threshold)} %)"
                )
                found = reason(
                    self.key,
                    severity,
                    value,
                    baseline * threshold / 100.0,
                    text,
                    baseline=baseline,
                    percent_of_baseline=round(percent, 1),
                )
                return RuleOutcome(self.key, severity, (found,), self.auto_resolve, value)
        return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, value)


class ChangeRule(MeasurementRuleInUnit):
    """Change over time: the value differs by at least ``yellow``/``red`` units from any
    reading of the same type within the past ``window_days`` (weight ± 2 kg in 7 days)."""

    collection: ClassVar[str] = "change"
    key_suffix: ClassVar[str] = "change"

    kind: Literal["change"] = "change"
    window_days: int = Field(ge=1, le=90)
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    def history_need(self) -> HistoryNeed:
        return HistoryNeed(self.type.value, self.window_days)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.yellow is None and self.red is None:
            raise ValueError(f"{self.type.value} change rule: needs a yellow or a red threshold")
        if self.yellow is not None and self.red is not None and self.red < self.yellow:
            raise ValueError(
                f"{self.type.value} change rule: red change {self.red} "
                f"is below yellow {self.yellow}"
            )
        return self

    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome | None:
        window = earlier(evidence, self.type.value, reading.measured_at, self.window_days)
        if not window:
            return None
        reference = max(window, key=lambda p: abs(reading.value - p.value))
        change = reading.value - reference.value
        label, unit = label_da(self.type), unit_da(self.type)
        for severity, threshold in ((Severity.RED, self.red), (Severity.YELLOW, self.yellow)):
            if threshold is not None and abs(change) >= threshold:
                sign = "+" if change > 0 else "−"
                text = (
                    f"{label} ændret {sign}{number_da(abs(change))} {unit} på "
                    f"{self.window_days} dage ({COLOUR_DA[severity]} grænse "
                    f"{number_da(threshold)} {unit})"
                )
                found = reason(
                    self.key,
                    severity,
                    reading.value,
                    threshold,
                    text,
                    change=json_number(round(change, 3)),
                    window_days=self.window_days,
                )
                return RuleOutcome(self.key, severity, (found,), self.auto_resolve, reading.value)
        return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, reading.value)
