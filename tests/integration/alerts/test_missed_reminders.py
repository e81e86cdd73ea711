"""Citizen first for missed measurements, end to end through the one outbox and a real
broker: a missed slot reaches the citizen's tablet as one reminder notice (however often the
sweep runs, in two replicas too), and the nurse's blue alert appears only when the care
team's policy says so."""

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.missed_policy_repository import missed_policy, policy_history, save_missed_policy
from pust.db.outbox import RetryPolicy, enqueue
from pust.db.tables import Alert, AlertEvent, Plan
from pust.domain.clock import FrozenClock
from pust.domain.missed_measurement_policy import DEFAULT_POLICY, MissedMeasurementPolicy
from pust.domain.plans import MeasurementPlan, Schedule
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel
from services.alerts.relay import MqttChannel, OutboxRelay
from services.alerts.sweeps import sweep_missed_measurements
from services.alerts.triage_worker import TriageWorker
from tests.conftest import MqttTestBroker

from .world import AlertsWorld, add_plan, add_reading, seed

MADE = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # Friday; the plan measures daily at 08:00
FIRST = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # Friday 08:00 local
DAY = timedelta(days=1)
AFTER_GRACE = timedelta(hours=1, minutes=5)
LOOKBACK = timedelta(hours=72)
SENTINEL = "sentinel"


def _plan() -> MeasurementPlan:
    return MeasurementPlan(
        starts_on=date(2026, 11, 1),
        measurements=("spo2",),  # type: ignore[arg-type]
        schedule=Schedule(
            weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), times=("08:00",)
        ),
        grace_minutes=60,
        reminder_minutes=(0, 30),
    )


def _world(engine: Engine) -> AlertsWorld:
    world = seed(engine, assigned_since=MADE, now=MADE)
    add_plan(engine, world, _plan())
    with session_scope(engine) as session:
        session.exec(select(Plan)).one().created_at = MADE
    return world


class Tablet:
    """The citizen's tablet: subscribes to its notices; the relay publishes on a service
    connection of its own."""

    def __init__(self, mqtt: MqttTestBroker, engine: Engine, clock: FrozenClock, device: str):
        self.topic = mqtt.topics.device(device, DeviceChannel.NOTICES)
        self.received: list[dict[str, object]] = []
        self._sentinel = threading.Event()
        address = BrokerAddress.parse(
            mqtt.url, username=mqtt.service_username, password=mqtt.service_password
        )
        self._tablet = MqttConnection(
            address=address,
            client_id=f"tablet-{uuid.uuid4().hex[:8]}",
            subscriptions=[(self.topic, 1)],
            on_message=self._on_message,
        )
        self._service = MqttConnection(address=address, client_id=f"alerts-{uuid.uuid4().hex[:8]}")
        self._engine = engine
        self._clock = clock
        self._tablet.start(wait_seconds=10)
        self._service.start(wait_seconds=10)
        self.relay = OutboxRelay(
            engine=engine,
            clock=clock,
            channels={"mqtt": MqttChannel(self._service)},
            policy=RetryPolicy(),
        )

    def _on_message(self, message: ReceivedMessage) -> None:
        payload = json.loads(message.payload)
        if payload.get("kind") == SENTINEL:
            self._sentinel.set()
        else:
            self.received.append(payload)

    def deliver(self) -> list[dict[str, object]]:
        """Run the relay, then a sentinel over the same connection and topic: everything the
        relay published arrives before it (MQTT keeps one publisher's order per topic)."""
        while self.relay.run_once():
            pass
        self._sentinel.clear()
        with session_scope(self._engine) as session:
            enqueue(
                session,
                channel="mqtt",
                destination=self.topic,
                payload={"kind": SENTINEL},
                now=self._clock.now(),
            )
        while self.relay.run_once():
            pass
        assert self._sentinel.wait(10), "the sentinel never reached the tablet"
        return list(self.received)

    def stop(self) -> None:
        self._tablet.stop()
        self._service.stop()


@pytest.fixture
def tablet_for(
    engine: Engine, mqtt: MqttTestBroker
) -> Iterator[Callable[[AlertsWorld, FrozenClock], Tablet]]:
    made: list[Tablet] = []

    def build(world: AlertsWorld, clock: FrozenClock) -> Tablet:
        tablet = Tablet(mqtt, engine, clock, world.device_ids[0])
        made.append(tablet)
        return tablet

    yield build
    for tablet in made:
        tablet.stop()


def _sweep(engine: Engine, clock: FrozenClock, mqtt: MqttTestBroker) -> int:
    return sweep_missed_measurements(
        engine=engine, clock=clock, lookback=LOOKBACK, topics=mqtt.topics
    )


