import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from pust.db.alert_repository import acknowledge_alert
from pust.db.engine import session_scope
from pust.db.missed_policy_repository import save_missed_policy
from pust.db.tables import (
    Alert,
    AlertEvent,
    Device,
    ExpectedMeasurement,
    OutboxMessage,
    PausePeriod,
)
from pust.domain.clock import FrozenClock
from pust.domain.missed_measurement_policy import TASK_EVERY_SLOT
from pust.domain.plans import MeasurementPlan, Schedule
from pust.domain.routing import EscalationStep, OpeningInterval, Recipient, RoutingPolicy
from pust.messaging.topics import Topics
from services.alerts.sweeps import (
    sweep_escalations,
    sweep_missed_measurements,
    sweep_silent_devices,
)
from services.alerts.triage_worker import TriageWorker

from .world import NOW, AlertsWorld, add_plan, add_reading, seed

TOPICS = Topics("t")
LEAD = Recipient(channel="email", address="lead@example.org")
ONCALL = Recipient(channel="webhook", address="http://127.0.0.1:9/oncall")
HOURS = (OpeningInterval(opens="08:00", closes="15:30"),)
POLICY = RoutingPolicy(
    opening_hours={d: HOURS for d in ("mon", "tue", "wed", "thu", "fri")},  # type: ignore[misc]
    escalation={
        "red": (
            EscalationStep(name="teamleder", after_minutes=60, recipients=(LEAD,)),
            EscalationStep(name="vagtcentral", after_minutes=120, recipients=(LEAD, ONCALL)),
        )
    },
    out_of_hours="queue",
)


def _outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_escalation_fires_on_time_across_a_restart(engine: Engine) -> None:
    world = seed(engine, routing=POLICY)
    clock = FrozenClock(NOW)  # Monday 11:00 local, open
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    TriageWorker(engine=engine, clock=clock, topics=Topics("t")).drain()
    clock.advance(timedelta(minutes=59))
    assert sweep_escalations(engine=engine, clock=clock) == 0
    # "restart": nothing in memory survives; the timers are rows
    clock.advance(timedelta(minutes=1))
    assert sweep_escalations(engine=engine, clock=clock) == 1
    assert sweep_escalations(engine=engine, clock=clock) == 0  # idempotent
    assert [(m.channel, m.destination, m.payload["level"]) for m in _outbox(engine)] == [
        ("email", "lead@example.org", 1)
    ]
    payload = _outbox(engine)[0].payload
    assert set(payload) == {
        "event",
        "alert_id",
        "care_team_id",
        "kind",
        "rule",
        "severity",
        "first_seen_at",
        "at",
        "step",
        "level",
    }  # ids only, no values
    clock.advance(timedelta(minutes=60))
    assert sweep_escalations(engine=engine, clock=clock) == 1
    assert len(_outbox(engine)) == 3
    clock.advance(timedelta(days=3))
    assert sweep_escalations(engine=engine, clock=clock) == 0
    with session_scope(engine) as session:
        alert = session.exec(select(Alert)).one()
        assert (alert.escalation_level, alert.next_escalation_at) == (2, None)
        kinds = [e.kind for e in session.exec(select(AlertEvent).order_by(AlertEvent.id)).all()]
        assert kinds == ["opened", "escalated", "escalated"]


def test_acknowledged_alert_does_not_escalate(engine: Engine) -> None:
    world = seed(engine, routing=POLICY)
    clock = FrozenClock(NOW)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    TriageWorker(engine=engine, clock=clock, topics=Topics("t")).drain()
    with session_scope(engine) as session:
        alert = session.exec(select(Alert)).one()
        acknowledge_alert(session, alert_id=alert.id, actor_id=world.nurse_ids[0], now=NOW)
    clock.advance(timedelta(hours=5))
    assert sweep_escalations(engine=engine, clock=clock) == 0


