"""Triage: apply a citizen's rule set to one reading or one questionnaire response.

Every rule that applies is evaluated on its own (each rule kind judges by itself, see
:mod:`pust.domain.rule_kind`). A rule that raises does not stop the others: it becomes a
:class:`RuleFailure`, which the alerts service turns into a technical alert ("could not be
triaged") — never silence. Outcomes of rules that share a key (the yes/no items of one
questionnaire) are merged into one. Reasons are machine-readable dictionaries with a Danish
text, e.g. ``{"rule": "spo2.absolute", "severity": "red", "value": 86, "limit": 88,
"text_da": "SpO2 86 % < rød grænse 88 %"}``.

Rules that agree on the subject — the same *concern* (:meth:`RuleSet.concern_of`: by default
the clinical rules on one measurement type) — make one alert: :attr:`Triage.concerns` merges
their outcomes (worst severity, every reason worst first), so one SpO2 84 that breaks the
absolute and the baseline rule is one breach with both reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pust.domain.baselines import TimedValue
from pust.domain.limits import RuleSet
from pust.domain.rule_kind import (
    Evidence,
    ReadingFacts,
    ResponseFacts,
    Rule,
    RuleOutcome,
    Subject,
    number_da,
)
from pust.domain.severity import AlertKind, Severity

__all__ = [
    "Concern",
    "Evidence",
    "ReadingFacts",
    "ResponseFacts",
    "RuleFailure",
    "RuleOutcome",
    "Triage",
    "number_da",
    "triage",
    "triage_reading",
    "triage_response",
]


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
class Concern:
    """What one alert is about, judged on one subject: the outcomes of the rules of one
    concern, merged. ``rules``: the rule keys, worst first (the first names the alert's
    rule); ``auto_resolve`` only when every one of them auto-resolves."""

    key: str
    severity: Severity
    rules: tuple[str, ...]
    reasons: tuple[dict[str, Any], ...]
    auto_resolve: bool
    value: float | None
    alert_kind: AlertKind


@dataclass(frozen=True, slots=True)
class Triage:
    outcomes: tuple[RuleOutcome, ...] = ()
    failures: tuple[RuleFailure, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # rules without a baseline or history yet
    # rule key → concern key (see RuleSet.concern_of); a rule not named is its own concern
    concern_of: Mapping[str, str] = field(default_factory=dict)

    @property
    def concerns(self) -> tuple[Concern, ...]:
        """One per concern the outcomes touch, in the order of their first outcome."""
        grouped: dict[tuple[str, AlertKind], list[RuleOutcome]] = {}
        for outcome in self.outcomes:
            key = self.concern_of.get(outcome.rule, outcome.rule)
            grouped.setdefault((key, outcome.alert_kind), []).append(outcome)
        return tuple(_concern(key, kind, found) for (key, kind), found in grouped.items())

    @property
    def severity(self) -> Severity:
        """The clinical colour (a data-quality check does not colour the reading; a watch
        does: the value is yellow, even though it is not yet a task)."""
        return Severity.worst(*(o.severity for o in self.outcomes if o.clinical))

    @property
    def task_severity(self) -> Severity:
        """The colour of the nurse's task this verdict makes: watches left out."""
        return Severity.worst(*(o.severity for o in self.outcomes if o.is_task))

    @property
    def watched(self) -> bool:
        """A watch and no task: shown on the citizen's page, not a nurse's task."""
        return self.task_severity is Severity.GREEN and any(
            o.alert_kind is AlertKind.WATCH for o in self.outcomes
        )

    @property
    def reasons(self) -> list[dict[str, Any]]:
        found = [reason for outcome in self.outcomes for reason in outcome.reasons]
        return found + [failure.reason() for failure in self.failures]

    @property
    def breaches(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.severity is not Severity.GREEN)


def _concern(key: str, kind: AlertKind, outcomes: list[RuleOutcome]) -> Concern:
    ranked = sorted(outcomes, key=lambda o: -o.severity.rank)  # stable: rule-set order
    values = [o.value for o in ranked if o.value is not None]
    return Concern(
        key,
        ranked[0].severity,
        tuple(o.rule for o in ranked),
        tuple(reason for o in ranked for reason in o.reasons),
        all(o.auto_resolve for o in outcomes),
        values[0] if values else None,
        kind,
    )


