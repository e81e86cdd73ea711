"""One reading, one alert where rules agree: triage merges the rules of one concern, the
aggregate keeps one alert per citizen and concern (no database)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pust.domain import alert_aggregate as agg
from pust.domain.alert_aggregate import AlertState, Breach
from pust.domain.alert_lifecycle import EventKind, Outcome
from pust.domain.limits import InvalidRuleSetError, RuleSet, parse_rule_set, population_rule_set
from pust.domain.routing import default_routing_policy
from pust.domain.severity import AlertKind, AlertStatus, Severity
from pust.domain.triage import Concern, ReadingFacts, triage_reading

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
POLICY = default_routing_policy()
CITIZEN, TEAM, NURSE = uuid.UUID(int=7), uuid.UUID(int=8), uuid.UUID(int=9)
# the v1 population limits: an absolute and a baseline-relative SpO2 rule that agree on
# one low reading (v2 makes the single baseline breach a watch)
SPO2_BASELINE = {"spo2": 94.0}


def spo2(value: float, rules: RuleSet | None = None) -> tuple[Concern, ...]:
    verdict = triage_reading(
        ReadingFacts("spo2", value, NOW), rules or population_rule_set(), baselines=SPO2_BASELINE
    )
    return verdict.concerns


def breach_of(concern: Concern, *, reading: int, minutes: int = 0) -> Breach:
    return Breach(
        citizen_id=CITIZEN,
        care_team_id=TEAM,
        kind=concern.alert_kind,
        rule_key=concern.rules[0],
        concern=concern.key,
        severity=concern.severity,
        observed_at=NOW + timedelta(minutes=minutes),
        reasons=list(concern.reasons),
        value=concern.value,
        reading_id=reading,
    )


def rules_of(reasons: Any) -> list[str]:
    return [r["rule"] for r in reasons]


# triage ----------------------------------------------------------------------------------


def test_spo2_84_breaking_the_absolute_and_the_baseline_rule_is_one_red_concern() -> None:
    [concern] = spo2(84)  # 84 < red 88; 10 points below the baseline 94 (red at 6)
    assert concern.key == "spo2.*"
    assert concern.severity is Severity.RED
    assert set(concern.rules) == {"spo2.absolute", "spo2.baseline"}
    assert set(rules_of(concern.reasons)) == {"spo2.absolute", "spo2.baseline"}
    texts = [r["text_da"] for r in concern.reasons]
    assert any("rød grænse 88" in t for t in texts) and any("basis" in t.lower() for t in texts)


def test_the_worst_rule_comes_first_and_names_the_alert() -> None:
    # 89: yellow by the absolute limit (< 90), red by the baseline (5 below 94 is yellow; so
    # use a higher baseline): 100 − 89 = 11 points below
    verdict = triage_reading(
        ReadingFacts("spo2", 89, NOW), population_rule_set(), baselines={"spo2": 100.0}
    )
    [concern] = verdict.concerns
    assert concern.rules == ("spo2.baseline", "spo2.absolute")
    assert [r["severity"] for r in concern.reasons] == ["red", "yellow"]
    assert concern.severity is Severity.RED


def test_a_rule_breached_alone_keeps_only_its_reason_in_the_concern() -> None:
    [concern] = spo2(89, population_rule_set())  # yellow absolute; 5 below 94: yellow baseline
    assert concern.severity is Severity.YELLOW
    [only] = spo2(91)  # 91: absolute green; 3 below the baseline: green
    assert only.severity is Severity.GREEN and only.reasons == ()


def test_by_rule_keeps_every_rule_its_own_alert() -> None:
    rules = parse_rule_set(population_rule_set().to_json() | {"alert_groups": "by_rule"})
    concerns = spo2(84, rules)
    assert sorted(c.key for c in concerns) == ["spo2.absolute", "spo2.baseline"]


def test_named_groups_say_which_rules_share_an_alert() -> None:
    document = population_rule_set().to_json() | {"alert_groups": {"iltning": ["spo2.absolute"]}}
    rules = parse_rule_set(document)
    assert rules.concern_of("spo2.absolute") == "group.iltning"
    assert rules.concern_of("spo2.baseline") == "spo2.baseline"  # in no group: its own
    assert parse_rule_set(rules.to_json()) == rules  # stored and read back


def test_a_rule_in_two_groups_is_refused() -> None:
    document = population_rule_set().to_json() | {
        "alert_groups": {"a": ["spo2.absolute"], "b": ["spo2.absolute", "spo2.baseline"]}
    }
    with pytest.raises(InvalidRuleSetError, match="more than one group"):
        parse_rule_set(document)


def test_data_quality_checks_never_merge_into_clinical_alerts() -> None:
    rules = population_rule_set()
    assert rules.concern_of("weight.plausibility") == "weight.plausibility"
    assert rules.concern_of("weight.change") == "weight.*"


# the aggregate ---------------------------------------------------------------------------


def opened_by_spo2_84() -> AlertState:
    [concern] = spo2(84)
    return agg.raise_or_repeat(None, breach_of(concern, reading=1), now=NOW, policy=POLICY).state


def test_the_merged_alert_carries_both_reasons_and_the_worst_severity() -> None:
    alert = opened_by_spo2_84()
    assert alert.severity is Severity.RED
    assert alert.open_key == f"{CITIZEN}:spo2.*"
    assert set(alert.rules) == {"spo2.absolute", "spo2.baseline"}
    assert alert.count == 1


def test_a_later_breach_of_either_rule_repeats_that_alert() -> None:
    alert = opened_by_spo2_84()
    [later] = spo2(89)  # a new reading, yellow now
    transition = agg.raise_or_repeat(
        alert, breach_of(later, reading=2, minutes=30), now=NOW, policy=POLICY
    )
    assert transition.state.id == alert.id
    assert transition.event is EventKind.REPEATED
    assert transition.state.severity is Severity.RED  # the worst seen while open
    assert transition.state.count == 2


def test_the_same_reading_breaking_another_rule_of_the_concern_is_merged_not_counted() -> None:
    [concern] = spo2(84)
    absolute = [r for r in concern.reasons if r["rule"] == "spo2.absolute"]
    baseline = [r for r in concern.reasons if r["rule"] == "spo2.baseline"]
    first = Breach(**{**_fields(breach_of(concern, reading=1)), "reasons": absolute})
    alert = agg.raise_or_repeat(None, first, now=NOW, policy=POLICY).state
    second = Breach(
        **{
            **_fields(breach_of(concern, reading=1)),
            "rule_key": "spo2.baseline",
            "reasons": baseline,
        }
    )
    merged = agg.raise_or_repeat(alert, second, now=NOW, policy=POLICY)
    assert merged.event is EventKind.MERGED
    assert merged.state.id == alert.id and merged.state.count == 1
    assert set(merged.state.rules) == {"spo2.absolute", "spo2.baseline"}
    again = agg.raise_or_repeat(merged.state, second, now=NOW, policy=POLICY)
    assert again.events == () and again.state == merged.state  # delivered twice: nothing


def test_a_worse_rule_merged_into_an_acknowledged_alert_reopens_it() -> None:
    [yellow] = spo2(89)
    alert = agg.raise_or_repeat(None, breach_of(yellow, reading=1), now=NOW, policy=POLICY).state
    acked = agg.acknowledge(alert, actor_id=NURSE, now=NOW, note="set").state
    red_reason = {"rule": "spo2.other", "severity": "red", "text_da": "SpO2 rød"}
    worse = Breach(
        **{
            **_fields(breach_of(yellow, reading=1)),
            "rule_key": "spo2.other",
            "severity": Severity.RED,
            "reasons": [red_reason],
        }
    )
    transition = agg.raise_or_repeat(acked, worse, now=NOW, policy=POLICY)
    assert transition.state.status is AlertStatus.OPEN
    assert transition.state.severity is Severity.RED
    assert transition.state.reasons[0] == red_reason  # worst first
    assert transition.event is EventKind.REOPENED


def test_resolving_the_merged_alert_settles_both_rules() -> None:
    alert = opened_by_spo2_84()
    resolved = agg.resolve(
        alert, actor_id=NURSE, now=NOW, outcome=Outcome.CONTACTED_CITIZEN, note="ringet op"
    ).state
    assert resolved.open_key is None
    [next_reading] = spo2(84)
    fresh = agg.raise_or_repeat(
        resolved, breach_of(next_reading, reading=2, minutes=60), now=NOW, policy=POLICY
    )
    assert fresh.state.id != alert.id and fresh.event is EventKind.OPENED  # a new episode


def test_a_breach_without_a_concern_is_its_rules_own() -> None:
    lone = Breach(
        citizen_id=CITIZEN,
        care_team_id=TEAM,
        kind=AlertKind.MISSED_MEASUREMENT,
        rule_key="plan.missed",
        severity=Severity.GREEN,
        observed_at=NOW,
    )
    assert lone.concern == "plan.missed"
    alert = agg.raise_or_repeat(None, lone, now=NOW, policy=POLICY).state
    assert alert.open_key == f"{CITIZEN}:plan.missed"


def _fields(breach: Breach) -> dict[str, Any]:
    return {name: getattr(breach, name) for name in Breach.__dataclass_fields__}
