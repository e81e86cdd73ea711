"""The rule kinds of issue 13 and rule set v3 (v2 where named) that uses them — v3 was the
default before v4 (tests/unit/alerts/test_rule_set_v4.py):
persistence from the citizen's own baseline, SpO2 with pulse in one session, a symptom
score over the answer sheet, and the watch (a signal shown, not a task). Red on a single
reading stays immediate. Pure: "now" is a FrozenClock's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.baselines import TimedValue
from pust.domain.clock import FrozenClock
from pust.domain.limits import (
    InvalidRuleSetError,
    RuleSet,
    SymptomScoreRule,
    parse_rule_set,
    starting_rule_set_v2,
    starting_rule_set_v3,
)
from pust.domain.routing import ladder_key
from pust.domain.severity import AlertKind, Severity, WorklistBand, band_for
from pust.domain.triage import ReadingFacts, Triage, triage_reading, triage_response

CLOCK = FrozenClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
NOW = CLOCK.now()
DEFAULTS = starting_rule_set_v3()  # the rule set these tests are about
BASELINES = {"spo2": 94.0, "pulse": 80.0, "cat_score": 15.0}
NO = {"more_breathless": False, "more_cough": False, "more_sputum": False}


def reading(
    type_: str,
    value: float,
    *,
    rules: RuleSet = DEFAULTS,
    baselines: dict[str, float] | None = None,
    history: dict[str, list[TimedValue]] | None = None,
) -> Triage:
    return triage_reading(
        ReadingFacts(type_, value, NOW),
        rules,
        baselines=BASELINES if baselines is None else baselines,
        history=history or {},
    )


def answers(**given: object) -> Triage:
    return triage_response(
        "kol-symptoms-v1",
        {**NO, "sputum_colour_changed": False, **given},
        DEFAULTS,
        baselines=BASELINES,
    )


def earlier(value: float, hours: float) -> TimedValue:
    return TimedValue(NOW - timedelta(hours=hours), value)


def tasks(result: Triage) -> set[str]:
    return {o.rule for o in result.outcomes if o.is_task}


def watches(result: Triage) -> set[str]:
    return {o.rule for o in result.outcomes if o.alert_kind is AlertKind.WATCH}


# red stays immediate ------------------------------------------------------------------


def test_spo2_84_is_red_at_once_with_or_without_a_baseline() -> None:
    for baselines in ({}, BASELINES):
        result = reading("spo2", 84, baselines=baselines)
        assert result.task_severity is Severity.RED
        assert "spo2.absolute" in tasks(result)
    # v2: the population red limit for everyone, also a citizen who lives at 86 %
    v2 = reading("spo2", 84, rules=starting_rule_set_v2(), baselines={"spo2": 86.0})
    assert "spo2.absolute" in tasks(v2)
    # v3: her red limit is personal, 2 under her baseline; still one reading
    assert reading("spo2", 84, baselines={"spo2": 86.0}).task_severity is Severity.GREEN
    assert "spo2.absolute" in tasks(reading("spo2", 83, baselines={"spo2": 86.0}))


def test_six_points_below_the_baseline_is_red_at_once() -> None:
    result = reading("spo2", 88, baselines={"spo2": 94.0})
    assert result.task_severity is Severity.RED
    assert "spo2.baseline" in tasks(result)


# one yellow reading is a watch ----------------------------------------------------------


def test_one_yellow_spo2_is_a_watch_not_a_task() -> None:
    result = reading("spo2", 89, baselines={})
    assert result.severity is Severity.YELLOW  # the value is yellow on the citizen's page
    assert result.task_severity is Severity.GREEN
    assert result.watched
    assert watches(result) == {"spo2.absolute.watch"}
    watch = next(o for o in result.outcomes if o.alert_kind is AlertKind.WATCH)
    assert watch.reasons[0]["text_da"] == "SpO2 89 % < gul grænse 90 %"


def test_a_watch_is_in_the_lower_band_and_never_escalates() -> None:
    assert band_for(AlertKind.WATCH, Severity.YELLOW) is WorklistBand.GREEN
    assert ladder_key(AlertKind.WATCH, Severity.YELLOW) is None


def test_a_rule_without_watch_keeps_its_yellow_a_task() -> None:
    rules = parse_rule_set({"absolute": [{"type": "spo2", "unit": "%", "yellow_low": 90}]})
    result = reading("spo2", 89, rules=rules, baselines={})
    assert tasks(result) == {"spo2.absolute"}
    assert not result.watched


# persistence from the citizen's own baseline ------------------------------------------------


def test_two_readings_more_than_two_below_the_own_baseline_are_a_yellow_task() -> None:
    result = reading("spo2", 91, history={"spo2": [earlier(91, 24)]})
    assert "spo2.persistence" in tasks(result)
    reason = next(o for o in result.outcomes if o.rule == "spo2.persistence").reasons[0]
    assert reason["text_da"] == (
        "SpO2 under 92 % (basislinjen 94 %) ved 2 målinger i træk inden for 2 dage "
        "(91 %, 91 %; gul)"
    )
    assert reason["limit"] == 92


def test_one_reading_below_the_own_baseline_is_no_task() -> None:
    at_limit = reading("spo2", 91, history={"spo2": [earlier(92, 24)]})  # 92 is not under 92
    assert tasks(at_limit) == set()
    result = reading("spo2", 91, history={"spo2": [earlier(94, 24)]})
    assert tasks(result) == set()


def test_a_citizen_who_lives_at_89_is_not_persistently_low_at_89() -> None:
    result = reading("spo2", 89, baselines={"spo2": 89.0}, history={"spo2": [earlier(89, 24)]})
    assert tasks(result) == set()
    assert watches(result) == {"spo2.absolute.watch"}  # below the population limit: shown


def test_persistence_waits_for_the_baseline() -> None:
    result = reading("spo2", 89, baselines={}, history={"spo2": [earlier(89, 24)]})
    assert "spo2.persistence" not in tasks(result)


def test_readings_older_than_the_window_do_not_hold() -> None:
    result = reading("spo2", 91, history={"spo2": [earlier(91, 60)]})
    assert "spo2.persistence" not in tasks(result)


# SpO2 with pulse in one session --------------------------------------------------------


def test_spo2_below_and_pulse_above_the_baseline_together_are_a_yellow_task() -> None:
    result = reading("pulse", 89, history={"spo2": [TimedValue(NOW, 92)]})
    assert "combination.spo2_pulse" in tasks(result)
    text = next(o for o in result.outcomes if o.rule == "combination.spo2_pulse").reasons[0]
    assert text["text_da"].startswith("SpO2 92 % er 2 under basislinjen 94 % og ")
    assert text["values"] == {"spo2": 92, "pulse": 89}


def test_each_alone_or_apart_in_time_is_no_combination() -> None:
    alone = reading("pulse", 89, history={"spo2": [TimedValue(NOW, 94)]})
    apart = reading("pulse", 89, history={"spo2": [earlier(92, 3)]})
    assert "combination.spo2_pulse" not in tasks(alone) | tasks(apart)


def test_the_combination_asks_for_the_partners_history() -> None:
    assert DEFAULTS.history_needs("pulse")["spo2"] >= 1
    assert {"spo2", "pulse", "cat_score"} <= DEFAULTS.baseline_types()


# the symptom score ------------------------------------------------------------------------


def test_one_symptom_is_a_watch_two_are_a_task() -> None:
    one = answers(more_cough=True)
    assert one.watched and watches(one) == {"questionnaire.symptom_score.watch"}
    two = answers(more_cough=True, more_breathless=True)
    assert tasks(two) == {"questionnaire.symptom_score"}
    assert two.task_severity is Severity.YELLOW
    text = next(iter(two.breaches)).reasons[0]["text_da"]
    assert text.startswith("Symptomscore 2 af 5 (gul ved 2): ")


def test_one_symptom_with_a_rising_cat_is_a_task() -> None:
    result = answers(more_cough=True, cat_score=20)
    assert tasks(result) == {"questionnaire.symptom_score"}


def test_anthonisen_stays_red() -> None:
    result = answers(more_breathless=True, more_sputum=True, sputum_colour_changed=True)
    assert result.task_severity is Severity.RED
    assert "questionnaire.anthonisen" in tasks(result)


def test_all_no_is_green() -> None:
    result = answers()
    assert result.severity is Severity.GREEN and not result.breaches


# rule sets that contradict themselves ---------------------------------------------------


def test_contradictory_new_rules_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidRuleSetError) as raised:
        parse_rule_set(
            {
                "symptom_scores": [
                    {
                        "questionnaire": "kol-symptoms-v1",
                        "items": ["more_cough", "more_cough"],
                        "yellow": 2,
                    }
                ],
                "reading_combinations": [
                    {
                        "name": "twice",
                        "conditions": [
                            {"type": "spo2", "direction": "below", "points": 2},
                            {"type": "spo2", "direction": "below", "points": 3},
                        ],
                    }
                ],
                "persistence": [{"type": "spo2", "unit": "%"}],
            }
        )
    problems = " | ".join(raised.value.problems)
    assert "an item is listed twice" in problems
    assert "a measurement type is listed twice" in problems
    assert "needs a limit below or above" in problems


def test_the_default_round_trips_through_its_stored_document() -> None:
    assert parse_rule_set(DEFAULTS.to_json()) == DEFAULTS


# the symptom score over more than one sheet (version 3) ----------------------------------

SYMPTOM_ITEMS = ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")


def _score_rules(**options: object) -> RuleSet:
    return RuleSet(
        rules=(
            SymptomScoreRule(
                questionnaire="kol-symptoms-v1",
                items=SYMPTOM_ITEMS,
                score_item="cat_score",
                score_points_above_baseline=5,
                watch=1,
                yellow=2,
                **options,  # type: ignore[arg-type]
            ),
        )
    )


def _sheet(rules: RuleSet, history: dict[str, list[TimedValue]], **given: object) -> Triage:
    return triage_response(
        "kol-symptoms-v1",
        {**NO, "sputum_colour_changed": False, **given},
        rules,
        baselines=BASELINES,
        answered_at=NOW,
        history=history,
    )


def _yesterday(**given: bool) -> dict[str, list[TimedValue]]:
    return {item: [earlier(1.0 if given.get(item) else 0.0, 24)] for item in SYMPTOM_ITEMS}


def test_one_symptom_with_the_same_mornings_spo2_below_baseline_is_a_task() -> None:
    rules = _score_rules(spo2_points_below_baseline=2)
    low = {"spo2": [earlier(92.0, 0.1)]}  # 2 below 94, five minutes before the sheet
    result = _sheet(rules, low, more_cough=True)
    assert tasks(result) == {"questionnaire.symptom_score"}
    text = result.breaches[0].reasons[0]["text_da"]
    assert "SpO2 92 % er 2 under basislinjen 94 % samme dag" in text
    # SpO2 alone is the reading rules' business; an SpO2 of yesterday is not the same day
    assert not _sheet(rules, low).breaches
    assert _sheet(rules, {"spo2": [earlier(92.0, 20)]}, more_cough=True).watched
    assert _sheet(rules, {"spo2": [earlier(93.0, 0.1)]}, more_cough=True).watched


def test_one_symptom_that_holds_over_two_sheets_is_a_task() -> None:
    rules = _score_rules(holds_within_days=2, holds_same_symptom=True)
    result = _sheet(rules, _yesterday(more_cough=True), more_cough=True)
    assert tasks(result) == {"questionnaire.symptom_score"}
    text = result.breaches[0].reasons[0]["text_da"]
    assert "to skemaer i træk inden for 2 dage" in text
    assert "også symptomscore 1 på forrige skema" in text
    # another symptom yesterday, none yesterday, or only three days ago: a watch
    assert _sheet(rules, _yesterday(more_sputum=True), more_cough=True).watched
    assert _sheet(rules, _yesterday(), more_cough=True).watched
    old = {"more_cough": [earlier(1.0, 72)]}
    assert _sheet(rules, old, more_cough=True).watched
    # without the sheet's time (an older caller) nothing is looked back on
    plain = triage_response("kol-symptoms-v1", {**NO, "more_cough": True}, rules, baselines={})
    assert plain.watched


def test_a_score_that_holds_asks_for_the_earlier_sheets_and_needs_a_watch() -> None:
    rules = _score_rules(holds_within_days=2, spo2_points_below_baseline=2)
    assert rules.response_history_needs("kol-symptoms-v1") == {
        "spo2": 1,
        **{item: 2 for item in (*SYMPTOM_ITEMS, "cat_score")},
    }
    assert rules.history_needs("spo2") == {}  # a reading does not look at the sheets
    with pytest.raises(InvalidRuleSetError, match="needs a watch threshold"):
        parse_rule_set(
            {
                "symptom_scores": [
                    {
                        "kind": "symptom_score",
                        "questionnaire": "kol-symptoms-v1",
                        "items": ["more_cough"],
                        "yellow": 1,
                        "holds_within_days": 2,
                    }
                ]
            }
        )


def test_a_citizen_who_lives_at_88_gets_a_personal_red_limit_once_there_is_a_baseline() -> None:
    from pust.domain.limits import AbsoluteLimit
    from pust.domain.measurement_types import MeasurementType

    limit = AbsoluteLimit(
        type=MeasurementType.SPO2, unit="%", red_low=88, yellow_low=90, red_low_below_baseline=2
    )
    rules = RuleSet(rules=(limit,))
    lives_at_88 = {"spo2": 88.0}
    assert reading("spo2", 87, rules=rules, baselines=lives_at_88).severity is Severity.YELLOW
    red = reading("spo2", 85, rules=rules, baselines=lives_at_88)
    assert red.task_severity is Severity.RED  # a single reading: red at once
    assert red.breaches[0].reasons[0]["text_da"] == (
        "SpO2 85 % < rød grænse 86 % (personlig: basislinjen 88 %)"
    )
    # before the run-in, and for a citizen who lives at 94, the population limit holds
    assert reading("spo2", 87, rules=rules, baselines={}).task_severity is Severity.RED
    assert reading("spo2", 87, rules=rules, baselines={"spo2": 94.0}).severity is Severity.RED
    assert rules.baseline_types() == {"spo2"}
