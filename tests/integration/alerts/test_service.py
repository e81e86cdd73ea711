"""The assembled alerts service with a real broker: the hint wakes it, a lost hint is caught
up from the database, and outbox rows of channel mqtt reach the tablet's topics."""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.outbox import enqueue
from pust.db.tables import Alert, OutboxMessage, Reading
from pust.domain.clock import SystemClock
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel
from services.alerts.service import AlertsService
from services.alerts.settings import AlertsSettings
from services.alerts.triage_worker import TriageWorker
from tests.conftest import MqttTestBroker

from .world import add_reading, seed

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive

# the services under test and the worlds they see share one clock (the real one)
CLOCK = SystemClock()


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _triaged(engine: Engine, reading_id: int) -> bool:
    with session_scope(engine) as session:
        reading = session.get(Reading, reading_id)
        return reading is not None and reading.triaged_at is not None


@pytest.fixture
def service_factory(
    db_url: str, engine: Engine, mqtt: MqttTestBroker, make_settings: Callable[..., object]
) -> Iterator[Callable[..., AlertsService]]:
    started: list[AlertsService] = []

    def build(**overrides: object) -> AlertsService:
        settings = make_settings(db_url=db_url, mqtt=mqtt)  # type: ignore[operator]
        values: dict[str, object] = {
            "escalation_sweep_seconds": 3600,
            "missed_sweep_seconds": 3600,
            "silent_sweep_seconds": 3600,
            "outbox_poll_seconds": 0.2,
            "instance": uuid.uuid4().hex[:8],
        }
        values.update(overrides)
        service = AlertsService(
            settings=settings,
            alerts=AlertsSettings(**values),  # type: ignore[arg-type]
            engine=engine,
            clock=CLOCK,
        )
        service.start(wait_seconds=10)
        started.append(service)
        return service

    yield build
    for service in started:
        service.stop()


def _client(
    mqtt: MqttTestBroker,
    on_message: Callable[[ReceivedMessage], None] | None = None,
    subscriptions: list[tuple[str, int]] | None = None,
) -> MqttConnection:
    address = BrokerAddress.parse(
        mqtt.url, username=mqtt.service_username, password=mqtt.service_password
    )
    client = MqttConnection(
        address=address,
        client_id=f"test-{uuid.uuid4().hex[:8]}",
        subscriptions=subscriptions or [],
        on_message=on_message,
    )
    client.start(wait_seconds=10)
    return client


def test_the_hint_wakes_the_worker(
    engine: Engine,
    mqtt: MqttTestBroker,
    service_factory: Callable[..., AlertsService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = seed(engine, now=CLOCK.now())
    idle = threading.Event()  # the worker's first poll found nothing; the next is 60 s away
    poll = TriageWorker.run_once

    def observed(worker: TriageWorker) -> int:
        done = poll(worker)
        if done == 0:
            idle.set()
        return done

    monkeypatch.setattr(TriageWorker, "run_once", observed)
    service = service_factory(poll_interval_seconds=60)
    assert idle.wait(10), "the worker's first poll never ended"
    reading_id = add_reading(
        engine, world, type_="spo2", value=85, unit="%", measured_at=datetime.now(UTC)
    )
    publisher = _client(mqtt)
    try:
        assert _wait(lambda: service.mqtt is not None and service.mqtt.is_connected)
        publisher.publish(mqtt.topics.readings_committed, b'{"readings": 1}', qos=1)
        assert _wait(lambda: _triaged(engine, reading_id), timeout=5)
        assert service.hints == 1
    finally:
        publisher.stop()
    with session_scope(engine) as session:
        assert len(session.exec(select(Alert)).all()) == 1


def test_a_lost_hint_is_caught_up_from_the_database(
    engine: Engine, service_factory: Callable[..., AlertsService]
) -> None:
    world = seed(engine, now=CLOCK.now())
    service_factory(poll_interval_seconds=0.5)
    ids = [
        add_reading(
            engine, world, type_="spo2", value=85 + i, unit="%", measured_at=datetime.now(UTC)
        )
        for i in range(3)
    ]
    # no hint is ever published
    assert _wait(lambda: all(_triaged(engine, i) for i in ids), timeout=5)


def test_outbox_mqtt_rows_reach_the_tablet_plan_retained(
    engine: Engine, mqtt: MqttTestBroker, service_factory: Callable[..., AlertsService]
) -> None:
    world = seed(engine, now=CLOCK.now())
    device = world.device_ids[0]
    plan_topic = mqtt.topics.device(device, DeviceChannel.PLAN)
    notice_topic = mqtt.topics.device(device, DeviceChannel.NOTICES)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        enqueue(
            session,
            channel="mqtt",
            destination=plan_topic,
            payload={"version": 2},
            now=now,
            retain=True,
            dedup_key="plan:test:2",
        )
    service_factory()
    assert _wait(lambda: _all_sent(engine))
    received: list[ReceivedMessage] = []
    done = threading.Event()

    def on_message(message: ReceivedMessage) -> None:
        received.append(message)
        done.set()

    # a tablet that connects later still gets the plan: it is retained
    tablet = _client(mqtt, on_message, [(plan_topic, 1), (notice_topic, 1)])
    try:
        assert done.wait(5)
        assert json.loads(received[0].payload) == {"version": 2}
        assert received[0].retain
        with session_scope(engine) as session:
            enqueue(
                session,
                channel="mqtt",
                destination=notice_topic,
                now=now,
                payload={"kind": "message", "text": "Husk at måle i morgen"},
            )
        assert _wait(lambda: len(received) == 2)
        assert json.loads(received[1].payload)["text"] == "Husk at måle i morgen"
    finally:
        tablet.publish(plan_topic, b"", retain=True)  # leave no retained plan on the broker
        tablet.stop()


def _all_sent(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return {r.status for r in session.exec(select(OutboxMessage)).all()} == {"sent"}
