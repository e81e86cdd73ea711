"""Limits and rules: the rule set a citizen's readings and answers are triaged against.

A rule set is stored as JSON in ``LimitSet.rules`` (versioned by the table, never edited in
place): one list per rule kind, named by the kind's ``collection`` (``absolute``,
``baseline``, ``change``, ...). Parsed, a :class:`RuleSet` is one tuple of rules; each rule
kind (:mod:`pust.domain.measurement_rules`, :mod:`pust.domain.questionnaire_rules`) validates
itself, says what it needs and judges by itself (:mod:`pust.domain.rule_kind`).
:func:`default_rule_set` is the starting configuration of the clinical background
(shared/clinical/BACKGROUND.md) — a default for new care teams, to be approved by the
clinic's physician. This module says what a valid rule set is and refuses contradictions
with clear errors.

A new rule kind: a class with a ``collection`` and a ``kind`` literal, added to
:data:`AnyRule`. Nothing else lists the kinds.

Rule keys (``rule`` in triage reasons, ``Alert.rule_key``) are stable. Rules that agree on
one reading share one alert: one open alert per citizen and *concern*
(:meth:`RuleSet.concern_of`). The rule set's ``alert_groups`` option says which rules agree:
``"by_type"`` (the default: the clinical rules on one measurement type, so one SpO2 84 that
breaks the absolute and the baseline rule is one alert with both reasons), ``"by_rule"``
(every rule its own alert), or named groups of rule keys (``{"spo2": ["spo2.absolute",
"spo2.baseline"]}``; a rule in no group is its own). Data-quality checks and questionnaire
rules are their own concern unless a named group says otherwise.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from pust.domain.combination_rules import BaselineShift, ReadingCombinationRule
from pust.domain.measurement_rules import AbsoluteLimit, BaselineRule, ChangeRule
from pust.domain.measurement_types import MeasurementType
from pust.domain.persistence_rules import PersistenceRule
from pust.domain.plausibility_rules import DEFAULT_PLAUSIBILITY, PlausibilityRule
from pust.domain.questionnaire_rules import (
    CombinationRule,
    QuestionnaireItemRule,
    QuestionnaireScoreRule,
    SymptomScoreRule,
)
from pust.domain.rule_kind import HistoryNeed, ReadingRule, ResponseFacts, Rule, Subject
from pust.domain.severity import AlertKind, Severity

__all__ = [
    "RULE_KINDS",
    "AbsoluteLimit",
    "AnyRule",
    "BaselineRule",
    "BaselineShift",
    "ChangeRule",
    "CombinationRule",
    "InvalidRuleSetError",
    "PersistenceRule",
    "PlausibilityRule",
    "QuestionnaireItemRule",
    "QuestionnaireScoreRule",
    "ReadingCombinationRule",
    "RuleSet",
    "SymptomScoreRule",
    "default_rule_set",
    "parse_rule_set",
    "population_rule_set",
    "starting_rule_set_v2",
    "starting_rule_set_v3",
]

SCHEMA_VERSION: Literal[1] = 1

# every rule kind, in the order triage applies them and the editor shows them
_Kinds = (
    AbsoluteLimit
    | BaselineRule
    | ChangeRule
    | QuestionnaireItemRule
    | QuestionnaireScoreRule
    | CombinationRule
    | PlausibilityRule
    | PersistenceRule
    | SymptomScoreRule
    | ReadingCombinationRule
)
AnyRule = Annotated[_Kinds, Field(discriminator="kind")]
RULE_KINDS: tuple[type[Rule], ...] = typing.get_args(_Kinds)

R = TypeVar("R", bound=Rule)

# which rules share one alert (see the module's docstring)
AlertGroups = Literal["by_type", "by_rule"] | dict[str, tuple[str, ...]]


class InvalidRuleSetError(ValueError):
    """A rule set that contradicts itself or names unknown things. ``problems`` lists each
    problem as a sentence a nurse can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# the stored document: one list per kind (errors point at "absolute.0.red_low")
_Document: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "RuleSetDocument",
    __config__=ConfigDict(extra="forbid", frozen=True),
    schema_version=(Literal[1], SCHEMA_VERSION),
    alert_groups=(AlertGroups, "by_type"),
    **{kind.collection: (tuple[kind, ...], ()) for kind in RULE_KINDS},  # type: ignore[valid-type]
)


