"""Questionnaire responses (profile ehealth-questionnaireresponse).

Rules read in FUT ``input/fsh/ehealth-questionnaireresponse.fsh``: episodeOfCare extension
1..1, resolvedTiming extension 1..1, basedOn 1..1 (ServiceRequest), questionnaire 1..1,
subject 1..1, authored 1..1, source 1..1 (patient), author only Reference(device, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pust.db.tables import QuestionnaireResponse
from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType
from pust.fhir.identifiers import DEFAULT_IDENTIFIER_SYSTEM, identifier, phd_timestamp
from pust.fhir.time import instant

LOCAL_QUESTIONNAIRE = "urn:pust:questionnaire:{id}"


def response_identifier(response: QuestionnaireResponse) -> str:
    """Deterministic, PHD-style: tablet, questionnaire, answer time (no internal UUID)."""
    stamp = phd_timestamp(response.answered_at)
    return f"{response.device_id.upper()}-{response.questionnaire}-{stamp}"


def build_questionnaire_response(
    response: QuestionnaireResponse,
    *,
    subject: dict[str, Any],
    questionnaire: str | None = None,
    resource_id: str | None = None,
    author: dict[str, Any] | None = None,
    extra_extensions: Sequence[dict[str, Any]] = (),
    based_on: dict[str, Any] | None = None,
    profile: str | None = None,
    identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM,
) -> dict[str, Any]:
    definition = QUESTIONNAIRES.get(response.questionnaire)
    canonical = questionnaire or LOCAL_QUESTIONNAIRE.format(id=response.questionnaire)
    if questionnaire is None and definition is not None:
        canonical += f"|{definition.version}"
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if resource_id is not None:
        resource["id"] = resource_id
    meta: dict[str, Any] = {"lastUpdated": instant(response.received_at)}
    if profile:
        meta["profile"] = [profile]
    resource["meta"] = meta
    if extra_extensions:
        resource["extension"] = list(extra_extensions)
    resource["identifier"] = identifier(response_identifier(response), identifier_system)
    if based_on is not None:
        resource["basedOn"] = [based_on]
    resource["questionnaire"] = canonical
    resource["status"] = "completed" if response.valid else "entered-in-error"
    resource["subject"] = subject
    resource["authored"] = instant(response.answered_at)
    if author is not None:
        resource["author"] = author
    resource["source"] = subject
    items = []
    for answer in response.answers or []:
        item_id = str(answer.get("item", ""))
        if not item_id:
            continue
        question = definition.item(item_id) if definition else None
        item: dict[str, Any] = {"linkId": item_id}
        if question is not None:
            item["text"] = question.text_da
        value = answer.get("value")
        if isinstance(value, bool):
            item["answer"] = [{"valueBoolean": value}]
        elif isinstance(value, int) and (
            question is None or question.answer_type is AnswerType.INTEGER
        ):
            item["answer"] = [{"valueInteger": value}]
        elif value is not None:
            item["answer"] = [{"valueString": str(value)}]
        items.append(item)
    if items:
        resource["item"] = items
    return resource


def local_author(response: QuestionnaireResponse) -> dict[str, Any]:
    return {"reference": f"Device/{response.device_id}"}
