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


class SymptomScoreRule(ResponseRule):
    """A symptom score over the whole answer sheet instead of any single "yes": one point
    per listed yes/no item answered yes, and one point when the scored item (CAT) is at
    least ``score_points_above_baseline`` above the citizen's own baseline. A score of
    ``yellow`` (``red``) or more is a task; a lower score of at least ``watch`` is a watch.

    One "more cough than usual" on a good day is common (BACKGROUND.md: alert fatigue); two
    symptoms together, or one with a rising CAT, is how an exacerbation starts (Seemungal
    2000: onset = two major or one major and one minor symptom on the same day)."""

    collection: ClassVar[str] = "symptom_scores"

    kind: Literal["symptom_score"] = "symptom_score"
    questionnaire: str
    items: tuple[str, ...] = Field(min_length=1)
    score_item: str | None = None
    score_points_above_baseline: float | None = Field(default=None, gt=0)
    watch: int | None = Field(default=None, ge=1)
    yellow: int = Field(ge=1)
    red: int | None = Field(default=None, ge=1)

    @property
    def key(self) -> str:
        return "questionnaire.symptom_score"

    @property
    def answered(self) -> str:
        return self.questionnaire

    def baseline_type(self) -> str | None:
        return self.score_item if self.score_points_above_baseline is not None else None

    @property
    def most(self) -> int:
        return len(self.items) + (1 if self.baseline_type() else 0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for item in self.items:
            _check_item(self.questionnaire, item, AnswerType.BOOLEAN)
        if len(set(self.items)) != len(self.items):
            raise ValueError("symptom score: an item is listed twice")
        if (self.score_item is None) != (self.score_points_above_baseline is None):
            raise ValueError("symptom score: a scored item needs its points above baseline")
        if self.score_item is not None:
            _check_item(self.questionnaire, self.score_item, AnswerType.INTEGER)
        if self.watch is not None and self.watch >= self.yellow:
            raise ValueError(
                f"symptom score: watch {self.watch} must be below yellow {self.yellow}"
            )
        if self.red is not None and self.red <= self.yellow:
            raise ValueError(f"symptom score: red {self.red} must be above yellow {self.yellow}")
        if max(self.yellow, self.red or 0) > self.most:
            raise ValueError(f"symptom score: a threshold above the highest score {self.most}")
        return self

    def evaluate_response(self, response: ResponseFacts, evidence: Evidence) -> RuleOutcome:
        definition = QUESTIONNAIRES[self.questionnaire]
        found_items = [item for item in self.items if response.answers.get(item) is True]
        parts = [(i.text_da if (i := definition.item(item)) else item) for item in found_items]
        score = len(found_items)
        rise = self._score_rise(response, evidence)
        step = self.score_points_above_baseline
        if rise is not None and step is not None and rise >= step:
            score += 1
            parts.append(f"CAT-score {number_da(rise)} point over basislinjen")
        severity, kind_watch = Severity.GREEN, False
        for level, threshold in ((Severity.RED, self.red), (Severity.YELLOW, self.yellow)):
            if threshold is not None and score >= threshold:
                severity = level
                break
        else:
            if self.watch is not None and score >= self.watch:
                severity, kind_watch = Severity.YELLOW, True
        if severity is Severity.GREEN:
            return RuleOutcome(self.key, severity, (), self.auto_resolve, float(score))
        threshold = self.watch if kind_watch else (self.red if severity is Severity.RED else None)
        limit = threshold if threshold is not None else self.yellow
        colour = "hold øje" if kind_watch else COLOUR_DA[severity]
        text = f"Symptomscore {score} af {self.most} ({colour} ved {limit}): " + "; ".join(parts)
        found = reason(self.key, severity, score, limit, text, items=found_items)
        outcome = RuleOutcome(self.key, severity, (found,), self.auto_resolve, float(score))
        return outcome.as_watch() if kind_watch else outcome

    def _score_rise(self, response: ResponseFacts, evidence: Evidence) -> float | None:
        if self.score_item is None:
            return None
        answer, baseline = (
            response.answers.get(self.score_item),
            evidence.baselines.get(self.score_item),
        )
        if answer is None or baseline is None:
            return None
        return float(answer) - baseline