class RuleSet(BaseModel):
    """Every rule that applies to one citizen (or a care team's group default), as one
    tuple. Built from the stored document (``RuleSet.model_validate(document)``, or keyword
    arguments per collection: ``RuleSet(absolute=(...), change=(...))``) or from rules
    (``RuleSet(rules=(...))``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    rules: tuple[AnyRule, ...] = ()
    alert_groups: AlertGroups = "by_type"

    @model_validator(mode="wrap")
    @classmethod
    def _from_document(cls, data: Any, handler: Callable[[Any], Self]) -> Self:
        if isinstance(data, dict) and "rules" not in data:
            document = _Document.model_validate(data)
            rules = [rule for kind in RULE_KINDS for rule in getattr(document, kind.collection)]
            version = getattr(document, "schema_version")  # noqa: B009 (a generated model)
            groups = getattr(document, "alert_groups")  # noqa: B009
            return handler(
                {"schema_version": version, "rules": tuple(rules), "alert_groups": groups}
            )
        return handler(data)

    @model_validator(mode="after")
    def _once_each(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.identity in seen:
                raise ValueError(f"{rule.identity} is given twice")
            seen.add(rule.identity)
        return self

    @model_validator(mode="after")
    def _groups_name_rules_once(self) -> Self:
        if isinstance(self.alert_groups, str):
            return self
        seen: set[str] = set()
        for name, keys in self.alert_groups.items():
            if not name or len(name) > 64:
                raise ValueError(f"alert group {name!r}: a name of 1 to 64 characters")
            for key in keys:
                if key in seen:
                    raise ValueError(f"alert groups: {key} is in more than one group")
                seen.add(key)
        return self

    def concern_of(self, rule_key: str) -> str:
        """What an alert of this rule is about: the key that rules agreeing on one reading
        share (one open alert per citizen and concern), the rule's own key by default."""
        groups = self.alert_groups
        if isinstance(groups, dict):
            return next((f"group.{n}" for n, keys in groups.items() if rule_key in keys), rule_key)
        if groups == "by_rule":
            return rule_key
        for rule in self.rules:
            if rule.key == rule_key and isinstance(rule, ReadingRule):
                if rule.alert_kind is AlertKind.READING:
                    return f"{rule.measured.value}.*"
                break
        return rule_key

    def of_kind(self, kind: type[R]) -> tuple[R, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, kind))

    def applying_to(self, subject: Subject) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.applies_to(subject))

    def history_needs(self, type_: str) -> dict[str, int]:
        """For a reading of ``type_``: the earlier readings the rules look back on, as days
        per measurement type (the widest window of each)."""
        needs: dict[str, int] = {}
        for rule in self.rules:
            if not isinstance(rule, ReadingRule) or not rule.judges_type(type_):
                continue
            need: HistoryNeed
            for need in rule.history_wanted():
                needs[need.type] = max(needs.get(need.type, 0), need.days)
        return needs

    def response_history_needs(self, questionnaire: str) -> dict[str, int]:
        """For a response to ``questionnaire``: what its rules look back on, as days per
        measurement type or item id (earlier sheets' answers, see
        :class:`pust.domain.questionnaire_rules.SymptomScoreRule`)."""
        needs: dict[str, int] = {}
        subject = ResponseFacts(questionnaire, {})
        for rule in self.rules:
            if isinstance(rule, ReadingRule) or not rule.applies_to(subject):
                continue
            for need in rule.history_wanted():
                needs[need.type] = max(needs.get(need.type, 0), need.days)
        return needs

    def baseline_types(self) -> set[str]:
        """Which baselines the rule set uses: measurement types and scored items."""
        return {t for rule in self.rules for t in rule.baselines_used()}

    def auto_resolves(self, rule_key: str) -> bool:
        matching = [rule for rule in self.rules if rule.key == rule_key]
        return bool(matching) and all(rule.auto_resolve for rule in matching)

    def to_json(self) -> dict[str, Any]:
        """The document stored in ``LimitSet.rules``: one list per collection."""
        document: dict[str, Any] = {"schema_version": self.schema_version}
        if self.alert_groups != "by_type":
            groups = self.alert_groups
            document["alert_groups"] = (
                groups if isinstance(groups, str) else {n: list(k) for n, k in groups.items()}
            )
        for kind in RULE_KINDS:
            document[kind.collection] = [
                rule.model_dump(mode="json") for rule in self.rules if isinstance(rule, kind)
            ]
        return document


