import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pust.domain.plans import (
    InvalidPlanError,
    MeasurementPlan,
    Schedule,
    default_plan,
    due_times,
    parse_local_time,
    parse_plan,
    tablet_payload,
)
from pust.domain.questionnaires import QUESTIONNAIRES


def test_default_plan_is_twice_daily_in_run_in_then_twice_weekly() -> None:
    plan = default_plan(starts_on=date(2026, 11, 2))  # a Monday
    run_in = due_times(plan, datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))
    assert len(run_in) == 28
    regular = due_times(
        plan, datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    )
    assert len(regular) == 4
    # 09:00 Copenhagen in winter is 08:00 UTC, Monday and Thursday
    assert [d.isoformat() for d in regular[:2]] == [
        "2026-11-16T08:00:00+00:00",
        "2026-11-19T08:00:00+00:00",
    ]


def test_plan_round_trips_through_json() -> None:
    plan = default_plan(starts_on=date(2026, 11, 2), version=3)
    assert parse_plan(json.loads(json.dumps(plan.to_json()))) == plan


@pytest.mark.parametrize("text", ["24:00", "12:60", "7:05", "0700", "ab:cd", "-1:00"])
def test_impossible_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_local_time(text)
    document = default_plan(starts_on=date(2026, 11, 2)).to_json()
    document["schedule"]["times"] = [text]
    with pytest.raises(InvalidPlanError) as caught:
        parse_plan(document)
    assert "schedule.times" in caught.value.problems[0]


def test_unknown_zone_questionnaire_and_type_are_rejected() -> None:
    document = default_plan(starts_on=date(2026, 11, 2)).to_json()
    document["timezone"] = "Europe/Atlantis"
    document["questionnaires"] = ["nope"]
    document["measurements"] = ["glucose"]
    with pytest.raises(InvalidPlanError) as caught:
        parse_plan(document)
    assert len(caught.value.problems) == 3


def test_reminder_after_grace_is_rejected() -> None:
    document = default_plan(starts_on=date(2026, 11, 2)).to_json()
    document["reminder_minutes"] = [0, 500]
    with pytest.raises(InvalidPlanError, match="outside the grace period"):
        parse_plan(document)


def _daily(times: tuple[str, ...]) -> MeasurementPlan:
    return MeasurementPlan(
        starts_on=date(2026, 1, 1),
        measurements=("spo2",),  # type: ignore[arg-type]
        schedule=Schedule(weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), times=times),
    )


def test_spring_forward_gap_time_is_due_once_shifted_forward() -> None:
    plan = _daily(("02:30", "08:00"))
    # 2026-03-29 is the last Sunday of March: 02:00 CET jumps to 03:00 CEST
    due = due_times(plan, datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))
    assert [d.isoformat() for d in due] == [
        "2026-03-29T01:30:00+00:00",  # 03:30 CEST
        "2026-03-29T06:00:00+00:00",  # 08:00 CEST
    ]


def test_autumn_fold_time_is_due_once() -> None:
    plan = _daily(("02:30", "08:00"))
    # 2026-10-25 is the last Sunday of October: 02:00-03:00 happens twice
    due = due_times(
        plan, datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 22, tzinfo=UTC)
    )
    assert [d.isoformat() for d in due] == [
        "2026-10-25T00:30:00+00:00",  # first 02:30 (CEST)
        "2026-10-25T07:00:00+00:00",  # 08:00 CET
    ]


@given(st.integers(min_value=0, max_value=400))
def test_every_day_has_each_slot_exactly_once(offset: int) -> None:
    plan = _daily(("02:30", "08:00", "20:00"))
    day = date(2026, 1, 1).toordinal() + offset
    start = datetime.fromordinal(day).replace(tzinfo=UTC)
    due = due_times(plan, start, start.replace(year=start.year + 1))
    local_days: dict[date, int] = {}
    for instant in due:
        local = instant.astimezone(plan.zone).date()
        local_days[local] = local_days.get(local, 0) + 1
    inner = list(local_days.values())[1:-1]
    assert all(count == 3 for count in inner)


def test_tablet_payload_carries_the_danish_questionnaire() -> None:
    plan = default_plan(starts_on=date(2026, 11, 2))
    payload = tablet_payload(plan, 7, QUESTIONNAIRES)
    assert payload["version"] == 7
    assert payload["phases"][0] == {
        "name": "run_in",
        "from": "2026-11-02",
        "until": "2026-11-16",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "times": ["08:00", "18:00"],
    }
    definition = payload["questionnaire_definitions"][0]
    assert definition["items"][0]["text_da"] == "Har du mere åndenød, end du plejer?"
    json.dumps(payload)
    with pytest.raises(ValueError, match="kol-symptoms-v1"):
        tablet_payload(plan, 7, [])
