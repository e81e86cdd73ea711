from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pust.domain.baselines import TimedValue, baseline_types, run_in_median
from pust.domain.limits import AbsoluteLimit, BaselineRule, RuleSet, population_rule_set
from pust.domain.measurement_types import MeasurementType
from pust.domain.severity import Severity
from pust.domain.triage import ReadingFacts, number_da, triage_reading, triage_response

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
# the single-reading behaviour of the previous starting configuration (v1): every yellow a
# task; the shipped default (v2) is tested in test_rule_kinds.py
RULES = population_rule_set()


def reading(type_: str, value: float) -> ReadingFacts:
    return ReadingFacts(type=type_, value=value, measured_at=NOW)


def test_spo2_red_reason_is_machine_readable_and_danish() -> None:
    result = triage_reading(reading("spo2", 86), RULES, baselines={})
    assert result.severity is Severity.RED
    assert result.reasons == [
        {
            "rule": "spo2.absolute",
            "severity": "red",
            "value": 86,
            "limit": 88,
            "comparison": "<",
            "text_da": "SpO2 86 % < rød grænse 88 %",
        }
    ]
    assert result.skipped == ("spo2.baseline",)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("spo2", 88, Severity.YELLOW),
        ("spo2", 89.9, Severity.YELLOW),
        ("spo2", 90, Severity.GREEN),
        ("pulse", 101, Severity.YELLOW),
        ("pulse", 120, Severity.YELLOW),
        ("pulse", 121, Severity.RED),
        ("pulse", 49, Severity.YELLOW),
        ("pulse", 39, Severity.RED),
        ("pulse", 50, Severity.GREEN),
        ("temperature", 37.9, Severity.GREEN),
        ("temperature", 38.0, Severity.YELLOW),
        ("temperature", 38.5, Severity.RED),
        ("bp_systolic", 161, Severity.YELLOW),
        ("bp_systolic", 181, Severity.RED),
        ("bp_systolic", 99, Severity.YELLOW),
        ("bp_systolic", 89, Severity.RED),
        ("respiratory_rate", 25, Severity.YELLOW),
        ("respiratory_rate", 31, Severity.RED),
        ("crp", 400, Severity.GREEN),
    ],
)
def test_absolute_limits_of_the_starting_configuration(
    type_: str, value: float, expected: Severity
) -> None:
    assert triage_reading(reading(type_, value), RULES, baselines={}).severity is expected


def test_temperature_text_uses_danish_decimal_comma_and_celsius() -> None:
    result = triage_reading(reading("temperature", 38.2), RULES, baselines={})
    assert result.reasons[0]["text_da"] == "Temperatur 38,2 °C ≥ gul grænse 38 °C"


# baseline 95: 4 points below (91) is yellow, 6 below (89) red; the absolute 88/90 also apply
@pytest.mark.parametrize(
    ("value", "absolute", "relative"),
    [
        (93, Severity.GREEN, Severity.GREEN),
        (92, Severity.GREEN, Severity.GREEN),
        (91, Severity.GREEN, Severity.YELLOW),
        (90, Severity.GREEN, Severity.YELLOW),
        (89, Severity.YELLOW, Severity.RED),
    ],
)
def test_spo2_points_below_baseline(value: float, absolute: Severity, relative: Severity) -> None:
    result = triage_reading(reading("spo2", value), RULES, baselines={"spo2": 95})
    by_rule = {o.rule: o.severity for o in result.outcomes}
    assert by_rule == {"spo2.absolute": absolute, "spo2.baseline": relative}
    assert result.severity is Severity.worst(absolute, relative)


def test_fev1_percent_of_baseline() -> None:
    assert (
        triage_reading(reading("fev1", 1.7), RULES, baselines={"fev1": 2.0}).severity
        is Severity.GREEN
    )
    yellow = triage_reading(reading("fev1", 1.5), RULES, baselines={"fev1": 2.0})
    assert yellow.severity is Severity.YELLOW
    assert yellow.reasons[0]["percent_of_baseline"] == 75.0
    assert (
        triage_reading(reading("fev1", 1.1), RULES, baselines={"fev1": 2.0}).severity
        is Severity.RED
    )


