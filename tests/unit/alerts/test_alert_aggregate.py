"""The alert aggregate, action by action (no database)."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pust.domain import alert_aggregate as agg
from pust.domain.alert_aggregate import AlertState, Breach
from pust.domain.alert_lifecycle import (
    AlreadyClaimedError,
    AlreadyOpenError,
    EventKind,
    InvalidTransitionError,
    Outcome,
)
from pust.domain.routing import EscalationStep, Recipient, RoutingPolicy, default_routing_policy
from pust.domain.severity import AlertKind, AlertStatus, Severity

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
A, B = uuid.uuid4(), uuid.uuid4()
CITIZEN, TEAM = uuid.uuid4(), uuid.uuid4()
POLICY = default_routing_policy()
LEAD = Recipient(channel="email", address="lead@example.org")
LADDERS = RoutingPolicy(
    opening_hours={},
    out_of_hours="queue",
    escalation={
        "yellow": (EscalationStep(name="lead", after_minutes=240, recipients=(LEAD,)),),
        "red": (
            EscalationStep(name="lead", after_minutes=60, recipients=(LEAD,)),
            EscalationStep(name="on call", after_minutes=120, recipients=(LEAD, LEAD)),
        ),
    },
)


def breach(severity: Severity = Severity.YELLOW, minutes: int = 0, reading: int = 1) -> Breach:
    return Breach(
        citizen_id=CITIZEN,
        care_team_id=TEAM,
        kind=AlertKind.READING,
        rule_key="spo2.absolute",
        severity=severity,
        observed_at=NOW + timedelta(minutes=minutes),
        value=86,
        reading_id=reading,
    )


def opened(severity: Severity = Severity.YELLOW, policy: RoutingPolicy = POLICY) -> AlertState:
    return agg.raise_or_repeat(None, breach(severity), now=NOW, policy=policy).state


def test_a_breach_opens_an_alert_with_one_event() -> None:
    transition = agg.raise_or_repeat(None, breach(), now=NOW, policy=POLICY)
    assert transition.state.status is AlertStatus.OPEN
    assert transition.state.open_key == f"{CITIZEN}:spo2.absolute"
    assert [e.kind for e in transition.events] == [EventKind.OPENED]


def test_the_same_reading_twice_changes_nothing() -> None:
    state = opened()
    again = agg.raise_or_repeat(state, breach(), now=NOW, policy=POLICY)
    assert again.state == state and again.events == ()


def test_a_repeat_keeps_the_highest_severity_and_the_newest_reading() -> None:
    state = agg.raise_or_repeat(
        opened(Severity.RED), breach(Severity.YELLOW, 5, 2), now=NOW, policy=POLICY
    )
    assert state.event is EventKind.REPEATED
    assert (state.state.severity, state.state.count, state.state.last_reading_id) == (
        Severity.RED,
        2,
        2,
    )
    older = agg.raise_or_repeat(state.state, breach(Severity.RED, -5, 3), now=NOW, policy=POLICY)
    assert older.state.last_reading_id == 2  # an older reading is counted, not "latest"


@pytest.mark.parametrize(
    ("held", "new", "back"),
    [
        (Severity.YELLOW, Severity.RED, True),
        (Severity.YELLOW, Severity.YELLOW, False),
        (Severity.RED, Severity.YELLOW, False),
    ],
)
def test_an_acknowledged_alert_goes_back_to_open_only_when_worse(
    held: Severity, new: Severity, back: bool
) -> None:
    acked = agg.acknowledge(opened(held), actor_id=A, now=NOW, note="ringet").state
    repeat = agg.raise_or_repeat(acked, breach(new, 1, 2), now=NOW, policy=POLICY)
    assert (repeat.event is EventKind.REOPENED) is back
    if back:
        assert repeat.state.status is AlertStatus.OPEN
        assert (repeat.state.acknowledged_by, repeat.state.acknowledge_note) == (None, None)
    else:
        assert repeat.state.acknowledged_by == A


def test_a_worse_repeat_moves_to_the_faster_ladder() -> None:
    state = opened(Severity.YELLOW, LADDERS)
    assert state.next_escalation_at == NOW + timedelta(minutes=240)
    worse = agg.raise_or_repeat(state, breach(Severity.RED, 1, 2), now=NOW, policy=LADDERS)
    assert worse.state.next_escalation_at == NOW + timedelta(minutes=60)


def test_claim_rules() -> None:
    state = opened()
    mine = agg.claim(state, actor_id=A, now=NOW)
    assert mine.state.claimed_by == A and mine.event is EventKind.CLAIMED
    assert agg.claim(mine.state, actor_id=A, now=NOW).events == ()
    with pytest.raises(AlreadyClaimedError):
        agg.claim(mine.state, actor_id=B, now=NOW)
    taken = agg.claim(mine.state, actor_id=B, now=NOW, take_over=True)
    assert taken.events[0].detail == {"taken_over_from": str(A)}
    resolved = agg.resolve(state, actor_id=A, now=NOW, outcome=Outcome.OTHER, note=None).state
    with pytest.raises(InvalidTransitionError):
        agg.claim(resolved, actor_id=A, now=NOW)


def test_acknowledge_stops_escalation_and_claims() -> None:
    state = opened(Severity.RED, LADDERS)
    acked = agg.acknowledge(state, actor_id=A, now=NOW).state
    assert (acked.status, acked.claimed_by, acked.next_escalation_at) == (
        AlertStatus.ACKNOWLEDGED,
        A,
        None,
    )
    assert acked.lock_version == state.lock_version + 1
    with pytest.raises(InvalidTransitionError):
        agg.acknowledge(acked, actor_id=B, now=NOW)


def test_resolve_rules() -> None:
    state = opened()
    resolved = agg.resolve(state, actor_id=A, now=NOW, outcome=Outcome.OTHER, note="ok").state
    assert (resolved.resolved_by, resolved.outcome, resolved.acknowledged_by) == (
        A,
        Outcome.OTHER,
        A,
    )
    assert resolved.open_key is None
    with pytest.raises(InvalidTransitionError):
        agg.resolve(resolved, actor_id=A, now=NOW, outcome=Outcome.OTHER, note=None)
    with pytest.raises(InvalidTransitionError, match="for the system"):
        agg.resolve(state, actor_id=A, now=NOW, outcome=Outcome.AUTO_RESOLVED, note=None)


def test_reopen_rules() -> None:
    resolved = agg.resolve(opened(), actor_id=A, now=NOW, outcome=Outcome.OTHER, note="x").state
    reopened = agg.reopen(
        resolved, actor_id=B, now=NOW, reason="r", policy=POLICY, another_is_open=False
    )
    assert reopened.state.status is AlertStatus.OPEN and reopened.event is EventKind.REOPENED
    assert (reopened.state.acknowledged_by, reopened.state.outcome) == (None, None)
    with pytest.raises(AlreadyOpenError):
        agg.reopen(resolved, actor_id=B, now=NOW, reason="r", policy=POLICY, another_is_open=True)
    with pytest.raises(InvalidTransitionError):
        agg.reopen(
            reopened.state, actor_id=B, now=NOW, reason="r", policy=POLICY, another_is_open=False
        )


def test_only_a_recent_auto_resolution_reopens() -> None:
    auto = agg.auto_resolve(opened(), now=NOW).state
    assert agg.reopens_after_resolution(auto, now=NOW + timedelta(hours=23))
    assert not agg.reopens_after_resolution(auto, now=NOW + timedelta(hours=25))
    late = agg.raise_or_repeat(auto, breach(minutes=25 * 60, reading=2), now=NOW, policy=POLICY)
    assert late.state.id == auto.id  # 25 h after the breach but 0 h after the resolution
    nurse = agg.resolve(opened(), actor_id=A, now=NOW, outcome=Outcome.OTHER, note=None).state
    assert not agg.reopens_after_resolution(nurse, now=NOW + timedelta(minutes=1))
    fresh = agg.raise_or_repeat(nurse, breach(reading=2), now=NOW, policy=POLICY)
    assert fresh.state.id != nurse.id and fresh.event is EventKind.OPENED


def test_the_system_reopen_clears_the_acknowledgement() -> None:
    """acknowledge → auto-resolve → a new breach: open, and not acknowledged."""
    acked = agg.acknowledge(opened(), actor_id=A, now=NOW, note="set").state
    auto = agg.auto_resolve(acked, now=NOW + timedelta(minutes=5)).state
    again = agg.raise_or_repeat(
        auto, breach(minutes=30, reading=2), now=NOW + timedelta(hours=1), policy=POLICY
    )
    assert again.event is EventKind.REOPENED and again.state.status is AlertStatus.OPEN
    assert (again.state.acknowledged_by, again.state.acknowledged_at) == (None, None)


def test_an_older_normal_value_does_not_auto_resolve() -> None:
    state = agg.raise_or_repeat(opened(), breach(minutes=10, reading=2), now=NOW, policy=POLICY)
    older = agg.auto_resolve(state.state, now=NOW, observed_at=NOW + timedelta(minutes=5))
    assert older.events == () and older.state.status is AlertStatus.OPEN


def test_escalation_climbs_the_ladder_without_touching_the_version() -> None:
    state = opened(Severity.RED, LADDERS)
    early = agg.escalate(state, now=NOW, policy=LADDERS)
    assert early.step is None and early.transition.events == ()
    first = agg.escalate(state, now=NOW + timedelta(hours=1), policy=LADDERS)
    assert first.step is not None and first.step.name == "lead"
    assert first.transition.state.escalation_level == 1
    assert first.transition.state.next_escalation_at == NOW + timedelta(minutes=120)
    assert first.transition.state.lock_version == state.lock_version
    second = agg.escalate(first.transition.state, now=NOW + timedelta(hours=2), policy=LADDERS)
    assert second.transition.state.next_escalation_at is None
    assert second.transition.events[0].detail["recipients"] == 2
    gone = agg.escalate(
        replace(state, escalation_level=5), now=NOW + timedelta(days=1), policy=LADDERS
    )
    assert gone.step is None and gone.transition.state.next_escalation_at is None
