"""Limits and rules: the rule set a citizen's readings and answers are triaged against.

A rule set is stored as JSON in ``LimitSet.rules`` (versioned by the table, never edited in
place). :func:`default_rule_set` is the starting configuration of the clinical background
(shared/clinical/BACKGROUND.md) — a default for new care teams, to be approved by the
clinic's physician. How a rule is applied to a reading lives in :mod:`pust.domain.triage`;
this module says what a valid rule set is and refuses contradictions with clear errors.

Rule keys (``rule`` in triage reasons, ``Alert.rule_key``) are stable: one open alert per
citizen and rule key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pust.domain.measurement_types import SPECS, MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType
from pust.domain.severity import Severity

SCHEMA_VERSION: Literal[1] = 1


class InvalidRuleSetError(ValueError):
    """A rule set that contradicts itself or names unknown things. ``problems`` lists each
    problem as a sentence a nurse can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Rule(BaseModel, ABC):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # close the alert by itself when a later reading for the same rule is normal again
    auto_resolve: bool = False

    @property
    @abstractmethod
    def key(self) -> str:
        """The rule key alerts are grouped by (one open alert per citizen and key)."""


def _check_unit(type_: MeasurementType, unit: str) -> None:
    expected = SPECS[type_].unit
    if unit != expected:
        raise ValueError(f"{type_.value}: unit {unit!r} does not match the type (use {expected!r})")


class AbsoluteLimit(_Rule):
    """Four limits (OpenTele): a value below a low or above a high limit is yellow or red.

    ``*_inclusive`` makes the limit itself alarming (temperature ≥ 38.0 °C)."""

    kind: Literal["absolute"] = "absolute"
    type: MeasurementType
    unit: str
    red_low: float | None = None
    yellow_low: float | None = None
    yellow_high: float | None = None
    red_high: float | None = None
    low_inclusive: bool = False
    high_inclusive: bool = False

    @property
    def key(self) -> str:
        return f"{self.type.value}.absolute"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_unit(self.type, self.unit)
        name = self.type.value
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


class BaselineRule(_Rule):
    """Relative to the citizen's personal baseline.

    ``mode='points'``: alarm when the value is at least ``yellow``/``red`` units away from the
    baseline in ``direction`` (SpO2 ≥ 4 points below). ``mode='percent'``: alarm when the value
    is beyond ``yellow``/``red`` percent *of* the baseline (FEV1 < 80 % of baseline)."""

    kind: Literal["baseline"] = "baseline"
    type: MeasurementType
    direction: Literal["below", "above"]
    mode: Literal["points", "percent"]
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    @property
    def key(self) -> str:
        return f"{self.type.value}.baseline"

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


class ChangeRule(_Rule):
    """Change over time: the value differs by at least ``yellow``/``red`` units from any
    reading of the same type within the past ``window_days`` (weight ± 2 kg in 7 days)."""

    kind: Literal["change"] = "change"
    type: MeasurementType
    unit: str
    window_days: int = Field(ge=1, le=90)
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    @property
    def key(self) -> str:
        return f"{self.type.value}.change"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_unit(self.type, self.unit)
        if self.yellow is None and self.red is None:
            raise ValueError(f"{self.type.value} change rule: needs a yellow or a red threshold")
        if self.yellow is not None and self.red is not None and self.red < self.yellow:
            raise ValueError(
                f"{self.type.value} change rule: red change {self.red} "
                f"is below yellow {self.yellow}"
            )
        return self


def _check_item(questionnaire: str, item: str, answer_type: AnswerType) -> None:
    definition = QUESTIONNAIRES.get(questionnaire)
    if definition is None:
        raise ValueError(f"unknown questionnaire {questionnaire!r}")
    found = definition.item(item)
    if found is None:
        raise ValueError(f"{questionnaire}: unknown item {item!r}")
    if found.answer_type is not answer_type:
        raise ValueError(f"{questionnaire}: item {item!r} is not a {answer_type.value} question")


class QuestionnaireItemRule(_Rule):
    """A yes to a yes/no item has this significance. All item rules of a questionnaire share
    one alert (``questionnaire.symptoms``) so one answer sheet is one row for the nurse."""

    kind: Literal["questionnaire_item"] = "questionnaire_item"
    questionnaire: str
    item: str
    severity: Literal[Severity.YELLOW, Severity.RED]

    @property
    def key(self) -> str:
        return "questionnaire.symptoms"

    @model_validator(mode="after")
    def _known(self) -> Self:
        _check_item(self.questionnaire, self.item, AnswerType.BOOLEAN)
        return self


class QuestionnaireScoreRule(_Rule):
    """A scored item (CAT) at least ``yellow``/``red`` points above the personal baseline of
    that item (baseline type = the item id)."""

    kind: Literal["questionnaire_score"] = "questionnaire_score"
    questionnaire: str
    item: str
    yellow_points_above_baseline: float | None = Field(default=None, gt=0)
    red_points_above_baseline: float | None = Field(default=None, gt=0)

    @property
    def key(self) -> str:
        return f"questionnaire.{self.item}"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_item(self.questionnaire, self.item, AnswerType.INTEGER)
        yellow, red = self.yellow_points_above_baseline, self.red_points_above_baseline
        if yellow is None and red is None:
            raise ValueError(f"{self.item} score rule: needs a yellow or a red threshold")
        if yellow is not None and red is not None and red < yellow:
            raise ValueError(f"{self.item} score rule: red {red} points is below yellow {yellow}")
        return self


