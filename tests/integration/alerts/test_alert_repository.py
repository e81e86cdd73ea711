import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from pust.db.alert_repository import (
    Breach,
    acknowledge_alert,
    auto_resolve,
    claim_alert,
    raise_or_repeat,
    reopen_alert,
    resolve_alert,
)
from pust.db.engine import session_scope
from pust.db.tables import Alert, AlertEvent
from pust.domain.alert_lifecycle import (
    AlreadyClaimedError,
    AlreadyOpenError,
    EventKind,
    InvalidTransitionError,
    Outcome,
    StaleAlertError,
)
from pust.domain.routing import EscalationStep, Recipient, RoutingPolicy
from pust.domain.severity import AlertKind, AlertStatus, Severity

from .world import NOW, AlertsWorld, add_reading, seed


def _breach(
    world: AlertsWorld, severity: Severity, reading_id: int | None, minutes: int = 0
) -> Breach:
    return Breach(
        citizen_id=world.citizen_ids[0],
        care_team_id=world.team_id,
        kind=AlertKind.READING,
        rule_key="spo2.absolute",
        severity=severity,
        observed_at=NOW + timedelta(minutes=minutes),
        reasons=[{"rule": "spo2.absolute", "severity": severity.value}],
        value=86,
        reading_id=reading_id,
        limit_set_id=world.limit_set_id,
    )


def _reading(engine: Engine, world: AlertsWorld, minutes: int = 0) -> int:
    return add_reading(
        engine,
        world,
        type_="spo2",
        value=86,
        unit="%",
        measured_at=NOW + timedelta(minutes=minutes),
    )


def _events(engine: Engine, alert_id: uuid.UUID) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        ).all()
        return [row.kind for row in rows]


def test_repeats_update_one_open_alert(engine: Engine) -> None:
    world = seed(engine)
    first, second = _reading(engine, world), _reading(engine, world, 5)
    with session_scope(engine) as session:
        opened = raise_or_repeat(session, breach=_breach(world, Severity.YELLOW, first), now=NOW)
        assert opened.event is EventKind.OPENED
    with session_scope(engine) as session:
        again = raise_or_repeat(session, breach=_breach(world, Severity.YELLOW, first), now=NOW)
        assert again.event is None  # the same reading delivered twice
        repeat = raise_or_repeat(session, breach=_breach(world, Severity.RED, second, 5), now=NOW)
        assert repeat.event is EventKind.REPEATED
    with session_scope(engine) as session:
        alerts = session.exec(select(Alert)).all()
        assert len(alerts) == 1
        alert = alerts[0]
        assert (alert.count, alert.severity, alert.last_reading_id) == (2, "red", second)
        assert alert.last_seen_at == NOW + timedelta(minutes=5)
        assert alert.band_order == 0
    assert _events(engine, alert.id) == ["opened", "repeated"]


def test_acknowledge_claim_resolve_and_conflicts(engine: Engine) -> None:
    world = seed(engine)
    nurse_a, nurse_b = world.nurse_ids
    with session_scope(engine) as session:
        alert = raise_or_repeat(
            session, breach=_breach(world, Severity.RED, _reading(engine, world)), now=NOW
        ).alert
    version = alert.lock_version
    with session_scope(engine) as session:
        claimed = claim_alert(
            session, alert_id=alert.id, actor_id=nurse_a, now=NOW, expected_version=version
        )
        version = claimed.lock_version
    with session_scope(engine) as session, pytest.raises(AlreadyClaimedError):
        claim_alert(session, alert_id=alert.id, actor_id=nurse_b, now=NOW)
    with session_scope(engine) as session:
        acked = acknowledge_alert(
            session,
            alert_id=alert.id,
            actor_id=nurse_a,
            now=NOW,
            expected_version=version,
            note="ringet op",
        )
        assert acked.next_escalation_at is None
    # nurse B acknowledges on a stale screen
    with session_scope(engine) as session, pytest.raises(StaleAlertError):
        acknowledge_alert(
            session, alert_id=alert.id, actor_id=nurse_b, now=NOW, expected_version=version
        )
    with session_scope(engine) as session, pytest.raises(InvalidTransitionError):
        acknowledge_alert(session, alert_id=alert.id, actor_id=nurse_b, now=NOW)
    with session_scope(engine) as session:
        resolved = resolve_alert(
            session,
            alert_id=alert.id,
            actor_id=nurse_a,
            now=NOW,
            outcome=Outcome.CONTACTED_CITIZEN,
            note="ok",
        )
        assert resolved.open_key is None and resolved.status == "resolved"
    with session_scope(engine) as session, pytest.raises(InvalidTransitionError):
        resolve_alert(session, alert_id=alert.id, actor_id=nurse_a, now=NOW, outcome=Outcome.OTHER)
    assert _events(engine, alert.id) == ["opened", "claimed", "acknowledged", "resolved"]


