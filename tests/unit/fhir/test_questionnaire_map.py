"""pust's answers as the regional Questionnaire's linkIds and types, or a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from pust.fhir.questionnaire_map import QuestionnaireMismatch
from pust.fhir.regional import RegionalContext
from pust.fhir.submission import response_entry
from tests.unit.fhir import factories as f

QUESTIONNAIRE = "https://questionnaire.example.test/fhir/Questionnaire/78460"


def _regional(**entry: Any) -> RegionalContext:
    link = f.link()
    base = dict(link.service_requests["kol-symptoms-v1"])
    base.update(entry)
    link.service_requests = {**link.service_requests, "kol-symptoms-v1": base}
    return RegionalContext.from_link(link)


def test_answers_carry_the_regional_link_ids_and_types() -> None:
    resource = response_entry(f.response(), regional=_regional())["resource"]
    assert resource["questionnaire"] == f"{QUESTIONNAIRE}|3"
    assert [(i["linkId"], i["answer"]) for i in resource["item"]] == [
        ("1.1", [{"valueBoolean": True}]),
        ("1.2", [{"valueBoolean": False}]),
        ("2", [{"valueInteger": 18}]),
    ]
    assert not {"more_breathless", "cat_score"} & {i["linkId"] for i in resource["item"]}


def test_a_coded_regional_item_gets_the_coding() -> None:
    yes = {"system": "urn:example:answers", "code": "Y"}
    no = {"system": "urn:example:answers", "code": "N"}
    items = {
        **f.REGIONAL_ITEMS,
        "more_cough": {"linkId": "1.2", "type": "coding", "answers": {"true": yes, "false": no}},
    }
    resource = response_entry(f.response(), regional=_regional(items=items))["resource"]
    assert resource["item"][1] == {
        "linkId": "1.2",
        "text": "Hoster du mere, end du plejer?",
        "answer": [{"valueCoding": no}],
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"items": {}}, "no item mapping"),
        ({"questionnaire": QUESTIONNAIRE}, "with its version"),
        ({"pust_version": 2}, "mapping made for version 2, answers are version 1"),
        (
            {"items": {k: v for k, v in f.REGIONAL_ITEMS.items() if k != "cat_score"}},
            "item cat_score: no linkId",
        ),
        (
            {"items": {**f.REGIONAL_ITEMS, "cat_score": {"linkId": "2", "type": "boolean"}}},
            "item cat_score: the answer does not fit the type boolean",
        ),
    ],
)
def test_a_mismatch_is_a_clear_error(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(QuestionnaireMismatch, match=message):
        response_entry(f.response(), regional=_regional(**entry))
