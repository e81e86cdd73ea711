"""pust's questionnaire answers as the *regional* Questionnaire's items (linkIds, types).

FUT validates a QuestionnaireResponse against the Questionnaire it names: its own linkIds and
answer types, not pust's (``more_breathless``). The mapping lives with the regional link's
questionnaire entry (``RegionalLink.service_requests["kol-symptoms-v1"]``)::

    {"reference": ".../ServiceRequest/4", "version": "2",
     "questionnaire": "https://.../Questionnaire/9|3",        # canonical|version: pinned
     "pust_version": 1,                                      # the pust questionnaire version
     "items": {"more_breathless": {"linkId": "1.1", "type": "boolean"},
               "cat_score": {"linkId": "2", "type": "integer"},
               "more_cough": {"linkId": "1.2", "type": "coding",
                              "answers": {"true": {"system": "...", "code": "Y"},
                                          "false": {"system": "...", "code": "N"}}}}}

The response names the regional Questionnaire *with its version*, so a regional Questionnaire
that changed is refused by FUT instead of being mis-read; on pust's side every mismatch is a
:class:`QuestionnaireMismatch` with a clear message (dead, shown to administrators): no
mapping, no pinned version, a pust questionnaire version the mapping was not made for, an
answered item without a linkId, an answer that does not fit the regional type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pust.db.tables import QuestionnaireResponse
from pust.domain.questionnaires import QUESTIONNAIRES

TYPES = ("boolean", "integer", "decimal", "coding")


class QuestionnaireMismatch(ValueError):
    """pust's answers cannot be expressed in the regional Questionnaire (message: why)."""


@dataclass(frozen=True, slots=True)
class ItemMap:
    link_id: str
    type: str
    answers: Mapping[str, Mapping[str, str]] | None = None


@dataclass(frozen=True, slots=True)
class QuestionnaireMap:
    questionnaire: str  # canonical|version
    pust_version: int
    items: Mapping[str, ItemMap]


def parse_map(entry: Mapping[str, Any], pust_id: str) -> QuestionnaireMap:
    canonical = entry.get("questionnaire")
    if not isinstance(canonical, str) or "|" not in canonical:
        raise QuestionnaireMismatch(
            f"{pust_id}: the regional Questionnaire must be named with its version (url|version)"
        )
    raw_items = entry.get("items")
    if not isinstance(raw_items, dict) or not raw_items:
        raise QuestionnaireMismatch(f"{pust_id}: no item mapping for {canonical}")
    items: dict[str, ItemMap] = {}
    for item_id, raw in raw_items.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("linkId"), str):
            raise QuestionnaireMismatch(f"{pust_id}: item {item_id} has no linkId")
        kind = raw.get("type")
        if kind not in TYPES:
            raise QuestionnaireMismatch(f"{pust_id}: item {item_id}: unknown type {kind!r}")
        answers = raw.get("answers")
        if kind == "coding" and not isinstance(answers, dict):
            raise QuestionnaireMismatch(f"{pust_id}: item {item_id}: coding needs answers")
        items[item_id] = ItemMap(raw["linkId"], kind, answers if kind == "coding" else None)
    version = entry.get("pust_version", 1)
    return QuestionnaireMap(canonical, int(version), items)


def _answer(item_id: str, item: ItemMap, value: Any) -> dict[str, Any]:
    if item.type == "boolean" and isinstance(value, bool):
        return {"valueBoolean": value}
    if item.type == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return {"valueInteger": value}
    if item.type == "decimal" and isinstance(value, int | float) and not isinstance(value, bool):
        return {"valueDecimal": value}
    if item.type == "coding" and item.answers is not None:
        key = str(value).lower() if isinstance(value, bool) else str(value)
        coding = item.answers.get(key)
        if coding is not None:
            return {"valueCoding": dict(coding)}
    raise QuestionnaireMismatch(f"item {item_id}: the answer does not fit the type {item.type}")


def regional_items(response: QuestionnaireResponse, mapping: QuestionnaireMap) -> list[Any]:
    definition = QUESTIONNAIRES.get(response.questionnaire)
    if definition is None:
        raise QuestionnaireMismatch(f"{response.questionnaire}: unknown pust questionnaire")
    if definition.version != mapping.pust_version:
        raise QuestionnaireMismatch(
            f"{response.questionnaire}: mapping made for version {mapping.pust_version}, "
            f"answers are version {definition.version}"
        )
    items = []
    for answer in response.answers or []:
        item_id = str(answer.get("item", ""))
        value = answer.get("value")
        if not item_id or value is None:
            continue
        item = mapping.items.get(item_id)
        if item is None:
            raise QuestionnaireMismatch(
                f"item {item_id}: no linkId in the mapping for {mapping.questionnaire}"
            )
        entry: dict[str, Any] = {"linkId": item.link_id, "answer": [_answer(item_id, item, value)]}
        question = definition.item(item_id)
        if question is not None:
            entry["text"] = question.text_da
        items.append(entry)
    return items
