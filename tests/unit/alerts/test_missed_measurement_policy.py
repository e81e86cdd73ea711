"""The pure policy: a missed slot → reminder, task, or nothing."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pust.domain.clock import FrozenClock
from pust.domain.missed_measurement_policy import (
    DEFAULT_POLICY,
    DecidedSlot,
    InvalidPolicyError,
    MissedMeasurementPolicy,
    RecentAlert,
    decide_missed_slot,
    parse_policy,
    policy_errors,
    reminded_text_da,
)
from pust.domain.missed_measurements import SlotStatus
from pust.domain.notices import NoticeKind, missed_slot_notice
from pust.domain.severity import Severity

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY_0800 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 local
DAY = timedelta(days=1)
MISSED, MET, PAUSED = SlotStatus.MISSED, SlotStatus.MET, SlotStatus.PAUSED


def _decide(
    slots: list[tuple[datetime, SlotStatus]],
    *,
    clock: FrozenClock,
    last_submission_at: datetime | None = None,
    alerts: tuple[RecentAlert, ...] = (),
    policy: MissedMeasurementPolicy = DEFAULT_POLICY,
) -> tuple[bool, bool, int, int, str | None]:
    history = [DecidedSlot(at, status) for at, status in slots]
    decision = decide_missed_slot(
        history[-1],
        history=history,
        last_submission_at=last_submission_at,
        recent_alerts=alerts,
        policy=policy,
        zone=CPH,
        now=clock.now(),
    )
    return (
        decision.remind,
        decision.task,
        decision.missed_slots,
        decision.missed_days,
        decision.task_because,
    )


def test_first_missed_day_is_a_reminder_only() -> None:
    clock = FrozenClock(MONDAY_0800 + timedelta(hours=2, minutes=1))
    slots = [(MONDAY_0800 - DAY, MET), (MONDAY_0800, MISSED)]
    assert _decide(slots, clock=clock) == (True, False, 1, 1, None)


def test_second_consecutive_missed_day_is_a_task() -> None:
    clock = FrozenClock(MONDAY_0800 + DAY + timedelta(hours=3))
    slots = [(MONDAY_0800 - DAY, MET), (MONDAY_0800, MISSED), (MONDAY_0800 + DAY, MISSED)]
    assert _decide(slots, clock=clock) == (True, True, 2, 2, "days")


def test_three_slots_on_a_twice_daily_plan_is_a_task() -> None:
    evening = MONDAY_0800 + timedelta(hours=10)
    slots = [
        (MONDAY_0800 - timedelta(hours=14), MET),  # Sunday 18:00
        (MONDAY_0800, MISSED),
        (evening, MISSED),
    ]
    clock = FrozenClock(evening + timedelta(hours=3))
    assert _decide(slots, clock=clock) == (True, False, 2, 1, None)
    slots.append((MONDAY_0800 + DAY, MISSED))
    clock.set(MONDAY_0800 + DAY + timedelta(hours=3))
    assert _decide(slots, clock=clock) == (True, True, 3, 2, "slots")


def test_a_day_with_one_met_slot_is_not_a_missed_day() -> None:
    evening = MONDAY_0800 + timedelta(hours=10)
    slots = [(MONDAY_0800, MET), (evening, MISSED), (MONDAY_0800 + DAY, MISSED)]
    clock = FrozenClock(MONDAY_0800 + DAY + timedelta(hours=3))
    policy = MissedMeasurementPolicy(task_after_slots=0, task_after_days=1)
    # Monday is not missed (08:00 was met); Tuesday's only slot so far is missed
    assert _decide(slots, clock=clock, policy=policy) == (True, True, 2, 1, "days")


def test_a_late_measurement_after_the_reminder_clears_the_run() -> None:
    slots = [(MONDAY_0800, MISSED), (MONDAY_0800 + DAY, MISSED)]
    clock = FrozenClock(MONDAY_0800 + DAY + timedelta(hours=3))
    late = MONDAY_0800 + timedelta(hours=4)  # after Monday's reminder
    assert _decide(slots, clock=clock, last_submission_at=late) == (True, False, 1, 1, None)


def test_a_measurement_after_the_slot_but_before_the_sweep_means_nothing() -> None:
    slots = [(MONDAY_0800 - DAY, MISSED), (MONDAY_0800, MISSED)]
    clock = FrozenClock(MONDAY_0800 + timedelta(hours=5))
    late = MONDAY_0800 + timedelta(hours=4)
    assert _decide(slots, clock=clock, last_submission_at=late) == (False, False, 0, 0, None)


def test_recent_yellow_or_red_makes_the_first_miss_a_task() -> None:
    clock = FrozenClock(MONDAY_0800 + timedelta(hours=3))
    slots = [(MONDAY_0800, MISSED)]
    yellow = RecentAlert(clock.now() - timedelta(hours=23), Severity.YELLOW)
    assert _decide(slots, clock=clock, alerts=(yellow,)) == (True, True, 1, 1, "recent_alert")
    old_red = RecentAlert(clock.now() - timedelta(hours=25), Severity.RED)
    assert _decide(slots, clock=clock, alerts=(old_red,)) == (True, False, 1, 1, None)
    green = RecentAlert(clock.now() - timedelta(hours=1), Severity.GREEN)
    assert _decide(slots, clock=clock, alerts=(green,))[1] is False
    off = MissedMeasurementPolicy(recent_alert_hours=0)
    assert _decide(slots, clock=clock, alerts=(yellow,), policy=off)[1] is False


def test_a_pause_ends_the_run_and_a_paused_slot_is_neither_reminded_nor_tasked() -> None:
    clock = FrozenClock(MONDAY_0800 + DAY + timedelta(hours=3))
    slots = [(MONDAY_0800 - DAY, MISSED), (MONDAY_0800, PAUSED), (MONDAY_0800 + DAY, MISSED)]
    assert _decide(slots, clock=clock) == (True, False, 1, 1, None)
    assert _decide(slots[:2], clock=clock) == (False, False, 0, 0, None)


def test_task_every_slot_is_the_old_behaviour() -> None:
    clock = FrozenClock(MONDAY_0800 + timedelta(hours=3))
    policy = MissedMeasurementPolicy(task_after_slots=1, task_after_days=0)
    assert _decide([(MONDAY_0800, MISSED)], clock=clock, policy=policy)[:2] == (True, True)


def test_policy_document_round_trip_and_field_errors() -> None:
    assert parse_policy(None) == DEFAULT_POLICY
    assert parse_policy(DEFAULT_POLICY.to_document()) == DEFAULT_POLICY
    errors = policy_errors(
        {"task_after_slots": "tre", "task_after_days": -1, "recent_alert_hours": 10_000}
    )
    assert set(errors) == {"task_after_slots", "task_after_days", "recent_alert_hours"}
    assert "helt tal" in errors["task_after_slots"]
    both_off = {"task_after_slots": 0, "task_after_days": 0, "recent_alert_hours": 72}
    with pytest.raises(InvalidPolicyError) as raised:
        parse_policy(both_off)
    assert set(raised.value.errors) == {"task_after_slots"}


def test_reminder_notice_is_danish_once_per_slot_and_of_kind_message() -> None:
    citizen = uuid.uuid4()
    now = MONDAY_0800 + timedelta(hours=2, minutes=1)
    notice = missed_slot_notice(citizen_id=citizen, due_at=MONDAY_0800, now=now, zone=CPH)
    again = missed_slot_notice(citizen_id=citizen, due_at=MONDAY_0800, now=now, zone=CPH)
    assert notice.kind is NoticeKind.MESSAGE
    assert notice.text == "Du mangler at måle i dag (kl. 08:00). Mål venligst, når du kan."
    assert notice.notice_id == again.notice_id
    payload = notice.payload(sent_at=now)
    assert set(payload) == {"notice_id", "sent_at", "kind", "text"}
    next_day = missed_slot_notice(citizen_id=citizen, due_at=MONDAY_0800, now=now + DAY, zone=CPH)
    assert next_day.text.startswith("Du mangler at måle 23.11. (kl. 08:00)")
    assert reminded_text_da(2) == "Påmindet 2 gange på tabletten"
    assert reminded_text_da(1) == "Påmindet 1 gang på tabletten"