def test_new_breach_after_nurse_resolution_is_a_new_alert_and_reopen_refused(
    engine: Engine,
) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        first = raise_or_repeat(
            session, breach=_breach(world, Severity.RED, _reading(engine, world)), now=NOW
        ).alert
        resolve_alert(
            session,
            alert_id=first.id,
            actor_id=world.nurse_ids[0],
            now=NOW,
            outcome=Outcome.NO_ACTION_NEEDED,
        )
    with session_scope(engine) as session:
        second = raise_or_repeat(
            session, breach=_breach(world, Severity.RED, _reading(engine, world, 9), 9), now=NOW
        ).alert
        assert second.id != first.id
    with session_scope(engine) as session, pytest.raises(AlreadyOpenError):
        reopen_alert(session, alert_id=first.id, actor_id=world.nurse_ids[0], now=NOW, reason="x")


def test_auto_resolved_alert_reopens_on_a_new_breach(engine: Engine) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        first = raise_or_repeat(
            session, breach=_breach(world, Severity.YELLOW, _reading(engine, world)), now=NOW
        ).alert
    with session_scope(engine) as session:
        assert (
            auto_resolve(
                session, citizen_id=world.citizen_ids[0], rule_key="spo2.absolute", now=NOW
            )
            is not None
        )
    with session_scope(engine) as session:
        again = raise_or_repeat(
            session,
            breach=_breach(world, Severity.YELLOW, _reading(engine, world, 3), 3),
            now=NOW + timedelta(hours=1),
        )
        assert again.event is EventKind.REOPENED and again.alert.id == first.id
        assert again.alert.status == AlertStatus.OPEN.value and again.alert.count == 2


def test_worse_repeat_of_acknowledged_alert_goes_back_to_open(engine: Engine) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        alert = raise_or_repeat(
            session, breach=_breach(world, Severity.YELLOW, _reading(engine, world)), now=NOW
        ).alert
        acknowledge_alert(session, alert_id=alert.id, actor_id=world.nurse_ids[0], now=NOW)
    one, two = _reading(engine, world, 1), _reading(engine, world, 2)
    with session_scope(engine) as session:
        same = raise_or_repeat(session, breach=_breach(world, Severity.YELLOW, one, 1), now=NOW)
        assert same.alert.status == "acknowledged"
        worse = raise_or_repeat(session, breach=_breach(world, Severity.RED, two, 2), now=NOW)
        assert worse.event is EventKind.REOPENED and worse.alert.status == "open"


def test_escalation_is_scheduled_from_the_team_policy(engine: Engine) -> None:
    lead = Recipient(channel="email", address="lead@example.org")
    policy = RoutingPolicy(
        opening_hours={},
        out_of_hours="queue",
        escalation={
            "red": (EscalationStep(name="team lead", after_minutes=60, recipients=(lead,)),)
        },
    )
    world = seed(engine, routing=policy)
    with session_scope(engine) as session:
        alert = raise_or_repeat(
            session, breach=_breach(world, Severity.RED, _reading(engine, world)), now=NOW
        ).alert
        assert alert.next_escalation_at == NOW + timedelta(minutes=60)


def test_two_nurses_acknowledging_at_once_one_wins(engine: Engine) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        alert = raise_or_repeat(
            session, breach=_breach(world, Severity.RED, _reading(engine, world)), now=NOW
        ).alert
    version = alert.lock_version
    barrier = threading.Barrier(2)
    results: list[str] = []

    def act(nurse: uuid.UUID) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                acknowledge_alert(
                    session, alert_id=alert.id, actor_id=nurse, now=NOW, expected_version=version
                )
            results.append("ok")
        except (StaleAlertError, InvalidTransitionError):
            results.append("conflict")

    threads = [threading.Thread(target=act, args=(n,)) for n in world.nurse_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict", "ok"]
    with session_scope(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == "acknowledged")
        ).one()
        assert count == 1


def test_system_reopen_after_auto_resolve_clears_the_acknowledgement(engine: Engine) -> None:
    """acknowledge → auto-resolve → a new breach: the re-opened alert is news to the nurse,
    so it must not still show her acknowledgement (a nurse's re-open already cleared it)."""
    world = seed(engine)
    with session_scope(engine) as session:
        alert = raise_or_repeat(
            session, breach=_breach(world, Severity.YELLOW, _reading(engine, world)), now=NOW
        ).alert
        acknowledge_alert(
            session, alert_id=alert.id, actor_id=world.nurse_ids[0], now=NOW, note="set"
        )
    with session_scope(engine) as session:
        auto_resolve(session, citizen_id=world.citizen_ids[0], rule_key="spo2.absolute", now=NOW)
    with session_scope(engine) as session:
        again = raise_or_repeat(
            session,
            breach=_breach(world, Severity.YELLOW, _reading(engine, world, 30), 30),
            now=NOW + timedelta(hours=1),
        )
        assert again.event is EventKind.REOPENED and again.alert.id == alert.id
    with session_scope(engine) as session:
        reopened = session.get(Alert, alert.id)
        assert reopened is not None
        assert reopened.status == AlertStatus.OPEN.value
        assert (reopened.acknowledged_by, reopened.acknowledged_at) == (None, None)
        assert reopened.acknowledge_note is None
        assert (reopened.resolved_by, reopened.resolved_at, reopened.outcome) == (None,) * 3
    assert _events(engine, alert.id) == ["opened", "acknowledged", "auto_resolved", "reopened"]