def _blue(engine: Engine) -> list[tuple[str, int, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(Alert).where(Alert.kind == "missed_measurement")).all()
        return [(a.status, a.count, str(a.reasons[-1]["text_da"])) for a in rows]


def _blue_events(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(AlertEvent)
            .join(Alert, Alert.id == AlertEvent.alert_id)  # type: ignore[arg-type]
            .where(Alert.kind == "missed_measurement")
            .order_by(AlertEvent.id)  # type: ignore[arg-type]
        ).all()
        return [e.kind for e in rows]


def test_one_reminder_per_missed_slot_and_a_task_on_the_second_day(
    engine: Engine, mqtt: MqttTestBroker, tablet_for: Callable[[AlertsWorld, FrozenClock], Tablet]
) -> None:
    world = _world(engine)
    clock = FrozenClock(FIRST + AFTER_GRACE)
    tablet = tablet_for(world, clock)
    # Friday's slot is missed; the sweep runs twice, in two "replicas" at once, and again
    barrier = threading.Barrier(2)

    def replica() -> None:
        barrier.wait()
        _sweep(engine, clock, mqtt)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _sweep(engine, clock, mqtt)
    [reminder] = tablet.deliver()
    assert reminder["kind"] == "message"
    assert reminder["text"] == "Du mangler at måle i dag (kl. 08:00). Mål venligst, når du kan."
    assert set(reminder) == {"notice_id", "sent_at", "kind", "text"}
    assert _blue(engine) == []  # the citizen first: no task for the nurse yet

    # Saturday missed too: a second reminder, and now the nurse's task
    clock.set(FIRST + DAY + AFTER_GRACE)
    _sweep(engine, clock, mqtt)
    _sweep(engine, clock, mqtt)  # a restart re-runs the round: nothing new
    first, second = tablet.deliver()
    assert first == reminder
    assert second["notice_id"] != reminder["notice_id"]
    assert [(status, count) for status, count, _ in _blue(engine)] == [("open", 1)]
    [(_, _, why)] = _blue(engine)
    assert why == (
        "Planlagt måling 21.11. kl. 08:00 er ikke modtaget · Påmindet 2 gange på tabletten"
    )
    assert _blue_events(engine) == ["opened"]


def test_a_measurement_after_the_reminder_clears_the_pending_state(
    engine: Engine, mqtt: MqttTestBroker, tablet_for: Callable[[AlertsWorld, FrozenClock], Tablet]
) -> None:
    world = _world(engine)
    clock = FrozenClock(FIRST + AFTER_GRACE)
    tablet = tablet_for(world, clock)
    _sweep(engine, clock, mqtt)
    # the citizen measures after Friday's reminder (late, outside the slot's grace)
    add_reading(
        engine, world, type_="spo2", value=95, unit="%", measured_at=FIRST + timedelta(hours=3)
    )
    clock.set(FIRST + DAY + AFTER_GRACE)
    _sweep(engine, clock, mqtt)
    assert len(tablet.deliver()) == 2  # Saturday's slot is reminded as a first miss
    assert _blue(engine) == []
    clock.set(FIRST + 2 * DAY + AFTER_GRACE)
    _sweep(engine, clock, mqtt)
    assert len(tablet.deliver()) == 3
    assert [(status, count) for status, count, _ in _blue(engine)] == [("open", 1)]


def test_a_recent_red_makes_the_first_miss_a_task_at_once(
    engine: Engine, mqtt: MqttTestBroker, tablet_for: Callable[[AlertsWorld, FrozenClock], Tablet]
) -> None:
    world = _world(engine)
    clock = FrozenClock(FIRST - timedelta(hours=20))
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=clock.now())
    TriageWorker(engine=engine, clock=clock, topics=mqtt.topics).drain()
    clock.set(FIRST + AFTER_GRACE)
    tablet = tablet_for(world, clock)
    _sweep(engine, clock, mqtt)
    notices = [n for n in tablet.deliver() if n["kind"] == "message"]
    assert len(notices) == 1
    assert [(status, count) for status, count, _ in _blue(engine)] == [("open", 1)]


def test_the_care_teams_policy_is_versioned_data(
    engine: Engine, mqtt: MqttTestBroker, tablet_for: Callable[[AlertsWorld, FrozenClock], Tablet]
) -> None:
    world = _world(engine)
    clock = FrozenClock(FIRST + AFTER_GRACE)
    with session_scope(engine) as session:
        assert missed_policy(session, world.team_id).policy == DEFAULT_POLICY
        for policy in (
            MissedMeasurementPolicy(task_after_slots=5, task_after_days=4),
            MissedMeasurementPolicy(task_after_slots=1, task_after_days=0),
        ):
            save_missed_policy(
                session,
                care_team_id=world.team_id,
                policy=policy,
                reason="test",
                actor_id=None,
                now=clock.now(),
            )
    with session_scope(engine) as session:
        in_force = missed_policy(session, world.team_id)
        assert (in_force.version, in_force.policy.task_after_slots) == (2, 1)
        assert [v.version for v in policy_history(session, world.team_id)] == [2, 1]
    tablet = tablet_for(world, clock)
    _sweep(engine, clock, mqtt)
    assert len(tablet.deliver()) == 1
    assert [(status, count) for status, count, _ in _blue(engine)] == [("open", 1)]


def test_a_paused_citizen_gets_neither_reminder_nor_task(
    engine: Engine, mqtt: MqttTestBroker, tablet_for: Callable[[AlertsWorld, FrozenClock], Tablet]
) -> None:
    from pust.db.tables import PausePeriod

    world = _world(engine)
    with session_scope(engine) as session:
        session.add(
            PausePeriod(
                citizen_id=world.citizen_ids[0], reason="indlagt", starts_at=MADE, ends_at=None
            )
        )
    clock = FrozenClock(FIRST + 3 * DAY + AFTER_GRACE)
    tablet = tablet_for(world, clock)
    _sweep(engine, clock, mqtt)
    assert tablet.deliver() == []
    assert _blue(engine) == []