def triage(subject: Subject, rules: RuleSet, evidence: Evidence) -> Triage:
    """Every rule's verdict on ``subject``, with the concern each rule's alert belongs to."""
    found = _triage(subject, rules, evidence)
    concern_of = {o.rule: rules.concern_of(o.rule) for o in found.outcomes}
    return replace(found, concern_of=concern_of)


def _triage(subject: Subject, rules: RuleSet, evidence: Evidence) -> Triage:
    """Apply every rule of ``rules`` that concerns ``subject``: first the data-quality rules
    (a reading one of them flags cannot be physiological and is not judged clinically), then
    the clinical rules, on the history the data-quality rules left."""
    applying = rules.applying_to(subject)
    screens = [rule for rule in applying if rule.alert_kind is not AlertKind.READING]
    checked = _judge(subject, screens, evidence)
    if checked.breaches:
        return checked
    screen_failures: list[RuleFailure] = []
    for rule in screens:
        try:
            evidence = rule.screen(evidence)
        except Exception as exc:  # see _judge
            screen_failures.append(RuleFailure(rule.key, type(exc).__name__))
    clinical = _judge(
        subject, [rule for rule in applying if rule.alert_kind is AlertKind.READING], evidence
    )
    failures = [*checked.failures, *screen_failures]
    return Triage(
        checked.outcomes + clinical.outcomes,
        (*failures, *(f for f in clinical.failures if f not in failures)),
        checked.skipped + clinical.skipped,
    )


def _judge(subject: Subject, rules: Sequence[Rule], evidence: Evidence) -> Triage:
    by_key: dict[str, list[RuleOutcome]] = {}
    failures: list[RuleFailure] = []
    skipped: list[str] = []
    for rule in rules:
        try:
            outcome = rule.judge(subject, evidence)
        except Exception as exc:  # a broken rule must become a technical alert, not silence
            if all(f.rule != rule.key for f in failures):
                failures.append(RuleFailure(rule.key, type(exc).__name__))
            continue
        if outcome is None:
            if rule.key not in skipped:
                skipped.append(rule.key)
        else:
            by_key.setdefault(outcome.rule, []).append(outcome)
    failed = {failure.rule for failure in failures}
    outcomes = tuple(_merged(found) for key, found in by_key.items() if key not in failed)
    return Triage(outcomes, tuple(failures), tuple(skipped))


def _merged(outcomes: list[RuleOutcome]) -> RuleOutcome:
    """One outcome per key: worst severity, every reason, auto-resolving only when all are,
    value = the sum (the number of "yes" for questionnaire items)."""
    if len(outcomes) == 1:
        return outcomes[0]
    values = [o.value for o in outcomes if o.value is not None]
    return RuleOutcome(
        outcomes[0].rule,
        Severity.worst(*(o.severity for o in outcomes)),
        tuple(reason for o in outcomes for reason in o.reasons),
        all(o.auto_resolve for o in outcomes),
        sum(values) if values else None,
        outcomes[0].alert_kind,  # one key, one kind: the watch key differs from the task key
    )


def triage_reading(
    reading: ReadingFacts,
    rules: RuleSet,
    *,
    baselines: Mapping[str, float],
    history: Sequence[TimedValue] | Mapping[str, Sequence[TimedValue]] = (),
) -> Triage:
    """Apply every rule for the reading's type. ``history``: earlier valid readings, by
    measurement type as :meth:`RuleSet.history_needs` asked for (a plain sequence: of the
    reading's own type); ``baselines``: the citizen's baselines by type."""
    by_type = history if isinstance(history, Mapping) else {reading.type: history}
    return triage(reading, rules, Evidence(baselines, by_type))


def triage_response(
    questionnaire: str,
    answers: Mapping[str, Any],
    rules: RuleSet,
    *,
    baselines: Mapping[str, float],
    answered_at: datetime | None = None,
    history: Mapping[str, Sequence[TimedValue]] | None = None,
) -> Triage:
    """Apply the questionnaire rules to one response (``answers``: item id → value).
    ``history``: what :meth:`RuleSet.response_history_needs` asked for (earlier readings by
    type, earlier sheets' answers by item id); the rules that look back need
    ``answered_at``."""
    facts = ResponseFacts(questionnaire, answers, answered_at)
    return triage(facts, rules, Evidence(baselines, history or {}))
