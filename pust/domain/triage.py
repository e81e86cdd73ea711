"""Triage: apply a citizen's rule set to one reading or one questionnaire response.

Every rule is evaluated on its own. A rule that raises does not stop the others: it becomes
a :class:`RuleFailure`, which the alerts service turns into a technical alert ("could not be
triaged") — never silence. Reasons are machine-readable dictionaries with a Danish text, e.g.
``{"rule": "spo2.absolute", "severity": "red", "value": 86, "limit": 88,
"text_da": "SpO2 86 % < rød grænse 88 %"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pust.domain.baselines import TimedValue
from pust.domain.limits import (
    AbsoluteLimit,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    MeasurementRule,
    QuestionnaireItemRule,
    QuestionnaireRule,
    QuestionnaireScoreRule,
    RuleSet,
)
from pust.domain.measurement_types import SPECS, MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.domain.severity import Severity

_COLOUR_DA = {Severity.RED: "rød", Severity.YELLOW: "gul"}
_UNIT_DA = {"Cel": "°C", "mm[Hg]": "mmHg", "/30s": "/30 s"}
_LABEL_DA = {MeasurementType.SPO2: "SpO2"}


def number_da(value: float) -> str:
    """Danish decimal comma; whole numbers without decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _label(type_: MeasurementType) -> str:
    return _LABEL_DA.get(type_, SPECS[type_].danish_name)


def _unit(type_: MeasurementType) -> str:
    unit = SPECS[type_].unit
    return _UNIT_DA.get(unit, unit)


def _json_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """The verdict of one rule key: green when evaluated and not breached."""

    rule: str
    severity: Severity
    reasons: tuple[dict[str, Any], ...] = ()
    auto_resolve: bool = False
    value: float | None = None


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    error: str  # the exception's class name: no values, no health data

    def reason(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": None,
            "error": self.error,
            "text_da": f"Reglen {self.rule} kunne ikke vurderes; se målingen manuelt",
        }


@dataclass(frozen=True, slots=True)
class Triage:
    outcomes: tuple[RuleOutcome, ...] = ()
    failures: tuple[RuleFailure, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # rules without a baseline or history yet

    @property
    def severity(self) -> Severity:
        return Severity.worst(*(outcome.severity for outcome in self.outcomes))

    @property
    def reasons(self) -> list[dict[str, Any]]:
        found = [reason for outcome in self.outcomes for reason in outcome.reasons]
        return found + [failure.reason() for failure in self.failures]

    @property
    def breaches(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.severity is not Severity.GREEN)


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    type: str
    value: float
    measured_at: datetime


def _reason(
    rule: str, severity: Severity, value: float, limit: float, text: str, **extra: Any
) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": severity.value,
        "value": _json_number(value),
        "limit": _json_number(limit),
        "text_da": text,
        **extra,
    }


def _absolute(rule: AbsoluteLimit, reading: ReadingFacts) -> RuleOutcome:
    value, label, unit = reading.value, _label(rule.type), _unit(rule.type)

    def below(limit: float | None) -> bool:
        return limit is not None and (value <= limit if rule.low_inclusive else value < limit)

    def above(limit: float | None) -> bool:
        return limit is not None and (value >= limit if rule.high_inclusive else value > limit)

    checks: list[tuple[Severity, float | None, Callable[[float | None], bool], str]] = [
        (Severity.RED, rule.red_low, below, "≤" if rule.low_inclusive else "<"),
        (Severity.RED, rule.red_high, above, "≥" if rule.high_inclusive else ">"),
        (Severity.YELLOW, rule.yellow_low, below, "≤" if rule.low_inclusive else "<"),
        (Severity.YELLOW, rule.yellow_high, above, "≥" if rule.high_inclusive else ">"),
    ]
    for severity, limit, breached, sign in checks:
        if limit is not None and breached(limit):
            text = (
                f"{label} {number_da(value)} {unit} {sign} {_COLOUR_DA[severity]} grænse "
                f"{number_da(limit)} {unit}"
            )
            reason = _reason(rule.key, severity, value, limit, text, comparison=sign)
            return RuleOutcome(rule.key, severity, (reason,), rule.auto_resolve, value)
    return RuleOutcome(rule.key, Severity.GREEN, (), rule.auto_resolve, value)