def test_pulse_above_baseline_rule_is_supported() -> None:
    rules = RuleSet.model_validate(
        {
            "baseline": [
                {"type": "pulse", "direction": "above", "mode": "points", "yellow": 15, "red": 25}
            ]
        }
    )
    assert (
        triage_reading(reading("pulse", 86), rules, baselines={"pulse": 70}).severity
        is Severity.YELLOW
    )
    assert (
        triage_reading(reading("pulse", 96), rules, baselines={"pulse": 70}).severity
        is Severity.RED
    )


def test_weight_change_within_seven_days() -> None:
    history = [TimedValue(NOW - timedelta(days=6), 70.0), TimedValue(NOW - timedelta(days=8), 60.0)]
    assert (
        triage_reading(reading("weight", 71.5), RULES, baselines={}, history=history).severity
        is Severity.GREEN
    )
    yellow = triage_reading(reading("weight", 72.0), RULES, baselines={}, history=history)
    assert yellow.severity is Severity.YELLOW
    assert yellow.reasons[0]["text_da"] == "Vægt ændret +2 kg på 7 dage (gul grænse 2 kg)"
    assert (
        triage_reading(reading("weight", 66.9), RULES, baselines={}, history=history).severity
        is Severity.RED
    )
    assert triage_reading(reading("weight", 90), RULES, baselines={}, history=[]).skipped == (
        "weight.change",
    )


def test_a_rule_that_throws_becomes_a_failure_and_others_still_run() -> None:
    # a zero baseline makes the percent rule divide by zero: that rule fails, not the reading
    result = triage_reading(reading("fev1", 1.0), RULES, baselines={"fev1": 0.0})
    assert [f.rule for f in result.failures] == ["fev1.baseline"]
    assert result.failures[0].error == "ZeroDivisionError"
    assert result.reasons[-1]["severity"] is None
    rules = RuleSet(absolute=(AbsoluteLimit(type=MeasurementType.FEV1, unit="L", red_low=0.5),))
    combined = RuleSet(rules=(*rules.of_kind(AbsoluteLimit), *RULES.of_kind(BaselineRule)))
    both = triage_reading(reading("fev1", 0.4), combined, baselines={"fev1": 0.0})
    assert both.severity is Severity.RED and len(both.failures) == 1


def test_questionnaire_items_share_one_rule_and_anthonisen_is_red() -> None:
    answers = {
        "more_breathless": True,
        "more_cough": False,
        "more_sputum": True,
        "sputum_colour_changed": True,
        "cat_score": 18,
    }
    result = triage_response("kol-symptoms-v1", answers, RULES, baselines={"cat_score": 12})
    by_rule = {o.rule: o for o in result.outcomes}
    assert by_rule["questionnaire.symptoms"].severity is Severity.YELLOW
    assert len(by_rule["questionnaire.symptoms"].reasons) == 3
    assert by_rule["questionnaire.anthonisen"].severity is Severity.RED
    assert by_rule["questionnaire.anthonisen"].reasons[0]["text_da"].startswith("3 af 3")
    assert by_rule["questionnaire.cat_score"].severity is Severity.YELLOW
    assert result.severity is Severity.RED


def test_questionnaire_all_no_is_green_and_cat_without_baseline_is_skipped() -> None:
    answers = {
        "more_breathless": False,
        "more_cough": False,
        "more_sputum": False,
        "sputum_colour_changed": False,
        "cat_score": 30,
    }
    result = triage_response("kol-symptoms-v1", answers, RULES, baselines={})
    assert result.severity is Severity.GREEN
    assert result.skipped == ("questionnaire.cat_score",)


def test_run_in_median_and_baseline_types() -> None:
    start = NOW
    values = [TimedValue(start + timedelta(days=d), v) for d, v in enumerate([94, 95, 93, 96, 92])]
    values.append(TimedValue(start + timedelta(days=15), 80))  # after the run-in: ignored
    assert run_in_median(values, monitoring_started_at=start) == 94
    assert run_in_median(values[:3], monitoring_started_at=start) is None
    assert baseline_types(RULES) == {"spo2", "fev1", "cat_score"}


def test_number_da() -> None:
    assert [number_da(v) for v in (86.0, 38.25, 1.5, 0.333333)] == ["86", "38,25", "1,5", "0,33"]


@given(st.floats(min_value=50, max_value=100, allow_nan=False))
def test_spo2_absolute_severity_is_monotone(value: float) -> None:
    lower = triage_reading(reading("spo2", value - 1), RULES, baselines={}).severity
    higher = triage_reading(reading("spo2", value), RULES, baselines={}).severity
    assert lower.rank >= higher.rank