def parse_rule_set(document: Any) -> RuleSet:
    """Validate a stored or submitted rule set; raises :class:`InvalidRuleSetError` listing every
    problem (nothing is half-accepted)."""
    try:
        return RuleSet.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidRuleSetError(problems) from exc


KOL_SYMPTOMS = "kol-symptoms-v1"
_SYMPTOM_ITEMS = ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")


# rule set version 3's additions to version 2 (issue 13; see starting_rule_set_v3)
SPO2_PERSONAL_RED_MARGIN = 2.0
SYMPTOM_HOLDS_WITHIN_DAYS = 2
# version 4's (see default_rule_set)
SPO2_PERSONAL_RED_MARGIN_V4 = 3.0
SPO2_PROVISIONAL_WITHIN_DAYS = 7
SYMPTOM_USUAL_YES_RATE = 0.15

Version = Literal[2, 3, 4]


def default_rule_set() -> RuleSet:
    """The starting configuration (demo and new care teams; physician to approve), version 4
    (issue 13, chosen with ``pust evaluate`` on seeds 1-3, checked on seed 4;
    docs/performance.md "rules branch"): version 3 (:func:`starting_rule_set_v3`) with
    symptoms judged against the citizen's own run-in and the personal SpO2 red limit from
    the first days.

    - **What is new for this citizen**: the run-in gives each symptom question a personal
      yes-rate; a symptom the citizen answered "yes" on at least 15 % of the run-in sheets
      is their usual — it is named in the reason but does not count in the symptom score.
      Once those rates are known, **any new symptom that holds** over two sheets in a row
      within two days is a yellow task (v3: only the same symptom, which is still the rule
      during the run-in).
    - The **personal red SpO2 limit** for a citizen who lives below 91 % is 3 points under
      the baseline (v3: 2), and during the run-in the median of the last 7 days' readings
      (at least four) stands in for the baseline (v3: the population limit 88 % until the
      run-in was over). A single reading beyond it is still red at once.
    """
    return _canonical(_starting(version=4))


def starting_rule_set_v3() -> RuleSet:
    """Version 3 of the starting configuration (kept for comparison and for teams that want
    it): version 2 (:func:`starting_rule_set_v2`) with two changes.

    - A citizen who lives below the population yellow SpO2 limit gets a **personal red
      limit** once the run-in has given a baseline: 2 points under the baseline where that
      is under 88 % (BACKGROUND.md: "many COPD citizens live with SpO2 at 88–92 %, so
      absolute limits must be per citizen"). A citizen at 87 % is red below 85 %, not at
      every reading; red on one reading is still immediate.
    - **One symptom that holds** — the same "more than usual" answer on two sheets in a
      row within two days — is a yellow task; one symptom once stays a watch.
    """
    return _canonical(_starting(version=3))


def starting_rule_set_v2() -> RuleSet:
    """Version 2 of the starting configuration (kept for comparison and for teams that want
    it): the limits of BACKGROUND.md, judged so that a nurse gets a task when a signal holds
    and a watch when it is one reading.

    - **Red on a single reading is immediate**, with BACKGROUND.md's red limits unchanged
      (SpO2 < 88 %, ≥ 6 below baseline; pulse > 120 or < 40; temperature ≥ 38.5 °C; ...),
      and Anthonisen's three symptoms together.
    - A **single yellow reading is a watch** (shown on the citizen's page and in the
      worklist's lower band, not a task).
    - **Yellow tasks** come from signals that hold or combine: SpO2 more than 2 points
      below the citizen's own baseline at two readings in a row within two days (the
      run-in gives the baseline; during it a yellow reading is a watch); pulse likewise
      more than 10 above; SpO2 2 below and pulse 8 above baseline in the same session; a
      symptom score of 2 (two "more than usual" answers, or one and a CAT 5 above
      baseline). One symptom is a watch.
    """
    return _canonical(_starting(version=2))


