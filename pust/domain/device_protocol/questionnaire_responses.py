"""Validation of a questionnaire response against the backend's own definition."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pust.domain.device_protocol.errors import ErrorCode
from pust.domain.device_protocol.fields import Problems, shown
from pust.domain.device_protocol.messages import Answer
from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType, Questionnaire

_ANSWER_FIELDS = frozenset({"item", "value"})


def validate_questionnaire(document: dict[str, Any], problems: Problems) -> Questionnaire | None:
    name = problems.string(document, "questionnaire", "", max_length=64, required=True)
    if name is None:
        return None
    questionnaire = QUESTIONNAIRES.get(name)
    if questionnaire is None:
        problems.add(
            "questionnaire", ErrorCode.UNKNOWN_QUESTIONNAIRE, f"unknown questionnaire {shown(name)}"
        )
    return questionnaire


def validate_answered_at(
    document: dict[str, Any],
    problems: Problems,
    *,
    received_at: datetime,
    clock_skew_tolerance: timedelta,
) -> datetime | None:
    answered_at = problems.timestamp(document, "answered_at", "")
    if answered_at is not None and answered_at > received_at + clock_skew_tolerance:
        problems.add(
            "answered_at",
            ErrorCode.CLOCK_SKEW,
            "answered_at is more than "
            f"{int(clock_skew_tolerance.total_seconds() // 60)} minutes in the future",
        )
        return None
    return answered_at


def validate_answers(
    document: dict[str, Any], questionnaire: Questionnaire | None, problems: Problems
) -> tuple[Answer, ...]:
    raw = problems.required(document, "answers", "")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or len(raw) > 100:
        problems.schema("answers", "must be a list of 1 to 100 answers")
        return ()
    answers: list[Answer] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path = f"answers[{index}]"
        if not isinstance(item, dict):
            problems.schema(path, "must be an object")
            continue
        problems.unknown_keys(item, _ANSWER_FIELDS, path)
        item_id = problems.string(item, "item", path, max_length=64, required=True)
        if "value" not in item:
            problems.schema(f"{path}.value", "required field is missing")
            continue
        if item_id is None or questionnaire is None:
            continue
        if item_id in seen:
            problems.schema(f"{path}.item", f"item {shown(item_id)} is answered twice")
            continue
        seen.add(item_id)
        answer = _answer(questionnaire, item_id, item["value"], path, problems)
        if answer is not None:
            answers.append(answer)
    if questionnaire is not None:
        for definition in questionnaire.items:
            if definition.required and definition.id not in seen:
                problems.schema("answers", f"required item '{definition.id}' is not answered")
    return tuple(answers)


def _answer(
    questionnaire: Questionnaire, item_id: str, value: object, path: str, problems: Problems
) -> Answer | None:
    definition = questionnaire.item(item_id)
    if definition is None:
        problems.schema(f"{path}.item", f"unknown item {shown(item_id)} in '{questionnaire.id}'")
        return None
    if definition.answer_type is AnswerType.BOOLEAN:
        if not isinstance(value, bool):
            problems.schema(f"{path}.value", f"item '{item_id}' takes true or false")
            return None
        return Answer(item_id, value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.schema(f"{path}.value", f"item '{item_id}' takes an integer")
        return None
    low = definition.minimum
    high = definition.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        problems.add(
            f"{path}.value",
            ErrorCode.IMPLAUSIBLE_VALUE,
            f"item '{item_id}' takes an integer from {low} to {high}",
        )
        return None
    return Answer(item_id, value)