def _baseline(rule: BaselineRule, reading: ReadingFacts, baseline: float) -> RuleOutcome:
    value, label, unit = reading.value, _label(rule.type), _unit(rule.type)
    for severity, threshold in ((Severity.RED, rule.red), (Severity.YELLOW, rule.yellow)):
        if threshold is None:
            continue
        if rule.mode == "points":
            distance = baseline - value if rule.direction == "below" else value - baseline
            if distance >= threshold:
                where = "under" if rule.direction == "below" else "over"
                limit = baseline - threshold if rule.direction == "below" else baseline + threshold
                text = (
                    f"{label} {number_da(value)} {unit} er {number_da(distance)} {where} "
                    f"basislinjen {number_da(baseline)} {unit} ({_COLOUR_DA[severity]} "
                    f"grænse {number_da(threshold)})"
                )
                reason = _reason(rule.key, severity, value, limit, text, baseline=baseline)
                return RuleOutcome(rule.key, severity, (reason,), rule.auto_resolve, value)
        else:
            percent = value / baseline * 100.0
            breached = percent < threshold if rule.direction == "below" else percent > threshold
            if breached:
                sign = "<" if rule.direction == "below" else ">"
                text = (
                    f"{label} {number_da(value)} {unit} er {number_da(round(percent))} % af "
                    f"basislinjen {number_da(baseline)} {unit} ({sign} {_COLOUR_DA[severity]} "
                    f"grænse {number_da(threshold)} %)"
                )
                reason = _reason(
                    rule.key,
                    severity,
                    value,
                    baseline * threshold / 100.0,
                    text,
                    baseline=baseline,
                    percent_of_baseline=round(percent, 1),
                )
                return RuleOutcome(rule.key, severity, (reason,), rule.auto_resolve, value)
    return RuleOutcome(rule.key, Severity.GREEN, (), rule.auto_resolve, value)


def _change(
    rule: ChangeRule, reading: ReadingFacts, history: Sequence[TimedValue]
) -> RuleOutcome | None:
    since = reading.measured_at - timedelta(days=rule.window_days)
    window = [p for p in history if since <= p.at < reading.measured_at]
    if not window:
        return None
    reference = max(window, key=lambda p: abs(reading.value - p.value))
    change = reading.value - reference.value
    label, unit = _label(rule.type), _unit(rule.type)
    for severity, threshold in ((Severity.RED, rule.red), (Severity.YELLOW, rule.yellow)):
        if threshold is not None and abs(change) >= threshold:
            sign = "+" if change > 0 else "−"
            text = (
                f"{label} ændret {sign}{number_da(abs(change))} {unit} på "
                f"{rule.window_days} dage ({_COLOUR_DA[severity]} grænse "
                f"{number_da(threshold)} {unit})"
            )
            reason = _reason(
                rule.key,
                severity,
                reading.value,
                threshold,
                text,
                change=_json_number(round(change, 3)),
                window_days=rule.window_days,
            )
            return RuleOutcome(rule.key, severity, (reason,), rule.auto_resolve, reading.value)
    return RuleOutcome(rule.key, Severity.GREEN, (), rule.auto_resolve, reading.value)


def triage_reading(
    reading: ReadingFacts,
    rules: RuleSet,
    *,
    baselines: Mapping[str, float],
    history: Sequence[TimedValue] = (),
) -> Triage:
    """Apply every rule for the reading's type. ``history``: earlier valid readings of the
    same type (for change rules); ``baselines``: the citizen's baselines by type."""
    outcomes: list[RuleOutcome] = []
    failures: list[RuleFailure] = []
    skipped: list[str] = []
    try:
        applicable: list[MeasurementRule] = rules.measurement_rules(reading.type)
    except ValueError:
        return Triage()  # a type no rule knows: green, nothing to say
    for rule in applicable:
        try:
            outcome: RuleOutcome | None
            if isinstance(rule, AbsoluteLimit):
                outcome = _absolute(rule, reading)
            elif isinstance(rule, BaselineRule):
                baseline = baselines.get(rule.type.value)
                outcome = None if baseline is None else _baseline(rule, reading, baseline)
            else:
                outcome = _change(rule, reading, history)
        except Exception as exc:  # a broken rule must become a technical alert, not silence
            failures.append(RuleFailure(rule.key, type(exc).__name__))
            continue
        if outcome is None:
            skipped.append(rule.key)
        else:
            outcomes.append(outcome)
    return Triage(tuple(outcomes), tuple(failures), tuple(skipped))


