"""`pust evaluate --cohort DIR` and `pust simulate --export DIR`: the cohort format
(docs/cohort-format.md) on disk. Parsing and replay are pure (:mod:`pust.evaluation`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pust.evaluation.cohort_format import (
    EPISODES,
    MANIFEST,
    MESSAGES,
    PLAN,
    CohortProblem,
    InvalidCohortError,
    LoadedCohort,
    export_cohort,
    parse_cohort,
)
from pust.evaluation.metrics import evaluate
from pust.evaluation.recording import Recording
from pust.evaluation.replay import Replay
from pust_cli.evaluate.configurations import (
    DAILY,
    Configuration,
    EvaluationRun,
    configurations,
)
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.recording import cohort_recording
from pust_cli.simulator.timeline import SimPlan

EXPORT_START = datetime(2026, 1, 5, tzinfo=UTC)  # the start `pust evaluate` simulates from


def _json_file(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidCohortError(
            [CohortProblem(path.name, 0, "invalid_json", "not valid JSON")]
        ) from exc


def read_cohort_dir(directory: Path) -> LoadedCohort:
    """Raises :class:`InvalidCohortError` when nothing can be replayed (and FileNotFoundError
    without ``messages.jsonl``)."""
    episodes_path = directory / EPISODES
    with (directory / MESSAGES).open(encoding="utf-8", errors="replace") as messages:
        if episodes_path.exists():
            with episodes_path.open(encoding="utf-8", errors="replace") as episodes:
                return parse_cohort(
                    messages,
                    episodes=episodes,
                    plan=_json_file(directory / PLAN),
                    manifest=_json_file(directory / MANIFEST),
                )
        return parse_cohort(
            messages, plan=_json_file(directory / PLAN), manifest=_json_file(directory / MANIFEST)
        )


def write_cohort_dir(directory: Path, recording: Recording) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in export_cohort(recording).files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def export_simulated(directory: Path, *, citizens: int, days: int, seed: int) -> list[Path]:
    """The built-in cohort `pust evaluate` simulates (same start, same daily plan)."""
    cohort = build_cohort(CohortSpec(citizens=citizens, start=EXPORT_START, days=days, seed=seed))
    return write_cohort_dir(directory, cohort_recording(cohort, SimPlan()))


@dataclass(frozen=True, slots=True)
class CohortEvaluation:
    run: EvaluationRun
    problems: tuple[CohortProblem, ...]  # every line not replayed or rejected, in file order
    has_ground_truth: bool


def rule_configurations() -> tuple[Configuration, ...]:
    """The configurations that differ in rules only: a recording's plan is what it is."""
    return tuple(c for c in configurations() if c.plan == DAILY)


def evaluate_cohort(loaded: LoadedCohort) -> CohortEvaluation:
    recording = loaded.recording
    results = []
    rejected: list[CohortProblem] = []
    for index, configuration in enumerate(rule_configurations()):
        replay = Replay(recording, configuration.rules_for, configuration.missed_policy)
        results.append((configuration, evaluate(replay.run())))
        if index == 0:  # the validator does not depend on the rules
            rejected = [
                CohortProblem(
                    MESSAGES,
                    message.line or 0,
                    ",".join(rejection.codes),
                    "; ".join(f"{e.path or 'payload'}: {e.message}" for e in rejection.errors),
                )
                for message, rejection in replay.rejections
            ]
    run = EvaluationRun(
        len(recording.device_ids), round(recording.days / 7), 0, recording.start, tuple(results)
    )
    problems = tuple(sorted((*loaded.problems, *rejected), key=lambda p: (p.file, p.line)))
    return CohortEvaluation(run, problems, recording.episodes is not None)
