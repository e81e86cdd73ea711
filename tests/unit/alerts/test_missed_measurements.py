from datetime import UTC, date, datetime, timedelta

from pust.domain.missed_measurements import (
    Pause,
    SlotStatus,
    decide_slot,
    is_silent,
    missed_reason,
    slots_between,
)
from pust.domain.plans import MeasurementPlan, Schedule

GRACE = timedelta(hours=2)


def _plan(times: tuple[str, ...] = ("08:00", "18:00")) -> MeasurementPlan:
    return MeasurementPlan(
        starts_on=date(2026, 1, 1),
        measurements=("spo2",),  # type: ignore[arg-type]
        schedule=Schedule(weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), times=times),
        grace_minutes=120,
    )


def test_slot_met_within_grace_either_side() -> None:
    due = datetime(2026, 11, 23, 7, tzinfo=UTC)
    now = due + timedelta(hours=3)
    for offset in (-2, -1, 0, 2):
        at = due + timedelta(hours=offset)
        assert decide_slot(due, grace=GRACE, now=now, submissions=[at], pauses=[]) is SlotStatus.MET
    late = due + timedelta(hours=2, minutes=1)
    assert (
        decide_slot(due, grace=GRACE, now=now, submissions=[late], pauses=[]) is SlotStatus.MISSED
    )


def test_slot_is_pending_until_the_grace_has_passed() -> None:
    due = datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert (
        decide_slot(due, grace=GRACE, now=due + GRACE, submissions=[], pauses=[])
        is SlotStatus.PENDING
    )
    assert (
        decide_slot(
            due, grace=GRACE, now=due + GRACE + timedelta(seconds=1), submissions=[], pauses=[]
        )
        is SlotStatus.MISSED
    )


def test_pause_suppresses_including_open_ended() -> None:
    due = datetime(2026, 11, 23, 7, tzinfo=UTC)
    now = due + timedelta(days=1)
    admitted = Pause(due - timedelta(days=1), None)
    holiday_over = Pause(due - timedelta(days=10), due - timedelta(days=1))
    assert (
        decide_slot(due, grace=GRACE, now=now, submissions=[], pauses=[admitted])
        is SlotStatus.PAUSED
    )
    assert (
        decide_slot(due, grace=GRACE, now=now, submissions=[], pauses=[holiday_over])
        is SlotStatus.MISSED
    )


def test_spring_forward_day_has_both_slots_at_local_times() -> None:
    plan = _plan()
    slots = slots_between(
        plan, datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)
    )
    local = [s.astimezone(plan.zone).strftime("%H:%M %Z") for s in slots]
    assert local == ["08:00 CEST", "18:00 CEST"]
    assert slots[0] == datetime(2026, 3, 29, 6, tzinfo=UTC)


def test_fall_back_day_has_both_slots_once() -> None:
    plan = _plan(("02:30", "18:00"))
    slots = slots_between(
        plan, datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)
    )
    assert slots == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 17, tzinfo=UTC),
    ]


def test_plan_does_not_reach_back_before_it_was_made() -> None:
    plan = _plan()
    made = datetime(2026, 11, 23, 10, tzinfo=UTC)
    slots = slots_between(
        plan, made - timedelta(days=1), made + timedelta(hours=12), not_before=made
    )
    assert slots == [datetime(2026, 11, 23, 17, tzinfo=UTC)]


def test_missed_reason_text_is_local_time() -> None:
    reason = missed_reason(datetime(2026, 6, 1, 6, tzinfo=UTC), _plan())
    assert reason["text_da"] == "Planlagt måling 1.6. kl. 08:00 er ikke modtaget"


def test_silent_tablet_threshold() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    since = now - timedelta(days=30)
    threshold = timedelta(hours=24)
    assert not is_silent(now - timedelta(hours=23), since=since, now=now, threshold=threshold)
    assert is_silent(now - timedelta(hours=24), since=since, now=now, threshold=threshold)
    assert not is_silent(None, since=now - timedelta(hours=1), now=now, threshold=threshold)
    assert is_silent(None, since=since, now=now, threshold=threshold)
