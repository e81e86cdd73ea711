"""Citizen first for missed measurements: what a missed slot becomes.

A missed slot (:func:`pust.domain.missed_measurements.decide_slot` said ``missed``) first
becomes a **reminder** on the citizen's tablet. The nurse gets a blue **task** only when the
citizen has now missed ``task_after_slots`` consecutive slots or ``task_after_days``
consecutive whole days, or at once when the citizen had a yellow or red alert within the
last ``recent_alert_hours`` (a sick citizen who stops measuring is the case that matters).

"Consecutive" counts back from the slot just missed over the citizen's decided slots:

- a met slot ends the run;
- a paused slot ends it too (admission, holiday: after the pause the count starts afresh);
- any valid submission after a missed slot (a late measurement after the reminder) ends it:
  the citizen has measured, the reminder did its work.

A day counts as missed when every one of its slots decided so far is in the run. A paused slot (or
one not missed) is neither reminded nor tasked: :func:`decide_missed_slot` returns nothing.

The policy is data per care team (:class:`MissedMeasurementPolicy`, versioned in the
database); this module is pure and is called by the alerts service's missed-measurement
sweep and by ``pust evaluate``'s replay alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pust.domain.missed_measurements import SlotStatus
from pust.domain.severity import Severity

# bounds an administrator may choose (field-level errors outside them)
MAX_SLOTS = 20
MAX_DAYS = 14
MAX_RECENT_HOURS = 24 * 14


@dataclass(frozen=True, slots=True)
class MissedMeasurementPolicy:
    """When a missed slot becomes a nurse's task. ``0`` switches a criterion off."""

    task_after_slots: int = 3
    task_after_days: int = 2
    # 24 h, not 72: under the starting rules (≈ 2.3 reading alerts per citizen-week, most
    # outside any exacerbation) 72 h makes almost every miss a task (pust evaluate, seed 1:
    # 0.73 blue tasks per citizen-week with 72 h, 0.23 with 24 h)
    recent_alert_hours: int = 24

    def to_document(self) -> dict[str, Any]:
        return {
            "task_after_slots": self.task_after_slots,
            "task_after_days": self.task_after_days,
            "recent_alert_hours": self.recent_alert_hours,
        }


DEFAULT_POLICY = MissedMeasurementPolicy()
# the behaviour before reminders: every missed slot is a nurse's task
TASK_EVERY_SLOT = MissedMeasurementPolicy(task_after_slots=1, task_after_days=0)


