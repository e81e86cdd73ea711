"""Adherence counts the plan's decided slots: met ones against met plus missed; a paused
slot or one still in its grace does not count against the citizen."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pust.domain.adherence import adherence
from pust.domain.missed_measurements import Pause
from pust.domain.plans import default_plan

# Wednesday 2 December 2026, 12:00 UTC; the plan's run-in (08:00 and 18:00 local) is over
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PLAN = default_plan(starts_on=date(2026, 11, 1))  # after run-in: Monday and Thursday 09:00


def test_met_and_missed_slots_of_the_last_seven_days() -> None:
    # the last 7 days hold Thursday 26 Nov and Monday 30 Nov, 09:00 local (08:00 UTC)
    thursday = datetime(2026, 11, 26, 8, 5, tzinfo=UTC)
    result = adherence(PLAN, now=NOW, days=7, submissions=[thursday])
    assert (result.met, result.due, result.percent) == (1, 2, 50)


def test_a_paused_slot_does_not_count() -> None:
    pause = Pause(starts_at=datetime(2026, 11, 29, tzinfo=UTC), ends_at=None)
    result = adherence(PLAN, now=NOW, days=7, submissions=[], pauses=[pause])
    assert (result.met, result.due) == (0, 1)


def test_no_slot_is_no_percentage() -> None:
    result = adherence(PLAN, now=NOW, days=1, submissions=[])
    assert result.due == 0 and result.percent is None