class CombinationRule(_Rule):
    """All the listed yes/no items answered yes together → ``severity`` (Anthonisen)."""

    kind: Literal["combination"] = "combination"
    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    questionnaire: str
    items: tuple[str, ...] = Field(min_length=2)
    severity: Literal[Severity.YELLOW, Severity.RED]
    text_da: str = Field(min_length=1, max_length=200)

    @property
    def key(self) -> str:
        return f"questionnaire.{self.name}"

    @model_validator(mode="after")
    def _known(self) -> Self:
        for item in self.items:
            _check_item(self.questionnaire, item, AnswerType.BOOLEAN)
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"combination {self.name}: an item is listed twice")
        return self


MeasurementRule = AbsoluteLimit | BaselineRule | ChangeRule
QuestionnaireRule = QuestionnaireItemRule | QuestionnaireScoreRule | CombinationRule


class RuleSet(BaseModel):
    """Every rule that applies to one citizen (or a care team's group default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    absolute: tuple[AbsoluteLimit, ...] = ()
    baseline: tuple[BaselineRule, ...] = ()
    change: tuple[ChangeRule, ...] = ()
    questionnaire_items: tuple[QuestionnaireItemRule, ...] = ()
    questionnaire_scores: tuple[QuestionnaireScoreRule, ...] = ()
    combinations: tuple[CombinationRule, ...] = ()

    @model_validator(mode="after")
    def _one_rule_per_key(self) -> Self:
        seen: set[str] = set()
        for rule in (
            *self.absolute,
            *self.baseline,
            *self.change,
            *self.questionnaire_scores,
            *self.combinations,
        ):
            if rule.key in seen:
                raise ValueError(f"rule {rule.key} is given twice")
            seen.add(rule.key)
        items: set[tuple[str, str]] = set()
        for item_rule in self.questionnaire_items:
            ident = (item_rule.questionnaire, item_rule.item)
            if ident in items:
                raise ValueError(f"questionnaire item {item_rule.item} is given twice")
            items.add(ident)
        return self

    def measurement_rules(self, type_: MeasurementType | str) -> list[MeasurementRule]:
        wanted = MeasurementType(type_)
        rules: list[MeasurementRule] = [r for r in self.absolute if r.type is wanted]
        rules += [r for r in self.baseline if r.type is wanted]
        rules += [r for r in self.change if r.type is wanted]
        return rules

    def questionnaire_rules(self, questionnaire: str) -> list[QuestionnaireRule]:
        rules: list[QuestionnaireRule] = [
            r for r in self.questionnaire_items if r.questionnaire == questionnaire
        ]
        rules += [r for r in self.questionnaire_scores if r.questionnaire == questionnaire]
        rules += [r for r in self.combinations if r.questionnaire == questionnaire]
        return rules

    def auto_resolves(self, rule_key: str) -> bool:
        rules: list[MeasurementRule | QuestionnaireRule] = [
            *self.absolute,
            *self.baseline,
            *self.change,
            *self.questionnaire_items,
            *self.questionnaire_scores,
            *self.combinations,
        ]
        matching = [rule for rule in rules if rule.key == rule_key]
        return bool(matching) and all(rule.auto_resolve for rule in matching)

    def to_json(self) -> dict[str, Any]:
        """The document stored in ``LimitSet.rules``."""
        return self.model_dump(mode="json")


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


def default_rule_set() -> RuleSet:
    """The starting configuration of BACKGROUND.md (demo and new care teams; physician to
    approve)."""
    t = MeasurementType
    return RuleSet(
        absolute=(
            AbsoluteLimit(type=t.SPO2, unit="%", red_low=88, yellow_low=90),
            AbsoluteLimit(
                type=t.PULSE, unit="/min", red_low=40, yellow_low=50, yellow_high=100, red_high=120
            ),
            AbsoluteLimit(
                type=t.TEMPERATURE, unit="Cel", yellow_high=38.0, red_high=38.5, high_inclusive=True
            ),
            AbsoluteLimit(
                type=t.BP_SYSTOLIC,
                unit="mm[Hg]",
                red_low=90,
                yellow_low=100,
                yellow_high=160,
                red_high=180,
            ),
            AbsoluteLimit(type=t.RESPIRATORY_RATE, unit="/min", yellow_high=24, red_high=30),
        ),
        baseline=(
            BaselineRule(type=t.SPO2, direction="below", mode="points", yellow=4, red=6),
            BaselineRule(type=t.FEV1, direction="below", mode="percent", yellow=80, red=60),
        ),
        change=(ChangeRule(type=t.WEIGHT, unit="kg", window_days=7, yellow=2, red=3),),
        questionnaire_items=tuple(
            QuestionnaireItemRule(questionnaire=KOL_SYMPTOMS, item=item, severity=Severity.YELLOW)
            for item in ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")
        ),
        questionnaire_scores=(
            QuestionnaireScoreRule(
                questionnaire=KOL_SYMPTOMS, item="cat_score", yellow_points_above_baseline=5
            ),
        ),
        combinations=(
            CombinationRule(
                name="anthonisen",
                questionnaire=KOL_SYMPTOMS,
                items=("more_breathless", "more_sputum", "sputum_colour_changed"),
                severity=Severity.RED,
                text_da="Mere åndenød, mere slim og farveskift: tegn på KOL-forværring",
            ),
        ),
    )