class InvalidPolicyError(ValueError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


_BOUNDS = {
    "task_after_slots": (MAX_SLOTS, "Antal udeblevne målinger"),
    "task_after_days": (MAX_DAYS, "Antal dage uden måling"),
    "recent_alert_hours": (MAX_RECENT_HOURS, "Timer tilbage for gul/rød"),
}


def policy_errors(document: Mapping[str, Any]) -> dict[str, str]:
    """Every problem with a policy document, by field, in Danish (empty: it is valid)."""
    errors: dict[str, str] = {}
    for field, (maximum, label) in _BOUNDS.items():
        value = document.get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[field] = f"{label}: skriv et helt tal"
        elif not 0 <= value <= maximum:
            errors[field] = f"{label}: skal være mellem 0 og {maximum}"
    both_off = document.get("task_after_slots") == 0 and document.get("task_after_days") == 0
    if not errors and both_off:
        errors["task_after_slots"] = (
            "Mindst én grænse skal være over 0, ellers får sygeplejersken aldrig en opgave"
        )
    return errors


def parse_policy(document: Mapping[str, Any] | None) -> MissedMeasurementPolicy:
    """The stored document → a policy; ``None`` → the default. Raises
    :class:`InvalidPolicyError` listing every problem."""
    if document is None:
        return DEFAULT_POLICY
    errors = policy_errors(document)
    if errors:
        raise InvalidPolicyError(errors)
    return MissedMeasurementPolicy(
        task_after_slots=int(document["task_after_slots"]),
        task_after_days=int(document["task_after_days"]),
        recent_alert_hours=int(document["recent_alert_hours"]),
    )


@dataclass(frozen=True, slots=True)
class DecidedSlot:
    """One of the citizen's decided slots (met, missed or paused)."""

    due_at: datetime
    status: SlotStatus


@dataclass(frozen=True, slots=True)
class RecentAlert:
    """A reading or questionnaire alert the citizen had: when it was last seen, how bad."""

    at: datetime
    severity: Severity


@dataclass(frozen=True, slots=True)
class MissedSlotDecision:
    remind: bool  # a reminder on the citizen's tablet
    task: bool  # a blue task for the nurse
    missed_slots: int  # consecutive missed slots, this one included
    missed_days: int  # consecutive whole days missed
    # why a task, for the nurse: "slots", "days", "recent_alert"; None when no task
    task_because: str | None = None


NOTHING = MissedSlotDecision(remind=False, task=False, missed_slots=0, missed_days=0)


def missed_run(
    slot: DecidedSlot,
    history: Iterable[DecidedSlot],
    *,
    last_submission_at: datetime | None,
) -> list[DecidedSlot]:
    """The consecutive missed slots ending with ``slot`` (oldest first)."""
    earlier = sorted((s for s in history if s.due_at < slot.due_at), key=lambda s: s.due_at)
    run = [slot]
    for previous in reversed(earlier):
        if previous.status is not SlotStatus.MISSED:
            break
        if last_submission_at is not None and previous.due_at <= last_submission_at:
            break  # measured since: the reminder did its work
        run.append(previous)
    run.reverse()
    return run


def _missed_days(run: Sequence[DecidedSlot], history: Iterable[DecidedSlot], zone: ZoneInfo) -> int:
    in_run = {s.due_at for s in run}
    days_in_run = {s.due_at.astimezone(zone).date() for s in run}
    broken = {
        s.due_at.astimezone(zone).date()
        for s in history
        if s.due_at not in in_run and s.due_at.astimezone(zone).date() in days_in_run
    }
    return len(days_in_run - broken)


def decide_missed_slot(
    slot: DecidedSlot,
    *,
    history: Iterable[DecidedSlot],
    last_submission_at: datetime | None,
    recent_alerts: Iterable[RecentAlert],
    policy: MissedMeasurementPolicy,
    zone: ZoneInfo,
    now: datetime,
) -> MissedSlotDecision:
    """What the slot just decided becomes. ``history``: the citizen's other decided slots
    (any order; ``slot`` itself may be among them); ``last_submission_at``: the latest valid
    submission up to ``now``; ``recent_alerts``: the citizen's reading/questionnaire alerts."""
    if slot.status is not SlotStatus.MISSED:
        return NOTHING
    if last_submission_at is not None and last_submission_at >= slot.due_at:
        # measured after the slot but before it was decided (late, outside the grace)
        return NOTHING
    others = [s for s in history if s.due_at != slot.due_at]
    run = missed_run(slot, others, last_submission_at=last_submission_at)
    slots = len(run)
    days = _missed_days(run, [s for s in others if s.due_at <= slot.due_at], zone)
    because: str | None = None
    since = now - timedelta(hours=policy.recent_alert_hours)
    if policy.recent_alert_hours > 0 and any(
        a.severity in (Severity.YELLOW, Severity.RED) and since <= a.at <= now
        for a in recent_alerts
    ):
        because = "recent_alert"
    elif policy.task_after_slots > 0 and slots >= policy.task_after_slots:
        because = "slots"
    elif policy.task_after_days > 0 and days >= policy.task_after_days:
        because = "days"
    return MissedSlotDecision(
        remind=True,
        task=because is not None,
        missed_slots=slots,
        missed_days=days,
        task_because=because,
    )


def reminded_text_da(reminders: int) -> str:
    """For the nurse's worklist: the citizen has been reminded on the tablet."""
    if reminders <= 0:
        return ""
    return (
        "Påmindet 1 gang på tabletten"
        if reminders == 1
        else (f"Påmindet {reminders} gange på tabletten")
    )