def _starting(*, version: Version) -> RuleSet:
    t = MeasurementType
    v3, v4 = version >= 3, version >= 4
    symptoms = SymptomScoreRule(
        questionnaire=KOL_SYMPTOMS,
        items=_SYMPTOM_ITEMS,
        score_item="cat_score",
        score_points_above_baseline=5,
        watch=1,
        yellow=2,
        holds_within_days=SYMPTOM_HOLDS_WITHIN_DAYS if v3 else None,
        holds_same_symptom=v3,
        usual_yes_rate=SYMPTOM_USUAL_YES_RATE if v4 else None,
    )
    margin = SPO2_PERSONAL_RED_MARGIN_V4 if v4 else SPO2_PERSONAL_RED_MARGIN if v3 else None
    return RuleSet(
        rules=(
            *_single_reading_limits(
                yellow_is_watch=True,
                spo2_red_margin=margin,
                spo2_provisional_days=SPO2_PROVISIONAL_WITHIN_DAYS if v4 else None,
            ),
            PersistenceRule(type=t.SPO2, unit="%", below_baseline=2),
            PersistenceRule(type=t.PULSE, unit="/min", above_baseline=10),
            ReadingCombinationRule(
                name="spo2_pulse",
                conditions=(
                    BaselineShift(type=t.SPO2, direction="below", points=2),
                    BaselineShift(type=t.PULSE, direction="above", points=8),
                ),
            ),
            symptoms,
            _anthonisen(),
            *DEFAULT_PLAUSIBILITY,
        )
    )


def population_rule_set() -> RuleSet:
    """Version 1 of the starting configuration: BACKGROUND.md's limits, every yellow reading
    and every single symptom "yes" a task (kept for comparison and for teams that want it)."""
    return _canonical(
        RuleSet(
            rules=(
                *_single_reading_limits(yellow_is_watch=False),
                *(
                    QuestionnaireItemRule(
                        questionnaire=KOL_SYMPTOMS, item=item, severity=Severity.YELLOW
                    )
                    for item in _SYMPTOM_ITEMS
                ),
                QuestionnaireScoreRule(
                    questionnaire=KOL_SYMPTOMS, item="cat_score", yellow_points_above_baseline=5
                ),
                _anthonisen(),
                *DEFAULT_PLAUSIBILITY,
            )
        )
    )


def _canonical(rules: RuleSet) -> RuleSet:
    """In the stored order (kind by kind), so that the stored document reads back equal."""
    return RuleSet.model_validate(rules.to_json())


def _anthonisen() -> CombinationRule:
    return CombinationRule(
        name="anthonisen",
        questionnaire=KOL_SYMPTOMS,
        items=("more_breathless", "more_sputum", "sputum_colour_changed"),
        severity=Severity.RED,
        text_da="Mere åndenød, mere slim og farveskift: tegn på KOL-forværring",
    )


def _single_reading_limits(
    *,
    yellow_is_watch: bool,
    spo2_red_margin: float | None = None,
    spo2_provisional_days: int | None = None,
) -> tuple[Rule, ...]:
    """BACKGROUND.md's single-reading limits (absolute, baseline, weight change);
    ``spo2_red_margin``: the personal red SpO2 limit under the baseline (version 3, 4);
    ``spo2_provisional_days``: its provisional baseline during the run-in (version 4)."""
    t = MeasurementType
    w = yellow_is_watch

    def absolute(type_: MeasurementType, unit: str, **limits: Any) -> AbsoluteLimit:
        return AbsoluteLimit(type=type_, unit=unit, yellow_is_watch=w, **limits)

    def from_baseline(
        type_: MeasurementType, mode: Literal["points", "percent"], yellow: float, red: float
    ) -> BaselineRule:
        return BaselineRule(
            type=type_, direction="below", mode=mode, yellow=yellow, red=red, yellow_is_watch=w
        )

    return (
        absolute(
            t.SPO2,
            "%",
            red_low=88,
            yellow_low=90,
            red_low_below_baseline=spo2_red_margin,
            provisional_within_days=spo2_provisional_days,
        ),
        absolute(t.PULSE, "/min", red_low=40, yellow_low=50, yellow_high=100, red_high=120),
        absolute(t.TEMPERATURE, "Cel", yellow_high=38.0, red_high=38.5, high_inclusive=True),
        absolute(
            t.BP_SYSTOLIC, "mm[Hg]", red_low=90, yellow_low=100, yellow_high=160, red_high=180
        ),
        absolute(t.RESPIRATORY_RATE, "/min", yellow_high=24, red_high=30),
        from_baseline(t.SPO2, "points", 4, 6),
        from_baseline(t.FEV1, "percent", 80, 60),
        ChangeRule(type=t.WEIGHT, unit="kg", window_days=7, yellow=2, red=3, yellow_is_watch=w),
    )
