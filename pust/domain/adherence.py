"""Adherence: of the plan's slots in a period that are decided (met or missed; not paused,
not still in their grace), how many were met. The same slot rule as the blue alarm
(:func:`pust.domain.missed_measurements.decide_slot`), so the overview and the alerts agree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pust.domain.missed_measurements import Pause, SlotStatus, decide_slot, slots_between
from pust.domain.plans import MeasurementPlan


@dataclass(frozen=True, slots=True)
class Adherence:
    met: int
    due: int  # met + missed; paused and pending slots do not count

    @property
    def percent(self) -> int | None:
        return None if self.due == 0 else round(100 * self.met / self.due)


def adherence(
    plan: MeasurementPlan,
    *,
    now: datetime,
    days: int,
    submissions: Sequence[datetime],
    pauses: Iterable[Pause] = (),
    not_before: datetime | None = None,
) -> Adherence:
    start = now - timedelta(days=days)
    paused = list(pauses)
    met = missed = 0
    for slot in slots_between(plan, start, now, not_before=not_before):
        status = decide_slot(
            slot, grace=plan.grace, now=now, submissions=submissions, pauses=paused
        )
        if status is SlotStatus.MET:
            met += 1
        elif status is SlotStatus.MISSED:
            missed += 1
    return Adherence(met=met, due=met + missed)