def test_out_of_hours_escalation_waits_for_the_opening(engine: Engine) -> None:
    world = seed(engine, routing=POLICY)
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    clock = FrozenClock(friday_night)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=friday_night)
    TriageWorker(engine=engine, clock=clock, topics=Topics("t")).drain()
    clock.set(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))  # Monday 08:59 local
    assert sweep_escalations(engine=engine, clock=clock) == 0
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00 = opening + 60 min
    assert sweep_escalations(engine=engine, clock=clock) == 1


def _daily_plan(times: tuple[str, ...]) -> MeasurementPlan:
    return MeasurementPlan(
        starts_on=date(2026, 1, 1),
        measurements=("spo2",),  # type: ignore[arg-type]
        schedule=Schedule(weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), times=times),
        grace_minutes=60,
        reminder_minutes=(0, 30),
    )


def _seed_with_plan(engine: Engine, times: tuple[str, ...], made: datetime) -> AlertsWorld:
    world = seed(engine, assigned_since=made)
    add_plan(engine, world, _daily_plan(times))
    with session_scope(engine) as session:
        from pust.db.tables import Plan

        plan = session.exec(select(Plan)).one()
        plan.created_at = made
    return world


def _slots(engine: Engine) -> list[tuple[datetime, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(ExpectedMeasurement).order_by(ExpectedMeasurement.due_at)).all()
        return [(r.due_at, r.status) for r in rows]


def test_missed_measurements_across_spring_dst_change(engine: Engine) -> None:
    made = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    world = _seed_with_plan(engine, ("02:30", "08:00"), made)
    with session_scope(engine) as session:  # the blue task on every missed slot
        save_missed_policy(
            session,
            care_team_id=world.team_id,
            policy=TASK_EVERY_SLOT,
            reason="test",
            actor_id=None,
            now=made,
        )
    # Saturday 08:00 CET measured; Sunday (DST day) nothing
    add_reading(
        engine,
        world,
        type_="spo2",
        value=95,
        unit="%",
        measured_at=datetime(2026, 3, 28, 7, 10, tzinfo=UTC),
    )
    clock = FrozenClock(datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    lookback = timedelta(hours=72)
    sweep = {"engine": engine, "clock": clock, "lookback": lookback, "topics": TOPICS}
    assert sweep_missed_measurements(**sweep) == 3  # type: ignore[arg-type]
    assert sweep_missed_measurements(**sweep) == 0  # type: ignore[arg-type]
    assert _slots(engine) == [
        (datetime(2026, 3, 28, 1, 30, tzinfo=UTC), "missed"),  # 02:30 CET
        (datetime(2026, 3, 28, 7, 0, tzinfo=UTC), "met"),  # 08:00 CET
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "missed"),  # 02:30 does not exist: 03:30 CEST
        (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "missed"),  # 08:00 CEST
    ]
    with session_scope(engine) as session:
        [alert] = session.exec(select(Alert)).all()
        # Saturday 02:30 is decided only now, after the citizen measured at 08:10: stale,
        # neither reminded nor a task; Sunday's two are
        assert (alert.kind, alert.rule_key, alert.count, alert.band_order) == (
            "missed_measurement",
            "plan.missed",
            2,
            2,
        )


def test_missed_measurements_across_autumn_dst_change_and_pause(engine: Engine) -> None:
    made = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    world = _seed_with_plan(engine, ("02:30", "18:00"), made)
    with session_scope(engine) as session:
        session.add(
            PausePeriod(
                citizen_id=world.citizen_ids[0],
                reason="indlagt",
                starts_at=datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
                ends_at=datetime(2026, 10, 25, 12, 0, tzinfo=UTC),
            )
        )
    clock = FrozenClock(datetime(2026, 10, 25, 17, 30, tzinfo=UTC))
    sweep_missed_measurements(
        engine=engine, clock=clock, lookback=timedelta(hours=72), topics=TOPICS
    )
    assert _slots(engine) == [
        (datetime(2026, 10, 24, 0, 30, tzinfo=UTC), "missed"),  # 02:30 CEST
        (datetime(2026, 10, 24, 16, 0, tzinfo=UTC), "missed"),  # 18:00 CEST
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "paused"),  # first 02:30 only, paused
        (datetime(2026, 10, 25, 17, 0, tzinfo=UTC), "pending"),  # 18:00 CET, grace running
    ]


