"""A recording: what the evaluation replays, whoever produced it.

The simulator is one producer (``pust_cli.simulator.recording``), a cohort directory
another (``pust.evaluation.cohort_files``), the clinic's own history a third. The replay
only sees messages as they were received, the measuring plan and, when known, the ground
truth (exacerbation episodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pust.domain.plans import MeasurementPlan


@dataclass(frozen=True, slots=True)
class Episode:
    """Ground truth: the citizen's exacerbation from ``onset`` until ``end``; optionally
    ``prodrome_from``, when things already began to change before the onset (a flag from
    then on is an early detection, not a false alarm)."""

    device_id: str
    onset: datetime
    end: datetime
    prodrome_from: datetime | None = None

    @property
    def starts(self) -> datetime:
        """When the episode's signals may first show: the prodrome, else the onset."""
        return self.prodrome_from or self.onset


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One protocol-v1 message as received from the device's ``kind`` channel
    (``measurements``, ``questionnaire-responses``, ``status``). ``line``: where it came
    from in a cohort file (1-based), for the report of rejected messages."""

    received_at: datetime
    device_id: str
    kind: str
    payload: Mapping[str, Any]
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Recording:
    """``messages`` ordered by ``received_at``; ``episodes`` is ``None`` when the ground
    truth is unknown (then only the nurse's burden can be evaluated)."""

    start: datetime
    days: int
    device_ids: tuple[str, ...]
    messages: Iterable[RecordedMessage]
    plan: MeasurementPlan
    episodes: tuple[Episode, ...] | None = None
    # the personal baselines in force per device, when known (the clinic's own history);
    # ``None``: the replay takes them from the run-in as the alerts service does
    baselines: Mapping[str, Mapping[str, float]] | None = None

    @property
    def run_in_days(self) -> int:
        return self.plan.run_in.days if self.plan.run_in is not None else 0
