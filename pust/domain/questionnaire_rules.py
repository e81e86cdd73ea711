"""Rule kinds on a questionnaire response: a "yes" to an item, a score above the personal
baseline, and several items answered "yes" together (see :mod:`pust.domain.rule_kind`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType
from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    ResponseFacts,
    ResponseRule,
    RuleOutcome,
    number_da,
    reason,
)
from pust.domain.severity import Severity


def _check_item(questionnaire: str, item: str, answer_type: AnswerType) -> None:
    definition = QUESTIONNAIRES.get(questionnaire)
    if definition is None:
        raise ValueError(f"unknown questionnaire {questionnaire!r}")
    found = definition.item(item)
    if found is None:
        raise ValueError(f"{questionnaire}: unknown item {item!r}")
    if found.answer_type is not answer_type:
        raise ValueError(f"{questionnaire}: item {item!r} is not a {answer_type.value} question")


class QuestionnaireItemRule(ResponseRule):
    """A yes to a yes/no item has this significance. All item rules of a questionnaire share
    one alert (``questionnaire.symptoms``) so one answer sheet is one row for the nurse: triage
    merges their outcomes (worst severity, every reason, value = number of yes)."""

    collection: ClassVar[str] = "questionnaire_items"

    kind: Literal["questionnaire_item"] = "questionnaire_item"
    questionnaire: str
    item: str
    severity: Literal[Severity.YELLOW, Severity.RED]

    @property
    def key(self) -> str:
        return "questionnaire.symptoms"

    @property
    def identity(self) -> str:
        return f"questionnaire item {self.item}"

    @property
    def answered(self) -> str:
        return self.questionnaire

    @model_validator(mode="after")
    def _known(self) -> Self:
        _check_item(self.questionnaire, self.item, AnswerType.BOOLEAN)
        return self

    def evaluate_response(self, response: ResponseFacts, evidence: Evidence) -> RuleOutcome:
        if response.answers.get(self.item) is not True:
            return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, 0.0)
        item = QUESTIONNAIRES[self.questionnaire].item(self.item)
        text = item.text_da if item else self.item
        found: dict[str, Any] = {
            "rule": self.key,
            "severity": self.severity.value,
            "item": self.item,
            "value": True,
            "text_da": f"{text} Ja.",
        }
        return RuleOutcome(self.key, self.severity, (found,), self.auto_resolve, 1.0)


class QuestionnaireScoreRule(ResponseRule):
    """A scored item (CAT) at least ``yellow``/``red`` points above the personal baseline of
    that item (baseline type = the item id)."""

    collection: ClassVar[str] = "questionnaire_scores"

    kind: Literal["questionnaire_score"] = "questionnaire_score"
    questionnaire: str
    item: str
    yellow_points_above_baseline: float | None = Field(default=None, gt=0)
    red_points_above_baseline: float | None = Field(default=None, gt=0)

    @property
    def key(self) -> str:
        return f"questionnaire.{self.item}"

    @property
    def answered(self) -> str:
        return self.questionnaire

    def baseline_type(self) -> str:
        return self.item

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_item(self.questionnaire, self.item, AnswerType.INTEGER)
        yellow, red = self.yellow_points_above_baseline, self.red_points_above_baseline
        if yellow is None and red is None:
            raise ValueError(f"{self.item} score rule: needs a yellow or a red threshold")
        if yellow is not None and red is not None and red < yellow:
            raise ValueError(f"{self.item} score rule: red {red} points is below yellow {yellow}")
        return self

    def evaluate_response(self, response: ResponseFacts, evidence: Evidence) -> RuleOutcome | None:
        answer, baseline = response.answers.get(self.item), evidence.baselines.get(self.item)
        if answer is None or baseline is None:
            return None
        score = float(answer)
        rise = score - baseline
        thresholds = (
            (Severity.RED, self.red_points_above_baseline),
            (Severity.YELLOW, self.yellow_points_above_baseline),
        )
        for severity, threshold in thresholds:
            if threshold is not None and rise >= threshold:
                text = (
                    f"CAT-score {number_da(score)} er {number_da(rise)} point over basislinjen "
                    f"{number_da(baseline)} ({COLOUR_DA[severity]} grænse {number_da(threshold)})"
                )
                found = reason(
                    self.key,
                    severity,
                    score,
                    baseline + threshold,
                    text,
                    item=self.item,
                    baseline=baseline,
                )
                return RuleOutcome(self.key, severity, (found,), self.auto_resolve, score)
        return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, score)


class CombinationRule(ResponseRule):
    """All the listed yes/no items answered yes together → ``severity`` (Anthonisen)."""

    collection: ClassVar[str] = "combinations"

    kind: Literal["combination"] = "combination"
    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    questionnaire: str
    items: tuple[str, ...] = Field(min_length=2)
    severity: Literal[Severity.YELLOW, Severity.RED]
    text_da: str = Field(min_length=1, max_length=200)

    @property
    def key(self) -> str:
        return f"questionnaire.{self.name}"

    @property
    def answered(self) -> str:
        return self.questionnaire

    @model_validator(mode="after")
    def _known(self) -> Self:
        for item in self.items:
            _check_item(self.questionnaire, item, AnswerType.BOOLEAN)
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"combination {self.name}: an item is listed twice")
        return self

    def evaluate_response(self, response: ResponseFacts, evidence: Evidence) -> RuleOutcome:
        present = sum(1 for item in self.items if response.answers.get(item) is True)
        if present < len(self.items):
            return RuleOutcome(self.key, Severity.GREEN, (), self.auto_resolve, float(present))
        text = f"{present} af {len(self.items)} forværringssymptomer: {self.text_da}"
        found = {
            "rule": self.key,
            "severity": self.severity.value,
            "value": present,
            "limit": len(self.items),
            "items": list(self.items),
            "text_da": text,
        }
        return RuleOutcome(self.key, self.severity, (found,), self.auto_resolve, float(present))
