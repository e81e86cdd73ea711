"""The rule configurations the evaluation compares: each is a stored rule set (the JSON
document of ``LimitSet.rules``, versioned), not a code path.

- the shipped starting configuration, :func:`pust.domain.limits.default_rule_set` (v4);
- the alternatives in ``rule_sets/*.json`` next to this module: the previous starting
  configuration v3 (``starting-v3``: v2 with a personal red SpO2 limit and the same symptom
  holding over two sheets) and v1 (``population-limits-v1``: every yellow reading and every
  single symptom a task). v2 (``starting-v2``: one yellow a watch, tasks when a signal holds
  or combines) and ``quieter-v2`` (a quieter variant of v2) are stored too, for
  ``--rules``. A team lead's proposal is one more such file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from pust.domain.limits import RuleSet, default_rule_set, parse_rule_set
from pust.domain.missed_measurement_policy import DEFAULT_POLICY, MissedMeasurementPolicy
from pust.evaluation.metrics import Evaluation, evaluate
from pust.evaluation.replay import Checked, Replay, RulesFor
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.recording import cohort_recording
from pust_cli.simulator.timeline import SimPlan

DAILY = SimPlan()  # after the run-in, every morning at 08:00
TWICE_WEEKLY = SimPlan(weekdays=("mon", "thu"), times=("09:00",))  # pust's default plan
DEFAULT_VERSION = 4
ALTERNATIVES = ("starting-v3", "population-limits-v1")


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str
    version: int
    description: str
    rules: RuleSet
    plan: SimPlan = DAILY
    missed_policy: MissedMeasurementPolicy = DEFAULT_POLICY

    @property
    def rules_for(self) -> RulesFor:
        """The same rule set for every citizen (baselines come from the run-in)."""
        return _fixed(self.rules)

    def document(self) -> dict[str, Any]:
        """As stored in ``rule_sets/*.json``."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "rules": self.rules.to_json(),
        }


def from_document(document: dict[str, Any]) -> Configuration:
    """A stored configuration; raises :class:`pust.domain.limits.InvalidRuleSetError`."""
    return Configuration(
        name=str(document["name"]),
        version=int(document["version"]),
        description=str(document["description"]),
        rules=parse_rule_set(document["rules"]),
    )


def stored(name: str) -> Configuration:
    text = resources.files(__package__).joinpath("rule_sets", f"{name}.json").read_text("utf-8")
    return from_document(json.loads(text))


def starting_configuration() -> Configuration:
    return Configuration(
        "starting configuration",
        DEFAULT_VERSION,
        "the shipped default (v4): v3 with symptoms judged against the citizen's own run-in "
        "(a usual symptom does not count; any new symptom that holds over two sheets is a "
        "task) and a personal red SpO2 limit 3 under the baseline, provisional in the run-in",
        default_rule_set(),
    )


def configurations() -> tuple[Configuration, ...]:
    return (starting_configuration(), *(stored(name) for name in ALTERNATIVES))


def _fixed(rules: RuleSet) -> RulesFor:
    """The same stored rule set for every citizen (baselines come from the run-in)."""

    def rules_for(_device: str, _baselines: dict[str, float]) -> RuleSet:
        return rules

    return rules_for


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    citizens: int
    weeks: int
    seed: int
    start: datetime
    results: tuple[tuple[Configuration, Evaluation], ...]


def run_evaluation(
    *,
    citizens: int,
    weeks: int,
    seed: int,
    start: datetime | None = None,
    chosen: tuple[Configuration, ...] | None = None,
) -> EvaluationRun:
    start = start or datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: a fixed, reproducible start
    cohort = build_cohort(CohortSpec(citizens=citizens, start=start, days=weeks * 7, seed=seed))
    checked: dict[SimPlan, Checked] = {}  # each plan's messages validated once
    results = []
    for c in chosen or configurations():
        if c.plan not in checked:
            checked[c.plan] = Checked(cohort_recording(cohort, c.plan))
        once = checked[c.plan]
        replay = Replay(once.recording, _fixed(c.rules), c.missed_policy, check=once)
        results.append((c, evaluate(replay.run())))
    return EvaluationRun(citizens, weeks, seed, start, tuple(results))
