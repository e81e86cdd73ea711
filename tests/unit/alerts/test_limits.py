import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pust.domain.limits import (
    AbsoluteLimit,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    InvalidRuleSetError,
    RuleSet,
    default_rule_set,
    parse_rule_set,
)
from pust.domain.measurement_types import MeasurementType


def test_default_rule_set_round_trips_through_json() -> None:
    rules = default_rule_set()
    stored = json.loads(json.dumps(rules.to_json()))
    assert parse_rule_set(stored) == rules


def test_default_rule_set_matches_the_starting_configuration() -> None:
    rules = default_rule_set()
    spo2 = next(r for r in rules.of_kind(AbsoluteLimit) if r.type is MeasurementType.SPO2)
    assert (spo2.red_low, spo2.yellow_low) == (88, 90)
    temperature = next(
        r for r in rules.of_kind(AbsoluteLimit) if r.type is MeasurementType.TEMPERATURE
    )
    assert temperature.high_inclusive
    assert {r.key for r in rules.of_kind(BaselineRule)} == {"spo2.baseline", "fev1.baseline"}
    assert rules.of_kind(ChangeRule)[0].window_days == 7
    assert rules.of_kind(CombinationRule)[0].key == "questionnaire.anthonisen"


def _problems(document: object) -> list[str]:
    with pytest.raises(InvalidRuleSetError) as caught:
        parse_rule_set(document)
    return caught.value.problems


def test_yellow_outside_red_is_rejected() -> None:
    problems = _problems(
        {"absolute": [{"type": "spo2", "unit": "%", "red_low": 88, "yellow_low": 85}]}
    )
    assert "yellow low 85.0 is outside red low 88.0" in problems[0]


def test_low_above_high_is_rejected() -> None:
    problems = _problems(
        {"absolute": [{"type": "pulse", "unit": "/min", "yellow_low": 110, "yellow_high": 100}]}
    )
    assert "is not below high limit" in problems[0]


def test_unit_not_matching_type_is_rejected() -> None:
    problems = _problems({"absolute": [{"type": "weight", "unit": "lb", "red_high": 200}]})
    assert "unit 'lb' does not match the type (use 'kg')" in problems[0]


def test_unknown_type_and_unknown_item_are_rejected_together() -> None:
    problems = _problems(
        {
            "absolute": [{"type": "glucose", "unit": "mmol/L", "red_high": 20}],
            "questionnaire_items": [
                {"questionnaire": "kol-symptoms-v1", "item": "fever", "severity": "yellow"}
            ],
        }
    )
    assert len(problems) == 2
    assert any("unknown item 'fever'" in p for p in problems)


def test_baseline_red_milder_than_yellow_is_rejected() -> None:
    problems = _problems(
        {
            "baseline": [
                {"type": "fev1", "direction": "below", "mode": "percent", "yellow": 60, "red": 80}
            ]
        }
    )
    assert "must be at most yellow" in problems[0]


def test_same_rule_twice_is_rejected() -> None:
    limit = {"type": "spo2", "unit": "%", "red_low": 88}
    assert "given twice" in _problems({"absolute": [limit, limit]})[0]


def test_auto_resolve_is_per_rule() -> None:
    rules = RuleSet(
        absolute=(
            AbsoluteLimit(type=MeasurementType.SPO2, unit="%", red_low=88, auto_resolve=True),
        )
    )
    assert rules.auto_resolves("spo2.absolute")
    assert not rules.auto_resolves("pulse.absolute")


optional = st.one_of(st.none(), st.integers(min_value=20, max_value=250).map(float))


@given(optional, optional, optional, optional)
def test_absolute_limits_are_accepted_exactly_when_ordered(
    red_low: float | None,
    yellow_low: float | None,
    yellow_high: float | None,
    red_high: float | None,
) -> None:
    values = [v for v in (red_low, yellow_low) if v is not None]
    highs = [v for v in (yellow_high, red_high) if v is not None]
    ordered = (
        (red_low is None or yellow_low is None or red_low <= yellow_low)
        and (red_high is None or yellow_high is None or yellow_high <= red_high)
        and (not values or not highs or max(values) < min(highs))
        and bool(values or highs)
    )
    document = {
        "absolute": [
            {
                "type": "pulse",
                "unit": "/min",
                "red_low": red_low,
                "yellow_low": yellow_low,
                "yellow_high": yellow_high,
                "red_high": red_high,
            }
        ]
    }
    if ordered:
        parse_rule_set(document)
    else:
        with pytest.raises(InvalidRuleSetError):
            parse_rule_set(document)
