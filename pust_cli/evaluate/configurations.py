"""The rule configurations the evaluation compares, all built from pust's own rule sets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pust.domain.limits import AbsoluteLimit, RuleSet, default_rule_set
from pust.domain.measurement_types import MeasurementType
from pust.domain.missed_measurement_policy import DEFAULT_POLICY, MissedMeasurementPolicy
from pust.evaluation.metrics import Evaluation, evaluate
from pust.evaluation.replay import Replay, RulesFor
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.recording import cohort_recording
from pust_cli.simulator.timeline import SimPlan

# a run-in SpO2 median below this makes the group's absolute SpO2 limits a daily alarm
PERSONALISE_BELOW = 92.0


DAILY = SimPlan()  # after the run-in, every morning at 08:00
TWICE_WEEKLY = SimPlan(weekdays=("mon", "thu"), times=("09:00",))  # pust's default plan


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str
    description: str
    rules_for: RulesFor
    plan: SimPlan = DAILY
    missed_policy: MissedMeasurementPolicy = DEFAULT_POLICY


def starting_configuration() -> Configuration:
    rules = default_rule_set()
    return Configuration(
        "starting configuration",
        "the group defaults of BACKGROUND.md for every citizen; measuring every morning "
        "after the run-in",
        lambda _device, _baselines: rules,
    )


def personalised_spo2(rules: RuleSet, baselines: dict[str, float]) -> RuleSet:
    """What the physician does after the run-in for a citizen who lives at a low SpO2:
    absolute SpO2 limits 3 (yellow) and 5 (red) points below the run-in median."""
    median = baselines.get(MeasurementType.SPO2.value)
    if median is None or median >= PERSONALISE_BELOW:
        return rules
    rules_now = tuple(
        AbsoluteLimit(
            type=MeasurementType.SPO2,
            unit="%",
            red_low=round(median) - 5,
            yellow_low=round(median) - 3,
        )
        if isinstance(limit, AbsoluteLimit) and limit.type is MeasurementType.SPO2
        else limit
        for limit in rules.rules
    )
    return RuleSet(rules=rules_now)


def twice_weekly_configuration() -> Configuration:
    rules = default_rule_set()
    return Configuration(
        "twice weekly",
        "the starting configuration with pust's default plan: after the run-in, Monday "
        "and Thursday at 09:00 (citizens may still measure on a bad day)",
        lambda _device, _baselines: rules,
        TWICE_WEEKLY,
    )


def personalised_configuration() -> Configuration:
    rules = default_rule_set()
    return Configuration(
        "personalised SpO2 limits",
        f"as the starting configuration; after the run-in, citizens with a SpO2 median "
        f"below {PERSONALISE_BELOW:.0f} % get absolute SpO2 limits 3/5 points below it",
        lambda _device, baselines: personalised_spo2(rules, baselines),
    )


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    citizens: int
    weeks: int
    seed: int
    start: datetime
    results: tuple[tuple[Configuration, Evaluation], ...]


def run_evaluation(
    *, citizens: int, weeks: int, seed: int, start: datetime | None = None
) -> EvaluationRun:
    start = start or datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: a fixed, reproducible start
    cohort = build_cohort(CohortSpec(citizens=citizens, start=start, days=weeks * 7, seed=seed))
    configurations = (
        starting_configuration(),
        personalised_configuration(),
        twice_weekly_configuration(),
    )
    results = tuple(
        (c, evaluate(Replay(cohort_recording(cohort, c.plan), c.rules_for, c.missed_policy).run()))
        for c in configurations
    )
    return EvaluationRun(citizens, weeks, seed, start, results)
