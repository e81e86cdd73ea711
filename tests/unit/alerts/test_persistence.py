"""Persistence (issue 13): a yellow breach that holds over readings is yellow; one odd
reading is not; red on a single reading stays immediate."""

from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.baselines import TimedValue
from pust.domain.limits import InvalidRuleSetError, parse_rule_set
from pust.domain.severity import Severity
from pust.domain.triage import ReadingFacts, triage_reading

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
# a team's configuration: single-reading SpO2 limit for red only, persistence for yellow
RULES = parse_rule_set(
    {
        "absolute": [{"type": "spo2", "unit": "%", "red_low": 88}],
        "persistence": [{"type": "spo2", "unit": "%", "below": 90, "within_days": 2}],
    }
)


def spo2(value: float, history: list[TimedValue]) -> tuple[Severity, list[str]]:
    result = triage_reading(
        ReadingFacts("spo2", value, NOW), RULES, baselines={}, history={"spo2": history}
    )
    return result.severity, [o.rule for o in result.breaches]


def test_one_yellow_reading_is_no_task() -> None:
    assert spo2(89, [TimedValue(NOW - timedelta(days=1), 94.0)]) == (Severity.GREEN, [])
    assert spo2(89, []) == (Severity.GREEN, [])


def test_a_yellow_breach_on_two_mornings_is_yellow_with_both_values() -> None:
    history = [TimedValue(NOW - timedelta(days=1), 89.0)]
    result = triage_reading(
        ReadingFacts("spo2", 89.5, NOW), RULES, baselines={}, history={"spo2": history}
    )
    assert result.severity is Severity.YELLOW
    assert result.reasons[0]["rule"] == "spo2.persistence"
    assert result.reasons[0]["text_da"] == (
        "SpO2 under 90 % ved 2 målinger i træk inden for 2 dage (89 %, 89,5 %; gul)"
    )


def test_only_the_readings_just_before_count_and_only_inside_the_window() -> None:
    old = [TimedValue(NOW - timedelta(days=3), 85.0)]
    assert spo2(89, old) == (Severity.GREEN, [])
    between = [
        TimedValue(NOW - timedelta(hours=30), 89.0),
        TimedValue(NOW - timedelta(hours=5), 95.0),
    ]
    assert spo2(89, between) == (Severity.GREEN, [])


def test_red_on_a_single_reading_stays_immediate() -> None:
    assert spo2(86, []) == (Severity.RED, ["spo2.absolute"])


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"type": "spo2", "unit": "%"}, "needs a limit below or above"),
        ({"type": "pulse", "unit": "/min", "below": 120, "above": 50}, "is not below high limit"),
        ({"type": "spo2", "unit": "%", "below": 90, "readings": 1}, "greater than or equal to 2"),
    ],
)
def test_contradicting_persistence_rules_are_rejected(
    rule: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidRuleSetError) as caught:
        parse_rule_set({"persistence": [rule]})
    assert problem in caught.value.problems[0]