def test_silent_tablet_is_a_separate_alert_and_resolves_when_heard(engine: Engine) -> None:
    world = seed(engine)
    clock = FrozenClock(NOW + timedelta(hours=23))
    threshold = timedelta(hours=24)
    assert sweep_silent_devices(engine=engine, clock=clock, threshold=threshold) == 0
    clock.advance(timedelta(hours=1))
    assert sweep_silent_devices(engine=engine, clock=clock, threshold=threshold) == 1
    assert sweep_silent_devices(engine=engine, clock=clock, threshold=threshold) == 0
    with session_scope(engine) as session:
        [alert] = session.exec(select(Alert)).all()
        assert (alert.kind, alert.device_id, alert.band_order) == (
            "silent_device",
            world.device_ids[0],
            3,
        )
        device = session.get(Device, world.device_ids[0])
        assert device is not None
        device.last_seen_at = clock.now()
    sweep_silent_devices(engine=engine, clock=clock, threshold=threshold)
    with session_scope(engine) as session:
        assert session.exec(select(Alert)).one().outcome == "auto_resolved"


def test_paused_citizen_tablet_is_not_reported_silent(engine: Engine) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        session.add(
            PausePeriod(
                citizen_id=world.citizen_ids[0], reason="ferie", starts_at=NOW, ends_at=None
            )
        )
    clock = FrozenClock(NOW + timedelta(days=3))
    assert sweep_silent_devices(engine=engine, clock=clock, threshold=timedelta(hours=24)) == 0


def test_two_replicas_escalate_each_step_once(engine: Engine) -> None:
    world = seed(engine, routing=POLICY)
    clock = FrozenClock(NOW)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    TriageWorker(engine=engine, clock=clock, topics=Topics("t")).drain()
    clock.advance(timedelta(hours=3))  # both steps are due
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def sweep() -> None:
        barrier.wait()
        for _ in range(3):
            fired.append(sweep_escalations(engine=engine, clock=clock))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 2  # step 1, then step 2 (its due time has passed too)
    assert [m.payload["level"] for m in _outbox(engine)] == [1, 2, 2]


def test_a_watch_closes_by_itself_once_the_readings_are_back_within_limits(engine: Engine) -> None:
    from services.alerts.sweeps import sweep_settled_watches

    world = seed(engine)
    clock = FrozenClock(NOW)
    worker = TriageWorker(engine=engine, clock=clock, topics=TOPICS)
    add_reading(engine, world, type_="spo2", value=89, unit="%", measured_at=NOW)
    worker.drain()
    with session_scope(engine) as session:
        (watch,) = session.exec(select(Alert).where(Alert.kind == "watch")).all()
        assert watch.status == "open"
    clock.advance(timedelta(hours=12))  # the evening reading is normal again: still watched
    add_reading(engine, world, type_="spo2", value=94, unit="%", measured_at=clock.now())
    worker.drain()
    assert sweep_settled_watches(engine=engine, clock=clock) == 0
    clock.advance(timedelta(hours=12))  # a quiet day since the low one
    assert sweep_settled_watches(engine=engine, clock=clock) == 1
    assert sweep_settled_watches(engine=engine, clock=clock) == 0  # idempotent
    with session_scope(engine) as session:
        closed = session.get(Alert, watch.id)
        assert closed is not None and closed.status == "resolved"
        assert closed.outcome == "auto_resolved"
        kinds = [
            e.kind for e in session.exec(select(AlertEvent).where(AlertEvent.alert_id == watch.id))
        ]
        assert kinds[-1] == "auto_resolved"
