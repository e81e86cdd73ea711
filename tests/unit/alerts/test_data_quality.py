"""Data-quality triage: a reading no body can produce is a "Tjek målingen" check, not a
clinical alert, and does not distort the clinical rules afterwards."""

from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.baselines import TimedValue
from pust.domain.limits import (
    InvalidRuleSetError,
    PlausibilityRule,
    default_rule_set,
    parse_rule_set,
)
from pust.domain.measurement_types import MeasurementType
from pust.domain.severity import AlertKind, Severity
from pust.domain.triage import ReadingFacts, triage_reading

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
RULES = default_rule_set()


def weight(value: float, *, at: datetime = NOW) -> ReadingFacts:
    return ReadingFacts(type="weight", value=value, measured_at=at)


def test_a_weight_jump_within_a_day_is_a_check_not_a_weight_change_alert() -> None:
    history = [TimedValue(NOW - timedelta(hours=20), 80.0)]
    result = triage_reading(weight(122.2), RULES, baselines={}, history=history)
    assert [(o.rule, o.severity, o.alert_kind) for o in result.breaches] == [
        ("weight.plausibility", Severity.YELLOW, AlertKind.DATA_QUALITY)
    ]
    assert result.severity is Severity.GREEN  # the reading is not coloured clinically
    (reason,) = result.reasons
    assert reason["category"] == "data_quality"
    assert reason["title_da"] == "Tjek målingen"
    assert reason["text_da"] == (
        "Tjek målingen: Vægt ændret +42,2 kg på 20 timer (fra 80 kg); mere end 5 kg pr. 24 "
        "timer kan ikke være kroppens — forkert person, enhed eller apparat?"
    )
    assert "weight.change" not in {o.rule for o in result.outcomes}


def test_a_real_gain_over_days_is_still_the_clinical_change_rule() -> None:
    history = [TimedValue(NOW - timedelta(days=3), 80.0), TimedValue(NOW - timedelta(days=1), 81.5)]
    result = triage_reading(weight(83.2), RULES, baselines={}, history=history)
    assert [(o.rule, o.severity) for o in result.breaches] == [("weight.change", Severity.RED)]
    assert result.severity is Severity.RED


def test_exactly_five_kg_in_a_day_is_still_judged_clinically() -> None:
    history = [TimedValue(NOW - timedelta(hours=23), 80.0)]
    result = triage_reading(weight(85.0), RULES, baselines={}, history=history)
    assert [o.rule for o in result.breaches] == ["weight.change"]


def test_the_next_right_weighing_after_a_wrong_one_raises_nothing() -> None:
    history = [
        TimedValue(NOW - timedelta(days=2), 80.0),
        TimedValue(NOW - timedelta(hours=2), 122.0),  # the wrong person on the scale
    ]
    result = triage_reading(weight(80.4), RULES, baselines={}, history=history)
    assert result.breaches == ()


def test_spo2_is_never_explained_away() -> None:
    """No SpO2 plausibility default: a sudden low SpO2 may be real and stays red."""
    history = {"spo2": [TimedValue(NOW - timedelta(minutes=30), 97.0)]}
    result = triage_reading(
        ReadingFacts("spo2", 70, NOW), RULES, baselines={"spo2": 96}, history=history
    )
    assert result.severity is Severity.RED
    assert all(o.alert_kind is AlertKind.READING for o in result.breaches)


def test_a_team_can_narrow_the_plausible_range() -> None:
    rules = parse_rule_set(
        {
            "plausibility": [
                {"kind": "plausibility", "type": "temperature", "unit": "Cel", "low": 33}
            ],
            "absolute": [{"kind": "absolute", "type": "temperature", "unit": "Cel", "red_low": 35}],
        }
    )
    result = triage_reading(ReadingFacts("temperature", 31.0, NOW), rules, baselines={})
    assert [o.rule for o in result.breaches] == ["temperature.plausibility"]
    assert "under 33 °C" in result.reasons[0]["text_da"]
    red = triage_reading(ReadingFacts("temperature", 34.0, NOW), rules, baselines={})
    assert red.severity is Severity.RED


def test_a_jump_between_daily_weighings_is_caught_at_the_daily_rate() -> None:
    # weighed every ~25 h: the previous reading is outside 24 h, the rate still tells
    history = [TimedValue(NOW - timedelta(hours=25), 80.0)]
    assert [
        o.rule for o in triage_reading(weight(122), RULES, baselines={}, history=history).breaches
    ] == ["weight.plausibility"]
    week = [TimedValue(NOW - timedelta(days=6), 80.0)]
    gain = triage_reading(weight(86.0), RULES, baselines={}, history=week)
    assert [o.rule for o in gain.breaches] == ["weight.change"]  # 6 kg in 6 days: clinical
    assert RULES.history_needs("weight") == {"weight": 7}
    only = parse_rule_set(
        {"plausibility": [{"type": "weight", "unit": "kg", "max_change": 5, "lookback_days": 3}]}
    )
    assert only.history_needs("weight") == {"weight": 3}


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"type": "weight", "unit": "kg"}, "needs a largest change or a plausible range"),
        ({"type": "weight", "unit": "kg", "low": 90, "high": 30}, "is not below high"),
        ({"type": "weight", "unit": "lb", "max_change": 5}, "does not match the type"),
    ],
)
def test_contradicting_plausibility_rules_are_rejected(
    rule: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidRuleSetError) as caught:
        parse_rule_set({"plausibility": [rule]})
    assert problem in caught.value.problems[0]


def test_the_default_is_only_the_weight_jump() -> None:
    screens = RULES.of_kind(PlausibilityRule)
    assert [(r.type, r.max_change, r.window_hours) for r in screens] == [
        (MeasurementType.WEIGHT, 5, 24)
    ]
