from datetime import UTC, date, datetime, timedelta

import pytest

from pust.domain.routing import (
    EscalationStep,
    InvalidRoutingPolicyError,
    OpeningInterval,
    Recipient,
    RoutingPolicy,
    default_routing_policy,
    first_escalation_at,
    following_escalation_at,
    is_open,
    next_opening,
    parse_routing_policy,
)

LEAD = Recipient(channel="email", address="lead@example.org")
ONCALL = Recipient(channel="webhook", address="https://vagt.example.org/hook")


def _policy(mode: str = "queue") -> RoutingPolicy:
    hours = (OpeningInterval(opens="08:00", closes="15:30"),)
    return RoutingPolicy(
        opening_hours={d: hours for d in ("mon", "tue", "wed", "thu", "fri")},  # type: ignore[misc]
        holidays=(date(2026, 12, 24),),
        escalation={
            "red": (
                EscalationStep(name="team lead", after_minutes=120, recipients=(LEAD,)),
                EscalationStep(name="on-call", after_minutes=240, recipients=(ONCALL,)),
            )
        },
        out_of_hours=mode,  # type: ignore[arg-type]
        on_call=(ONCALL,),
    )


def test_opening_hours_in_local_time_and_holidays() -> None:
    policy = _policy()
    assert is_open(policy, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Mon 08:00 CET
    assert not is_open(policy, datetime(2026, 11, 23, 6, 59, tzinfo=UTC))
    assert not is_open(policy, datetime(2026, 11, 23, 14, 30, tzinfo=UTC))  # 15:30 closes
    assert not is_open(policy, datetime(2026, 12, 24, 9, 0, tzinfo=UTC))  # holiday
    # summer time: 08:00 CEST is 06:00 UTC
    assert is_open(policy, datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert next_opening(policy, friday_evening) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_queue_mode_waits_for_opening_and_steps_follow_each_other() -> None:
    policy = _policy("queue")
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    first = first_escalation_at(policy, ladder="red", opened_at=saturday)
    assert first == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 08:00 CET + 2 h
    assert first is not None
    second = following_escalation_at(policy, ladder="red", level=1, previous_due=first)
    assert second == first + timedelta(hours=2)
    assert following_escalation_at(policy, ladder="red", level=2, previous_due=first) is None
    # a step that would fall after closing waits for the next morning
    late = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Mon 14:00 CET; +2 h = 16:00, closed
    assert first_escalation_at(policy, ladder="red", opened_at=late) == datetime(
        2026, 11, 24, 7, 0, tzinfo=UTC
    )


def test_on_call_mode_uses_wall_clock() -> None:
    policy = _policy("on_call")
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert first_escalation_at(policy, ladder="red", opened_at=saturday) == saturday + timedelta(
        hours=2
    )
    assert first_escalation_at(policy, ladder="yellow", opened_at=saturday) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"escalation": {"red": [{"name": "lead", "after_minutes": 60, "recipients": []}]}},
            "at least one recipient",
        ),
        ({"opening_hours": {"mon": [{"opens": "16:00", "closes": "08:00"}]}}, "not before closing"),
        ({"opening_hours": {"mon": [{"opens": "25:00", "closes": "26:00"}]}}, "does not exist"),
        ({"out_of_hours": "on_call", "on_call": []}, "on-call recipient"),
        (
            {
                "escalation": {
                    "red": [
                        {
                            "name": "a",
                            "after_minutes": 60,
                            "recipients": [{"channel": "email", "address": "nobody"}],
                        }
                    ]
                }
            },
            "not an address",
        ),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_policies_are_rejected(change: dict[str, object], message: str) -> None:
    document = default_routing_policy().to_json() | change
    with pytest.raises(InvalidRoutingPolicyError, match=message):
        parse_routing_policy(document)
