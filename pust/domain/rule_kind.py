"""What every rule kind is: the small protocol triage and the alerts worker talk to.

A rule kind is a pydantic model (its fields are the stored, validated configuration) that
also says what it needs and judges by itself:

- :meth:`Rule.applies_to` — does this reading or questionnaire response concern the rule;
- :meth:`Rule.baseline_type` — the personal baseline it compares against, if any;
- :meth:`Rule.history_need` — which earlier readings it looks back on (type and days);
- :meth:`Rule.evaluate` — the verdict, or ``None`` while its baseline or history is missing.

Triage calls :meth:`Rule.judge`: the verdict, where a rule configured with
``yellow_is_watch`` turns its yellow into a *watch* (:class:`AlertKind.WATCH`: shown, not a
task). Red is never a watch: a red reading stays an immediate task.

Rules on one measurement type share their plumbing here: :class:`MeasurementRule` (the
``type`` field, the key ``<type>.<suffix>``), :class:`MeasurementRuleInUnit` (the ``unit``
checked against the type) and :func:`earlier` (the readings of a look-back window).

Triage (:mod:`pust.domain.triage`) only loops over the rules that apply; the alerts worker
asks the rule set which history to load (:meth:`pust.domain.limits.RuleSet.history_needs`).
Adding a rule kind is one class here-or-beside and one entry in
:data:`pust.domain.limits.AnyRule`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator

from pust.domain.baselines import TimedValue
from pust.domain.measurement_types import SPECS, MeasurementType
from pust.domain.severity import AlertKind, Severity


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    type: str
    value: float
    measured_at: datetime


@dataclass(frozen=True, slots=True)
class ResponseFacts:
    questionnaire: str
    answers: Mapping[str, Any]
    answered_at: datetime | None = None  # rules that look back need it; without: they don't


Subject = ReadingFacts | ResponseFacts


@dataclass(frozen=True, slots=True)
class HistoryNeed:
    """Earlier valid readings of ``type`` within ``days`` before the reading judged."""

    type: str
    days: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a rule may look at besides the subject: the citizen's baselines (by type or
    scored item) and earlier valid readings by type (as far back as the rules asked for)."""

    baselines: Mapping[str, float] = field(default_factory=dict)
    history: Mapping[str, Sequence[TimedValue]] = field(default_factory=dict)

    def history_of(self, type_: str) -> Sequence[TimedValue]:
        return self.history.get(type_, ())


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """The verdict of one rule key: green when evaluated and not breached."""

    rule: str
    severity: Severity
    reasons: tuple[dict[str, Any], ...] = ()
    auto_resolve: bool = False
    value: float | None = None
    alert_kind: AlertKind = AlertKind.READING  # DATA_QUALITY: "Tjek målingen", not clinical

    @property
    def clinical(self) -> bool:
        """It colours the reading (a watch does: the value is yellow; a check does not)."""
        return self.alert_kind in (AlertKind.READING, AlertKind.WATCH)

    @property
    def is_task(self) -> bool:
        """A clinical breach a nurse must act on (not a watch)."""
        return self.alert_kind is AlertKind.READING and self.severity is not Severity.GREEN

    def as_watch(self) -> RuleOutcome:
        """This yellow as a watch: its own alert key (``<rule>.watch``), so a later red of
        the same rule opens a task beside it instead of hiding in the watch."""
        if self.severity is not Severity.YELLOW or self.alert_kind is not AlertKind.READING:
            return self
        return replace(self, rule=f"{self.rule}{WATCH_SUFFIX}", alert_kind=AlertKind.WATCH)


WATCH_SUFFIX = ".watch"


