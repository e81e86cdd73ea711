"""Questionnaire definitions owned by the backend and sent to tablets in the plan.

``kol-symptoms-v1`` is the Danish COPD symptom questionnaire from the clinical background
(shared/clinical/BACKGROUND.md). How answers triage lives in :mod:`pust.domain.triage`;
this module says what the questions are and what an answer may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AnswerType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"


@dataclass(frozen=True, slots=True)
class QuestionnaireItem:
    id: str
    text_da: str
    text_en: str
    answer_type: AnswerType
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    # the national code of a scored item (e.g. CAT score, MedCom MCS88137)
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Questionnaire:
    id: str
    version: int
    title_da: str
    title_en: str
    items: tuple[QuestionnaireItem, ...]

    def item(self, item_id: str) -> QuestionnaireItem | None:
        return next((item for item in self.items if item.id == item_id), None)


KOL_SYMPTOMS_V1 = Questionnaire(
    id="kol-symptoms-v1",
    version=1,
    title_da="KOL-symptomer",
    title_en="COPD symptoms",
    items=(
        QuestionnaireItem(
            "more_breathless",
            "Har du mere åndenød, end du plejer?",
            "Are you more breathless than usual?",
            AnswerType.BOOLEAN,
        ),
        QuestionnaireItem(
            "more_cough",
            "Hoster du mere, end du plejer?",
            "Are you coughing more than usual?",
            AnswerType.BOOLEAN,
        ),
        QuestionnaireItem(
            "more_sputum",
            "Hoster du mere slim op, end du plejer?",
            "Are you coughing up more sputum than usual?",
            AnswerType.BOOLEAN,
        ),
        QuestionnaireItem(
            "sputum_colour_changed",
            "Har dit slim skiftet farve (gult eller grønt)?",
            "Has your sputum changed colour (yellow or green)?",
            AnswerType.BOOLEAN,
        ),
        QuestionnaireItem(
            "cat_score",
            "CAT-score (0–40), hvis du har udfyldt den",
            "CAT score (0-40), if you have filled it in",
            AnswerType.INTEGER,
            required=False,
            minimum=0,
            maximum=40,
            code="MCS88137",
        ),
    ),
)

QUESTIONNAIRES: dict[str, Questionnaire] = {KOL_SYMPTOMS_V1.id: KOL_SYMPTOMS_V1}
