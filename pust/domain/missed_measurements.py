"""Missed measurements (the "blue" alarm) and silent tablets.

A plan's due time is a *slot*. A slot is met by any valid submission (a reading of a planned
type or a planned questionnaire) within ``grace`` before or after it; once the grace after
it has passed without one, it is missed — unless a pause period (admission, holiday) covers
it. Slots come from :func:`pust.domain.plans.due_times`, which is DST-safe.

A silent tablet (no status, presence or data for N hours) is a different problem — the
device, not the citizen — and raises a separate alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pust.domain.plans import MeasurementPlan, due_times

MISSED_RULE = "plan.missed"
SILENT_RULE = "device.silent"


class SlotStatus(StrEnum):
    PENDING = "pending"  # not yet decided: the grace period is still running
    MET = "met"
    MISSED = "missed"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Pause:
    starts_at: datetime
    ends_at: datetime | None  # None: until further notice

    def covers(self, instant: datetime) -> bool:
        return self.starts_at <= instant and (self.ends_at is None or instant < self.ends_at)


def is_paused(instant: datetime, pauses: Iterable[Pause]) -> bool:
    return any(pause.covers(instant) for pause in pauses)


def slots_between(
    plan: MeasurementPlan, start: datetime, end: datetime, *, not_before: datetime | None = None
) -> list[datetime]:
    """Due times in ``[start, end)``; none before ``not_before`` (a plan does not reach back
    before it was made)."""
    if not_before is not None:
        start = max(start, not_before)
    if start >= end:
        return []
    return due_times(plan, start, end)


def submission_window(due_at: datetime, grace: timedelta) -> tuple[datetime, datetime]:
    """Submissions in ``[due - grace, due + grace]`` meet the slot."""
    return due_at - grace, due_at + grace


def decide_slot(
    due_at: datetime,
    *,
    grace: timedelta,
    now: datetime,
    submissions: Sequence[datetime],
    pauses: Iterable[Pause],
) -> SlotStatus:
    start, end = submission_window(due_at, grace)
    if any(start <= at <= end for at in submissions):
        return SlotStatus.MET
    if is_paused(due_at, pauses):
        return SlotStatus.PAUSED
    if now <= end:
        return SlotStatus.PENDING
    return SlotStatus.MISSED


def missed_reason(due_at: datetime, plan: MeasurementPlan) -> dict[str, object]:
    local = due_at.astimezone(plan.zone)
    return {
        "rule": MISSED_RULE,
        "severity": "blue",
        "due_at": due_at.isoformat(),
        "text_da": (
            f"Planlagt måling {local.day}.{local.month}. kl. {local:%H:%M} er ikke modtaget"
        ),
    }


def is_silent(
    last_seen_at: datetime | None, *, since: datetime, now: datetime, threshold: timedelta
) -> bool:
    """No status, presence or data for ``threshold``. ``since`` (the assignment, or the
    enrolment) is where the silence starts counting for a tablet never heard from."""
    heard = max(last_seen_at, since) if last_seen_at is not None else since
    return now - heard >= threshold


def silent_reason(last_seen_at: datetime | None, threshold: timedelta) -> dict[str, object]:
    hours = int(threshold.total_seconds() // 3600)
    return {
        "rule": SILENT_RULE,
        "severity": "silent",
        "last_seen_at": last_seen_at.isoformat() if last_seen_at else None,
        "threshold_hours": hours,
        "text_da": f"Tabletten har ikke meldt sig i {hours} timer eller mere",
    }