class Rule(BaseModel, ABC):
    """One configured rule. ``collection`` names its list in the stored rule-set document
    (``LimitSet.rules``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collection: ClassVar[str]
    # READING: a clinical rule. DATA_QUALITY: screens readings before the clinical rules; a
    # reading it flags is not judged clinically, and earlier readings it would have flagged
    # are left out of the history (see :meth:`screen`)
    alert_kind: ClassVar[AlertKind] = AlertKind.READING

    # close the alert by itself when a later reading for the same rule is normal again
    auto_resolve: bool = False
    # a yellow of this rule is a watch (shown, not a nurse's task); red stays a task
    yellow_is_watch: bool = False

    @property
    @abstractmethod
    def key(self) -> str:
        """The rule key alerts are grouped by (one open alert per citizen and key)."""

    @property
    def identity(self) -> str:
        """What may be configured only once in a rule set, as named in the error when it is
        given twice (by default: the rule key)."""
        return f"rule {self.key}"

    def baseline_type(self) -> str | None:
        return None

    def history_need(self) -> HistoryNeed | None:
        return None

    def baselines_used(self) -> tuple[str, ...]:
        """Every baseline the rule compares against (a combination may use several)."""
        found = self.baseline_type()
        return () if found is None else (found,)

    def history_wanted(self) -> tuple[HistoryNeed, ...]:
        """Every look-back the rule needs (a combination may look at several types)."""
        need = self.history_need()
        return () if need is None else (need,)

    def judge(self, subject: Subject, evidence: Evidence) -> RuleOutcome | None:
        """The verdict as triage uses it: :meth:`evaluate`, a yellow turned into a watch
        where the rule says so."""
        outcome = self.evaluate(subject, evidence)
        if outcome is not None and self.yellow_is_watch:
            return outcome.as_watch()
        return outcome

    def screen(self, evidence: Evidence) -> Evidence:
        """The evidence the clinical rules may use after this (data-quality) rule."""
        return evidence

    @abstractmethod
    def applies_to(self, subject: Subject) -> bool: ...

    @abstractmethod
    def evaluate(self, subject: Subject, evidence: Evidence) -> RuleOutcome | None: ...


class ReadingRule(Rule, ABC):
    """A rule on one measurement type (``type`` is a field of every such kind)."""

    @property
    @abstractmethod
    def measured(self) -> MeasurementType: ...

    def applies_to(self, subject: Subject) -> bool:
        return isinstance(subject, ReadingFacts) and self.judges_type(subject.type)

    def judges_type(self, type_: str) -> bool:
        """Does a reading of ``type_`` concern the rule?"""
        return type_ == self.measured.value

    def evaluate(self, subject: Subject, evidence: Evidence) -> RuleOutcome | None:
        if not isinstance(subject, ReadingFacts):
            raise TypeError("a reading rule judges readings")
        return self.evaluate_reading(subject, evidence)

    @abstractmethod
    def evaluate_reading(self, reading: ReadingFacts, evidence: Evidence) -> RuleOutcome | None: ...


class MeasurementRule(ReadingRule, ABC):
    """A reading rule configured for one ``type``; its key is ``<type>.<key_suffix>``."""

    key_suffix: ClassVar[str]

    type: MeasurementType

    @property
    def key(self) -> str:
        return f"{self.type.value}.{self.key_suffix}"

    @property
    def measured(self) -> MeasurementType:
        return self.type


class MeasurementRuleInUnit(MeasurementRule, ABC):
    """A measurement rule whose limits are in ``unit``, which must be the type's unit."""

    unit: str

    @model_validator(mode="after")
    def _unit_of_type(self) -> Self:
        check_unit(self.type, self.unit)
        return self


def earlier(evidence: Evidence, type_: str, before: datetime, days: float) -> list[TimedValue]:
    """The valid readings of ``type_`` in the ``days`` before ``before`` (not at it),
    oldest first."""
    since = before - timedelta(days=days)
    return sorted(
        (p for p in evidence.history_of(type_) if since <= p.at < before), key=lambda p: p.at
    )


class ResponseRule(Rule, ABC):
    """A rule on the answers of one questionnaire (``questionnaire`` is a field)."""

    @property
    @abstractmethod
    def answered(self) -> str: ...

    def applies_to(self, subject: Subject) -> bool:
        return isinstance(subject, ResponseFacts) and subject.questionnaire == self.answered

    def evaluate(self, subject: Subject, evidence: Evidence) -> RuleOutcome | None:
        if not isinstance(subject, ResponseFacts):
            raise TypeError("a questionnaire rule judges questionnaire responses")
        return self.evaluate_response(subject, evidence)

    @abstractmethod
    def evaluate_response(
        self, response: ResponseFacts, evidence: Evidence
    ) -> RuleOutcome | None: ...


# Danish wording shared by the kinds ---------------------------------------------------------

COLOUR_DA = {Severity.RED: "rød", Severity.YELLOW: "gul"}
_UNIT_DA = {"Cel": "°C", "mm[Hg]": "mmHg", "/30s": "/30 s"}
_LABEL_DA = {MeasurementType.SPO2: "SpO2"}


def number_da(value: float) -> str:
    """Danish decimal comma; whole numbers without decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def label_da(type_: MeasurementType) -> str:
    return _LABEL_DA.get(type_, SPECS[type_].danish_name)


def unit_da(type_: MeasurementType) -> str:
    unit = SPECS[type_].unit
    return _UNIT_DA.get(unit, unit)


def json_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


def reason(
    rule: str, severity: Severity, value: float, limit: float, text: str, **extra: Any
) -> dict[str, Any]:
    """A machine-readable reason with its Danish text."""
    return {
        "rule": rule,
        "severity": severity.value,
        "value": json_number(value),
        "limit": json_number(limit),
        "text_da": text,
        **extra,
    }


def check_unit(type_: MeasurementType, unit: str) -> None:
    expected = SPECS[type_].unit
    if unit != expected:
        raise ValueError(f"{type_.value}: unit {unit!r} does not match the type (use {expected!r})")
