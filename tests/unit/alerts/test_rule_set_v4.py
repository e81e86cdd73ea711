"""Rule set version 4 (the shipped default): symptoms judged against the citizen's own
run-in (a usual symptom does not count; any new symptom that holds is a task) and the
personal red SpO2 limit from the first days of the run-in; v3 kept as it was. Pure: "now"
is a FrozenClock's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from pust.domain.baselines import TimedValue, run_in_baseline
from pust.domain.clock import FrozenClock
from pust.domain.limits import (
    AbsoluteLimit,
    InvalidRuleSetError,
    RuleSet,
    default_rule_set,
    parse_rule_set,
    starting_rule_set_v3,
)
from pust.domain.measurement_types import MeasurementType
from pust.domain.severity import AlertKind, Severity
from pust.domain.triage import ReadingFacts, Triage, triage_reading, triage_response

CLOCK = FrozenClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
NOW = CLOCK.now()
V4 = default_rule_set()
ITEMS = ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")
NONE_USUAL = {"spo2": 94.0, "pulse": 80.0, "cat_score": 15.0} | {item: 0.0 for item in ITEMS}
COUGHS = NONE_USUAL | {"more_cough": 0.4}  # "more cough" on 40 % of the run-in sheets


def _sheet(baselines: dict[str, float], yesterday: tuple[str, ...] = (), **given: bool) -> Triage:
    history = {
        item: [TimedValue(NOW - timedelta(hours=24), float(item in yesterday))] for item in ITEMS
    }
    return triage_response(
        "kol-symptoms-v1",
        {item: False for item in ITEMS} | given,
        V4,
        baselines=baselines,
        answered_at=NOW,
        history=history,
    )


def _tasks(result: Triage) -> set[str]:
    return {o.rule for o in result.outcomes if o.is_task}


def _text(result: Triage) -> str:
    return " | ".join(r["text_da"] for o in result.outcomes for r in o.reasons)


def test_the_run_in_gives_a_yes_rate_for_a_yes_no_item_and_a_median_otherwise() -> None:
    start = NOW - timedelta(days=20)
    answers = [TimedValue(start + timedelta(days=d), 1.0 if d < 3 else 0.0) for d in range(12)]
    assert run_in_baseline("more_cough", answers, monitoring_started_at=start) == 0.25
    assert run_in_baseline("cat_score", answers, monitoring_started_at=start) == 0.0  # median
    assert run_in_baseline("spo2", answers[:3], monitoring_started_at=start) is None  # too few


def test_the_citizens_usual_symptom_does_not_count_and_the_reason_says_so() -> None:
    assert not _sheet(COUGHS, more_cough=True).breaches
    result = _sheet(COUGHS, more_cough=True, more_breathless=True)
    assert result.watched and not _tasks(result)  # one new symptom: a watch
    assert "40 % af borgerens skemaer i indkøringen" in _text(result)
    # for a citizen without that habit the same sheet is two symptoms: a task
    assert _tasks(_sheet(NONE_USUAL, more_cough=True, more_breathless=True)) == {
        "questionnaire.symptom_score"
    }


def test_any_new_symptom_that_holds_over_two_sheets_is_a_task() -> None:
    result = _sheet(NONE_USUAL, yesterday=("more_sputum",), more_cough=True)
    assert _tasks(result) == {"questionnaire.symptom_score"}
    assert "også symptomscore 1 på forrige skema" in _text(result)
    # yesterday's symptom was the citizen's usual one: nothing new held
    assert _sheet(COUGHS, yesterday=("more_cough",), more_breathless=True).watched
    # during the run-in (no yes-rates yet) only the same symptom holds, as in v3
    run_in = {"cat_score": 15.0}
    assert _sheet(run_in, yesterday=("more_sputum",), more_cough=True).watched
    assert _tasks(_sheet(run_in, yesterday=("more_cough",), more_cough=True))


def test_a_usual_yes_rate_without_a_symptom_that_holds_is_refused_with_the_other_problems() -> None:
    with pytest.raises(InvalidRuleSetError) as raised:
        parse_rule_set(
            {
                "symptom_scores": [
                    {
                        "questionnaire": "kol-symptoms-v1",
                        "items": ["more_cough"],
                        "yellow": 1,
                        "usual_yes_rate": 0.2,
                    }
                ],
                "absolute": [
                    {"type": "spo2", "unit": "%", "yellow_low": 90, "provisional_within_days": 7}
                ],
            }
        )
    problems = " | ".join(raised.value.problems)
    assert "a usual yes-rate only matters for a symptom that holds" in problems
    assert "a provisional baseline needs a personal red low limit" in problems


def _spo2(value: float, history: list[float], baselines: dict[str, float] | None = None) -> Triage:
    earlier = [TimedValue(NOW - timedelta(hours=12 * (i + 1)), v) for i, v in enumerate(history)]
    return triage_reading(
        ReadingFacts("spo2", value, NOW), V4, baselines=baselines or {}, history={"spo2": earlier}
    )


def test_in_the_run_in_a_citizen_who_lives_at_87_gets_a_provisional_personal_red_limit() -> None:
    lives_at_87 = [87.0, 88.0, 87.0, 86.0]
    assert _spo2(86, lives_at_87).task_severity is Severity.GREEN  # a watch: red is < 84
    red = _spo2(83, lives_at_87)
    assert red.task_severity is Severity.RED
    assert "personlig: foreløbig basislinje 87 %" in _text(red)
    # fewer than four readings so far: the population limit (red < 88) holds
    assert _spo2(86, lives_at_87[:3]).task_severity is Severity.RED
    # once there is a baseline it is the baseline, 3 points under it
    assert _spo2(84, [], {"spo2": 88.0}).task_severity is Severity.RED
    assert _spo2(85, [], {"spo2": 88.0}).task_severity is Severity.GREEN
    # a citizen at 94 keeps the population red limit
    assert _spo2(87, [94.0] * 6).task_severity is Severity.RED


def test_v4_is_the_default_and_v3_is_kept_as_stored() -> None:
    assert starting_rule_set_v3() != V4
    assert parse_rule_set(V4.to_json()) == V4
    stored = resources.files("pust_cli.evaluate").joinpath("rule_sets", "starting-v3.json")
    document = json.loads(stored.read_text("utf-8"))
    assert document["version"] == 3
    assert parse_rule_set(document["rules"]) == starting_rule_set_v3()
    spo2 = next(
        r for r in starting_rule_set_v3().of_kind(AbsoluteLimit) if r.type is MeasurementType.SPO2
    )
    assert spo2.red_low_below_baseline == 2 and spo2.provisional_within_days is None
    # the baselines v4 asks the run-in for: the symptom items' yes-rates too
    assert set(ITEMS) <= V4.baseline_types()
    assert V4.history_needs("spo2")["spo2"] == 7
    assert RuleSet.model_validate(V4.to_json()).alert_groups == "by_type"
    assert all(o.alert_kind is not AlertKind.TECHNICAL for o in _sheet(NONE_USUAL).outcomes)
