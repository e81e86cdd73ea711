"""Rule kinds on a questionnaire response: a "yes" to an item, a score above the personal
baseline, and several items answered "yes" together (see :mod:`pust.domain.rule_kind`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from pust.domain.measurement_types import MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType
from pust.domain.rule_kind import (
    COLOUR_DA,
    Evidence,
    HistoryNeed,
    ResponseFacts,
    ResponseRule,
    RuleOutcome,
    earlier,
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
    2000: onset = two major or one major and one minor symptom on the same day).

    Two optional signals beside the sheet (version 3 of the starting configuration):

    - ``spo2_points_below_baseline``: one more point when the citizen's SpO2 in the
      ``spo2_within_hours`` before the sheet (the same morning's session) is at least that
      far below the personal baseline — a symptom together with a falling saturation (Hurst
      2010; Al Rajeh & Hurst 2016). The point counts only beside another point: a low SpO2
      alone is the reading rules' business, not the questionnaire's.
    - ``holds_within_days``: a score of at least ``watch`` that was also at least ``watch``
      on the citizen's previous sheet within that many days is a yellow task — one symptom
      that holds, rather than one odd day (Seemungal 2000: symptoms rise over the days
      before onset).

    Both look back on the history (SpO2 readings; earlier sheets' answers by item id, a
    yes/no as 1/0) and need the sheet's time (:attr:`ResponseFacts.answered_at`); without
    them they add nothing.

    ``usual_yes_rate`` (version 4): what is new for *this* citizen. Each listed item gets a
    personal baseline, the citizen's run-in yes-rate (:func:`pust.domain.baselines.
    run_in_baseline`); an item the citizen answered "yes" on at least that share of the
    run-in sheets is their usual: it does not count in the score (it is named in the
    reason) nor towards a symptom that holds; and once the run-in has given the yes-rates,
    *any* symptom that is new for the citizen holds over two sheets, not only the same one
    (``holds_same_symptom`` then applies only during the run-in, when nothing is known yet
    of what is usual). Without a baseline every item is new."""

    collection: ClassVar[str] = "symptom_scores"

    kind: Literal["symptom_score"] = "symptom_score"
    questionnaire: str
    items: tuple[str, ...] = Field(min_length=1)
    score_item: str | None = None
    score_points_above_baseline: float | None = Field(default=None, gt=0)
    watch: int | None = Field(default=None, ge=1)
    yellow: int = Field(ge=1)
    red: int | None = Field(default=None, ge=1)
    spo2_points_below_baseline: float | None = Field(default=None, gt=0)
    spo2_within_hours: int = Field(default=12, ge=1, le=24)
    holds_within_days: int | None = Field(default=None, ge=1, le=7)
    holds_same_symptom: bool = False
    usual_yes_rate: float | None = Field(default=None, gt=0, le=1)

    @property
    def key(self) -> str:
        return "questionnaire.symptom_score"

    def baselines_used(self) -> tuple[str, ...]:
        own = super().baselines_used()
        spo2 = (MeasurementType.SPO2.value,) if self.spo2_points_below_baseline else ()
        usual = self.items if self.usual_yes_rate is not None else ()
        return own + spo2 + usual

    def history_wanted(self) -> tuple[HistoryNeed, ...]:
        wanted: list[HistoryNeed] = []
        if self.spo2_points_below_baseline is not None:
            wanted.append(HistoryNeed(MeasurementType.SPO2.value, 1))
        if self.holds_within_days is not None:
            scored = (self.score_item,) if self.score_item is not None else ()
            wanted += [HistoryNeed(item, self.holds_within_days) for item in self.items + scored]
        return tuple(wanted)

    @property
    def answered(self) -> str:
        return self.questionnaire

    def baseline_type(self) -> str | None:
        return self.score_item if self.score_points_above_baseline is not None else None

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
        if self.holds_within_days is not None and self.watch is None:
            raise ValueError("symptom score: a score that holds needs a watch threshold")
        if self.usual_yes_rate is not None and self.holds_within_days is None:
            raise ValueError(
                "symptom score: a usual yes-rate only matters for a symptom that holds "
                "(set holds_within_days)"
            )
        return self

    @property
    def most(self) -> int:
        extra = (1 if self.baseline_type() else 0) + (1 if self.spo2_points_below_baseline else 0)
        return len(self.items) + extra

    def evaluate_response(self, response: ResponseFacts, evidence: Evidence) -> RuleOutcome:
        definition = QUESTIONNAIRES[self.questionnaire]
        found_items = [item for item in self.items if response.answers.get(item) is True]
        parts = [(i.text_da if (i := definition.item(item)) else item) for item in found_items]
        usual = [item for item in found_items if self._is_usual(item, evidence)]
        score = len(found_items) - len(usual)
        rise = self._score_rise(response, evidence)
        step = self.score_points_above_baseline
        if rise is not None and step is not None and rise >= step:
            score += 1
            parts.append(f"CAT-score {number_da(rise)} point over basislinjen")
        low = self._spo2_below(response, evidence) if score else None
        if low is not None:
            score += 1
            parts.append(low)
        severity, kind_watch = Severity.GREEN, False
        for level, threshold in ((Severity.RED, self.red), (Severity.YELLOW, self.yellow)):
            if threshold is not None and score >= threshold:
                severity = level
                break
        else:
            if self.watch is not None and score >= self.watch:
                severity, kind_watch = Severity.YELLOW, True
        for item in usual:
            question = definition.item(item)
            rate = number_da(round(100 * evidence.baselines[item]))
            text = question.text_da if question else item
            parts.append(
                f"«{text}» er ja på {rate} % af borgerens skemaer i indkøringen "
                "(vanligt for borgeren, tæller ikke)"
            )
        held = self._previous_score(response, evidence) if kind_watch else None
        if held is not None and self.watch is not None and held >= self.watch:
            kind_watch = False
            parts.append(f"også symptomscore {held} på forrige skema")
        if severity is Severity.GREEN:
            return RuleOutcome(self.key, severity, (), self.auto_resolve, float(score))
        threshold = self.watch if kind_watch else (self.red if severity is Severity.RED else None)
        limit = threshold if threshold is not None else self.yellow
        if held is not None and not kind_watch:
            limit = self.watch or limit
            colour = f"gul ved {limit} på to skemaer i træk inden for {self.holds_within_days} dage"
        else:
            colour = f"{'hold øje' if kind_watch else COLOUR_DA[severity]} ved {limit}"
        text = f"Symptomscore {score} af {self.most} ({colour}): " + "; ".join(parts)
        found = reason(self.key, severity, score, limit, text, items=found_items)
        outcome = RuleOutcome(self.key, severity, (found,), self.auto_resolve, float(score))
        return outcome.as_watch() if kind_watch else outcome

    def _spo2_below(self, response: ResponseFacts, evidence: Evidence) -> str | None:
        """The reason for the SpO2 point, if the same session's SpO2 is low enough."""
        points, at = self.spo2_points_below_baseline, response.answered_at
        spo2 = MeasurementType.SPO2.value
        baseline = evidence.baselines.get(spo2)
        if points is None or at is None or baseline is None:
            return None
        window = self.spo2_within_hours / 24
        recent = earlier(evidence, spo2, at + timedelta(seconds=1), window)
        if not recent or baseline - recent[-1].value < points:
            return None
        value = recent[-1].value
        return (
            f"SpO2 {number_da(value)} % er {number_da(baseline - value)} under basislinjen "
            f"{number_da(baseline)} % samme dag"
        )

    def _previous_score(self, response: ResponseFacts, evidence: Evidence) -> int | None:
        """The score of the citizen's previous sheet within ``holds_within_days`` (its yes/no
        items and the CAT rise), None if there is none."""
        days, at = self.holds_within_days, response.answered_at
        if days is None or at is None:
            return None
        sheets: dict[Any, int] = {}
        new = [item for item in self.items if not self._is_usual(item, evidence)]
        now_yes = {item for item in new if response.answers.get(item) is True}
        rise, step = self._score_rise(response, evidence), self.score_points_above_baseline
        if not now_yes and (rise is None or step is None or rise < step):
            return None  # only the citizen's usual symptoms on this sheet: nothing new holds
        same = self.holds_same_symptom and not self._knows_usual(evidence)
        for item in new:
            if same and item not in now_yes:
                continue
            for point in earlier(evidence, item, at, days):
                sheets[point.at] = sheets.get(point.at, 0) + (1 if point.value >= 1 else 0)
        if not sheets:
            return None
        previous = max(sheets)
        score = sheets[previous]
        baseline = evidence.baselines.get(self.score_item) if self.score_item else None
        step = self.score_points_above_baseline
        if self.score_item is not None and baseline is not None and step is not None:
            cat = [p for p in earlier(evidence, self.score_item, at, days) if p.at == previous]
            if cat and cat[0].value - baseline >= step:
                score += 1
        return score

    def _knows_usual(self, evidence: Evidence) -> bool:
        """Has the run-in given the citizen's yes-rate of every item (``usual_yes_rate``)?
        Then any symptom that is new for the citizen holds, not only the same one."""
        return self.usual_yes_rate is not None and all(i in evidence.baselines for i in self.items)

    def _is_usual(self, item: str, evidence: Evidence) -> bool:
        """Does the citizen answer "yes" to ``item`` so often in the run-in that it is their
        usual (``usual_yes_rate``)? No baseline yet: it is new."""
        rate = evidence.baselines.get(item) if self.usual_yes_rate is not None else None
        return rate is not None and self.usual_yes_rate is not None and rate >= self.usual_yes_rate

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