def _items_outcome(
    rules: Sequence[QuestionnaireItemRule], answers: Mapping[str, Any]
) -> RuleOutcome:
    definition = QUESTIONNAIRES[rules[0].questionnaire]
    reasons: list[dict[str, Any]] = []
    severities: list[Severity] = []
    for rule in rules:
        if answers.get(rule.item) is True:
            item = definition.item(rule.item)
            text = item.text_da if item else rule.item
            severities.append(rule.severity)
            reasons.append(
                {
                    "rule": rule.key,
                    "severity": rule.severity.value,
                    "item": rule.item,
                    "value": True,
                    "text_da": f"{text} Ja.",
                }
            )
    severity = Severity.worst(*severities)
    auto = all(rule.auto_resolve for rule in rules)
    return RuleOutcome(rules[0].key, severity, tuple(reasons), auto, float(len(reasons)))


def _score_outcome(rule: QuestionnaireScoreRule, score: float, baseline: float) -> RuleOutcome:
    rise = score - baseline
    thresholds = (
        (Severity.RED, rule.red_points_above_baseline),
        (Severity.YELLOW, rule.yellow_points_above_baseline),
    )
    for severity, threshold in thresholds:
        if threshold is not None and rise >= threshold:
            text = (
                f"CAT-score {number_da(score)} er {number_da(rise)} point over basislinjen "
                f"{number_da(baseline)} ({_COLOUR_DA[severity]} grænse {number_da(threshold)})"
            )
            reason = _reason(
                rule.key,
                severity,
                score,
                baseline + threshold,
                text,
                item=rule.item,
                baseline=baseline,
            )
            return RuleOutcome(rule.key, severity, (reason,), rule.auto_resolve, score)
    return RuleOutcome(rule.key, Severity.GREEN, (), rule.auto_resolve, score)


def _combination_outcome(rule: CombinationRule, answers: Mapping[str, Any]) -> RuleOutcome:
    present = sum(1 for item in rule.items if answers.get(item) is True)
    if present == len(rule.items):
        text = f"{present} af {len(rule.items)} forværringssymptomer: {rule.text_da}"
        reason = {
            "rule": rule.key,
            "severity": rule.severity.value,
            "value": present,
            "limit": len(rule.items),
            "items": list(rule.items),
            "text_da": text,
        }
        return RuleOutcome(rule.key, rule.severity, (reason,), rule.auto_resolve, float(present))
    return RuleOutcome(rule.key, Severity.GREEN, (), rule.auto_resolve, float(present))


def triage_response(
    questionnaire: str,
    answers: Mapping[str, Any],
    rules: RuleSet,
    *,
    baselines: Mapping[str, float],
) -> Triage:
    """Apply the questionnaire rules to one response (``answers``: item id → value)."""
    applicable: list[QuestionnaireRule] = rules.questionnaire_rules(questionnaire)
    outcomes: list[RuleOutcome] = []
    failures: list[RuleFailure] = []
    skipped: list[str] = []
    items = [r for r in applicable if isinstance(r, QuestionnaireItemRule)]
    if items:
        try:
            outcomes.append(_items_outcome(items, answers))
        except Exception as exc:  # see triage_reading
            failures.append(RuleFailure(items[0].key, type(exc).__name__))
    for rule in applicable:
        try:
            if isinstance(rule, QuestionnaireScoreRule):
                score, baseline = answers.get(rule.item), baselines.get(rule.item)
                if score is None or baseline is None:
                    skipped.append(rule.key)
                    continue
                outcomes.append(_score_outcome(rule, float(score), baseline))
            elif isinstance(rule, CombinationRule):
                outcomes.append(_combination_outcome(rule, answers))
        except Exception as exc:  # see triage_reading
            failures.append(RuleFailure(rule.key, type(exc).__name__))
    return Triage(tuple(outcomes), tuple(failures), tuple(skipped))
