"""Abnormal first during a drain: a red reading queued behind a green backlog is committed
and receipted ahead of most of it, every message is stored and receipted once, and the
acks still go in arrival order (MQTT 3.1.1 and 5.0 §4.6)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import InboxMessage, Reading
from pust.domain.clock import SystemClock
from pust.domain.device_protocol import validate_message
from pust.domain.severity import Severity
from pust.messaging.mqtt_client import ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from services.ingest.arrival_queue import AckLedger, ArrivalQueue
from services.ingest.arrivals import Arrival
from services.ingest.group_commit import GroupCommitWriter
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.test_group_commit import FakeBroker
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

NOW = EXAMPLES_RECEIVED_AT
TOPICS = Topics("test/pust/v1")


def _arrival(device_id: str, mid: int, *, red: bool, yellow: bool = False) -> Arrival:
    measured_at = NOW - timedelta(minutes=mid)
    if red or yellow:  # red below 88 % and yellow at 88-89 % in the starting configuration
        _, payload = measurement_payload(measured_at=measured_at, value=80 if red else 89)
    else:
        _, payload = measurement_payload(
            measured_at=measured_at, value=60 + mid % 30, type_="pulse", unit="/min"
        )
    result = validate_message(
        device_id=device_id, channel="measurements", payload=payload, received_at=NOW
    )
    message = ReceivedMessage(
        TOPICS.device(device_id, DeviceChannel.MEASUREMENTS), payload, 1, False, mid
    )
    return Arrival(message, NOW, result)


def test_a_red_reading_behind_a_green_backlog_is_committed_first_and_acked_in_turn(
    engine: Engine,
) -> None:
    world = seed_devices(engine, 3)
    broker = FakeBroker(engine)
    acked = threading.Event()
    total = 301
    red_mid = 281
    yellow_mids = range(100, 110)  # yellow ones queued ahead of the red one
    arrivals = [
        _arrival(world.device_ids[mid % 3], mid, red=mid == red_mid, yellow=mid in yellow_mids)
        for mid in range(1, total + 1)
    ]
    writer = GroupCommitWriter(
        engine=engine,
        broker=broker,
        topics=TOPICS,
        metrics=IngestMetrics(CollectorRegistry()),
        batch_max_size=40,
        batch_max_wait_seconds=0.0,
    )
    original_ack = broker.ack

    def ack(message: ReceivedMessage) -> bool:
        done = original_ack(message)
        if len(broker.acks()) == total:
            acked.set()
        return done

    broker.ack = ack  # type: ignore[method-assign]
    for arrival in arrivals:  # the whole backlog is queued before the writer starts
        writer.submit(arrival)
    writer.start()
    assert acked.wait(60)
    writer.stop()
    assert writer.failure is None
    # acks exactly in arrival order, each once: the red's commit came early, its ack in turn
    assert broker.acks() == list(range(1, total + 1))
    # every receipt after its commit, one each
    assert all(broker.committed_at_receipt) and len(broker.committed_at_receipt) == total
    red_id = arrivals[red_mid - 1].result.message_id  # type: ignore[union-attr]
    with session_scope(engine) as session:
        rows = session.exec(select(Reading.id, Reading.type)).all()  # type: ignore[call-overload]
        red_reading = session.exec(
            select(Reading.id).where(Reading.type == "spo2", Reading.value == 80)  # type: ignore[call-overload]
        ).one()[0]
        yellow_readings = session.exec(
            select(Reading.id).where(Reading.type == "spo2", Reading.value == 89)  # type: ignore[call-overload]
        ).all()
        inbox = session.exec(select(func.count()).select_from(InboxMessage)).one()[0]  # type: ignore[call-overload]
    assert red_id
    assert len(rows) == total and inbox == total
    greens_after_red = sum(1 for row_id, type_ in rows if type_ == "pulse" and row_id > red_reading)
    # committed in the first batch of 40: at least 280 - 39 green readings ahead of it in
    # arrival order were written after it
    assert greens_after_red >= 280 - 39 - 10
    # red before the yellow ones queued ahead of it
    assert len(yellow_readings) == 10
    assert all(row[0] > red_reading for row in yellow_readings)


def test_a_full_queue_holds_the_caller_and_abnormal_ones_never_starve_the_rest() -> None:
    queue = ArrivalQueue(max_count=3, max_bytes=10**9)
    green = [_arrival("dev", mid, red=False) for mid in range(1, 4)]
    red = [_arrival("dev", mid, red=True) for mid in range(10, 20)]
    for arrival in green:
        assert queue.put(arrival, severity=Severity.GREEN, timeout=0)
    # full: the fourth waits (and here gives up at once), nothing is dropped
    assert not queue.put(red[0], severity=Severity.RED, timeout=0)
    assert len(queue) == 3
    batch, done = queue.take(2)
    assert [a.message.mid for a in batch] == [1, 2] and not done
    assert queue.put(red[0], severity=Severity.YELLOW, timeout=0)
    assert queue.put(red[1], severity=Severity.RED, timeout=0)
    # red ones alone first: the smallest batch commits soonest
    batch, _ = queue.take(4)
    assert [a.message.mid for a in batch] == [11]
    assert queue.put(red[2], severity=Severity.RED, timeout=0)
    # never two red-only batches in a row: abnormal ones (red first) take at most three
    # quarters of a batch while green ones wait
    batch, _ = queue.take(2)
    assert [a.message.mid for a in batch] == [12, 3]
    batch, _ = queue.take(4)
    assert [a.message.mid for a in batch] == [10]
    queue.close()
    assert queue.take(4) == ([], True)


def test_the_ledger_releases_acks_only_for_the_settled_prefix() -> None:
    ledger = AckLedger()
    messages = [_arrival("dev", mid, red=False).message for mid in range(1, 6)]
    for message in messages:
        ledger.arrived(message)
    assert ledger.settle([messages[3]]) == []  # committed early: waits for its turn
    assert ledger.settle([messages[0]]) == [messages[0]]
    assert ledger.settle([messages[2], messages[1]]) == messages[1:4]
    assert ledger.settle([messages[4]]) == [messages[4]]
    assert len(ledger) == 0


# against a real Mosquitto with the deploy configuration ------------------------------


@pytest.fixture
def deploy_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    broker = MosquittoProcess(tmp_path).start()
    yield broker
    broker.stop()


class _Broker:
    def __init__(self, url: str) -> None:
        self.url = url
        self.topic_root = f"t-{uuid.uuid4().hex[:10]}/pust/v1"

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_root)

    def add_user(self, username: str, password: str) -> None:
        """Our Mosquitto allows anonymous logins (see mosquitto_process)."""


BACKLOG = 1500
RED_AT = 1400  # the red reading's place in the backlog (0-based)


def _service(settings: Any, engine: Engine, instance: str) -> IngestService:
    return IngestService(
        settings=settings,
        ingest=IngestSettings(instance=instance, metrics_port=0, batch_max_size=100),
        engine=engine,
        metrics=IngestMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_after_an_outage_the_red_reading_is_stored_ahead_of_the_green_backlog(
    engine: Engine, db_url: str, deploy_mosquitto: MosquittoProcess, make_settings: Any
) -> None:
    broker = _Broker(deploy_mosquitto.url)
    world = seed_devices(engine)
    device = world.device_ids[0]
    settings = make_settings(db_url=db_url, mqtt_url=broker.url, topic_root=broker.topic_root)
    instance = f"drain-{uuid.uuid4().hex[:6]}"
    first = _service(settings, engine, instance)
    first.start(wait_seconds=10)
    first.stop()  # ingest is down; its persistent session stays at the broker

    tablet = TestTablet(broker, device).start()
    now = datetime.now(UTC)
    topic = broker.topics.device(device, DeviceChannel.MEASUREMENTS)
    ids: list[str] = []
    infos = []
    for index in range(BACKLOG):
        red = index == RED_AT
        message_id, payload = measurement_payload(
            measured_at=now - timedelta(seconds=BACKLOG - index),
            value=80 if red else 70 + index % 20,
            type_="spo2" if red else "pulse",
            unit="%" if red else "/min",
        )
        ids.append(message_id)
        infos.append(tablet.connection.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(30)

    service = _service(settings, engine, instance)
    # the writer starts once the whole backlog has arrived (it all can: ingest's receive
    # maximum is wider than the backlog, and nothing is acked before its commit)
    arrived: list[tuple[int, int]] = []
    acked: list[tuple[int, int]] = []
    everything = threading.Event()
    all_acked = threading.Event()
    queue = service.writer._queue  # the gate of this test
    put, take, ack = queue.put, queue.take, service.mqtt.ack

    def gated_put(arrival: Arrival, *, severity: Severity, timeout: float) -> bool:
        arrived.append((arrival.message.connection, arrival.message.mid))
        if len(arrived) == BACKLOG:
            everything.set()
        return put(arrival, severity=severity, timeout=timeout)

    def gated_take(limit: int, *, wait_seconds: float = 0.0) -> tuple[list[Arrival], bool]:
        everything.wait()
        return take(limit, wait_seconds=wait_seconds)

    def recording_ack(message: ReceivedMessage) -> bool:
        acked.append((message.connection, message.mid))
        if len(acked) == BACKLOG:
            all_acked.set()
        return ack(message)

    queue.put, queue.take = gated_put, gated_take  # type: ignore[method-assign]
    service.mqtt.ack = recording_ack  # type: ignore[method-assign]
    try:
        service.start(wait_seconds=10)
        assert all_acked.wait(120), f"{len(acked)} of {BACKLOG} acked"
        for message_id in ids:
            tablet.wait_for_receipt(message_id, 60)
    finally:
        service.stop()
        tablet.stop()
    assert service.writer.failure is None and service.mqtt.handler_errors == 0
    assert acked == arrived  # PUBACKs in the order the PUBLISHes arrived, each once
    # every message stored once and receipted once
    assert sorted(tablet.receipts) == sorted(ids)
    assert all(len(r) == 1 and r[0]["outcome"] == "accepted" for r in tablet.receipts.values())
    with session_scope(engine) as session:
        rows = session.exec(select(Reading.id, Reading.type)).all()  # type: ignore[call-overload]
    assert len(rows) == BACKLOG
    (red_id,) = [row_id for row_id, type_ in rows if type_ == "spo2"]
    greens_after = sum(1 for row_id, type_ in rows if type_ == "pulse" and row_id > red_id)
    # the red one went into the first batch (100): most of the 1,400 green ones queued
    # before it were committed after it
    assert greens_after >= RED_AT - 100
