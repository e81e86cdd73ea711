"""One bad message must never stop the clinic (issue 12).

Through the real broker: a payload with text the database cannot store, and a fault injected
at each stage of the write path (validate, device lookup, peripheral ids, insert, commit,
receipt publish), end with the message quarantined and receipted while another tablet's
messages are receipted and ingest stays up. A fault that kills the writer (a bug nobody
knows yet) ends, after ``max_deliveries`` restarts, the same way, where before it was a
restart loop without end.

The expected error events are named by each ``expect_error_logs`` marker.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, event, select

import services.ingest.batch_store as batch_store
import services.ingest.group_commit as group_commit
import services.ingest.service as ingest_service
from pust.db.engine import session_scope
from pust.db.tables import Alert, QuarantinedMessage, Reading
from pust.domain.clock import FrozenClock
from pust.domain.device_protocol import Rejection
from pust.messaging.topics import DeviceChannel
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from tests.data import CONTRACT_EXAMPLES
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

NOW = EXAMPLES_RECEIVED_AT
RECENT = NOW - timedelta(minutes=3)


def oximeter(**peripheral: str) -> tuple[str, bytes]:
    """The contract's oximeter example under a new id, its peripheral changed as given."""
    document = json.loads((CONTRACT_EXAMPLES / "measurements-oximeter.json").read_bytes())
    document["message_id"] = str(uuid.uuid4())
    for observation in document["observations"]:
        observation["peripheral"].update(peripheral)
    # ensure_ascii: "\ud800" travels as its JSON escape, as the probe sent it
    return document["message_id"], json.dumps(document).encode()


def status(**fields: object) -> tuple[str, bytes]:
    document = json.loads((CONTRACT_EXAMPLES / "status.json").read_bytes())
    document["message_id"] = str(uuid.uuid4())
    document.update(fields)
    return document["message_id"], json.dumps(document).encode()


def quarantined(engine: Engine, message_id: str) -> list[QuarantinedMessage]:
    with session_scope(engine) as session:
        query = select(QuarantinedMessage).where(QuarantinedMessage.message_id == message_id)
        return [row[0] for row in session.execute(query).all()]


def technical_alerts(engine: Engine, citizen_id: uuid.UUID) -> list[Alert]:
    with session_scope(engine) as session:
        query = select(Alert).where(Alert.citizen_id == citizen_id, Alert.kind == "technical")
        return [row[0] for row in session.execute(query).all()]


def readings_of(engine: Engine, device_id: str) -> int:
    with session_scope(engine) as session:
        return len(session.execute(select(Reading.id).where(Reading.device_id == device_id)).all())


# --- text the database cannot store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text"),
    [("model", "\ud800"), ("serial", "501\udfff234"), ("model", "Nonin\x003230")],
)
def test_unstorable_peripheral_text_is_rejected_and_blocks_no_one(
    engine: Engine, mqtt, start_ingest, field: str, text: str
) -> None:
    world = seed_devices(engine, 2)
    service = start_ingest()
    poisoned, other = (TestTablet(mqtt, d).start() for d in world.device_ids)
    message_id, payload = oximeter(**{field: text})
    poisoned.publish(DeviceChannel.MEASUREMENTS, payload)
    version_id, version = status(app_version="2.3\ud800")
    poisoned.publish(DeviceChannel.STATUS, version)
    good_ids = []
    for minutes in range(5):
        good_id, good = measurement_payload(measured_at=RECENT - timedelta(minutes=minutes))
        other.publish(DeviceChannel.MEASUREMENTS, good)
        good_ids.append(good_id)

    for bad_id, path in (
        (message_id, f"observations[0].peripheral.{field}"),
        (version_id, "app_version"),
    ):
        receipt = poisoned.wait_for_receipt(bad_id)
        assert receipt["outcome"] == "rejected"
        errors = {(e["path"], e["code"]) for e in receipt["errors"]}  # type: ignore[attr-defined]
        assert (path, "schema_violation") in errors
        (row,) = quarantined(engine, bad_id)
        assert row.errors[0]["code"] == "schema_violation"
    assert [other.wait_for_receipt(i)["outcome"] for i in good_ids] == ["accepted"] * 5
    assert service.writer.is_alive
    assert readings_of(engine, world.device_ids[0]) == 0
    poisoned.stop()
    other.stop()


# --- a fault at each stage of the write path -------------------------------------------------


class InjectedFault(Exception):
    """A bug in the write path, for the poisoned tablet's messages only."""


class ProcessDied(BaseException):
    """Stands in for what ends a process: nothing in ingest may catch it."""


class Faults:
    """Makes one stage of the write path fail for one device's data (not its quarantine)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engine: Engine, device_id: str) -> None:
        self.monkeypatch = monkeypatch
        self.engine = engine
        self.device_id = device_id
        self.error: type[BaseException] = InjectedFault
        self.hits = 0
        self._in_batch = threading.local()

    def _fail(self) -> None:
        self.hits += 1
        raise self.error("injected")

    def inject(self, stage: str, error: type[BaseException]) -> None:
        self.error = error
        getattr(self, f"_{stage.replace(' ', '_')}")()

    def _validate(self) -> None:
        original = ingest_service.validate_message

        def validate(**kwargs: Any) -> object:
            if kwargs["device_id"] == self.device_id:
                self._fail()
            return original(**kwargs)

        self.monkeypatch.setattr(ingest_service, "validate_message", validate)

    def _device_lookup(self) -> None:
        original = batch_store.load_devices

        def load_devices(connection: Any, device_ids: Any) -> Any:
            wanted = set(device_ids)
            if self.device_id in wanted:
                self._fail()
            return original(connection, wanted)

        self.monkeypatch.setattr(batch_store, "load_devices", load_devices)

    def _peripheral_ids(self) -> None:
        original = batch_store._peripheral_ids

        def peripheral_ids(connection: Any, measurements: list[Any]) -> Any:
            if any(m.device_id == self.device_id for m in measurements):
                self._fail()
            return original(connection, measurements)

        self.monkeypatch.setattr(batch_store, "_peripheral_ids", peripheral_ids)

    def _insert(self) -> None:
        original = batch_store.insert_ignoring_conflicts

        def insert(connection: Any, table: Any, rows: Any, returning: Any) -> Any:
            if table is batch_store.READING and any(r["device_id"] == self.device_id for r in rows):
                self._fail()
            return original(connection, table, rows, returning)

        self.monkeypatch.setattr(batch_store, "insert_ignoring_conflicts", insert)

    def _commit(self) -> None:
        original = group_commit.write_batch

        def write_batch(connection: Any, arrivals: Any) -> Any:
            self._in_batch.poisoned = any(
                a.result.device_id == self.device_id and not isinstance(a.result, Rejection)
                for a in arrivals
            )
            return original(connection, arrivals)

        def on_commit(_connection: Any) -> None:
            if getattr(self._in_batch, "poisoned", False):
                self._in_batch.poisoned = False
                self._fail()

        self.monkeypatch.setattr(group_commit, "write_batch", write_batch)
        event.listen(self.engine, "commit", on_commit)
        self._listener = on_commit

    def remove(self) -> None:
        if hasattr(self, "_listener"):
            event.remove(self.engine, "commit", self._listener)
        self.monkeypatch.undo()


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Iterator[Callable[[str], Faults]]:
    made: list[Faults] = []

    def make(device_id: str) -> Faults:
        made.append(Faults(monkeypatch, engine, device_id))
        return made[-1]

    yield make
    for fault in made:
        fault.remove()


WRITE_STAGES = ["device lookup", "peripheral ids", "insert", "commit"]


_QUARANTINED = "ingest.internal_error_quarantined"


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param(
            "validate",
            marks=pytest.mark.expect_error_logs("ingest.validation_failed", _QUARANTINED),
        ),
        *(
            pytest.param(
                stage,
                marks=pytest.mark.expect_error_logs("ingest.message_failed_to_store", _QUARANTINED),
            )
            for stage in WRITE_STAGES
        ),
    ],
)
def test_a_fault_at_any_stage_quarantines_the_message_and_blocks_no_one(
    engine: Engine, mqtt, start_ingest, faults, stage: str
) -> None:
    world = seed_devices(engine, 2)
    faults(world.device_ids[0]).inject(stage, InjectedFault)
    service = start_ingest(batch_max_wait_seconds=0.05)
    poisoned, other = (TestTablet(mqtt, d).start() for d in world.device_ids)
    message_id, payload = oximeter()
    poisoned.publish(DeviceChannel.MEASUREMENTS, payload)
    good_ids = []
    for minutes in range(5):
        good_id, good = measurement_payload(measured_at=RECENT - timedelta(minutes=minutes))
        other.publish(DeviceChannel.MEASUREMENTS, good)
        good_ids.append(good_id)

    receipt = poisoned.wait_for_receipt(message_id)
    assert receipt["outcome"] == "rejected"
    assert [e["code"] for e in receipt["errors"]] == ["internal_error"]  # type: ignore[attr-defined]
    assert [other.wait_for_receipt(i)["outcome"] for i in good_ids] == ["accepted"] * 5
    (row,) = quarantined(engine, message_id)
    assert row.payload == payload
    (alert,) = technical_alerts(engine, world.citizen_ids[0])
    assert alert.rule_key == "technical.ingest" and alert.status == "open"
    assert alert.device_id == world.device_ids[0]
    assert technical_alerts(engine, world.citizen_ids[1]) == []
    assert readings_of(engine, world.device_ids[0]) == 0
    assert service.writer.is_alive
    poisoned.stop()
    other.stop()


@pytest.mark.expect_error_logs("ingest.publish_failed")
def test_a_receipt_that_cannot_be_published_leaves_the_rest_going(
    engine: Engine, mqtt, start_ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = seed_devices(engine, 2)
    service = start_ingest()
    poisoned, other = (TestTablet(mqtt, d).start() for d in world.device_ids)
    original = service.mqtt.publish
    failing = {"on": True}
    receipts_topic = mqtt.topics.device(world.device_ids[0], DeviceChannel.RECEIPTS)

    def publish(topic: str, payload: bytes, **kwargs: Any) -> object:
        if failing["on"] and topic == receipts_topic:
            raise InjectedFault("injected")
        return original(topic, payload, **kwargs)

    monkeypatch.setattr(service.mqtt, "publish", publish)
    message_id, payload = oximeter()
    poisoned.publish(DeviceChannel.MEASUREMENTS, payload)
    good_id, good = measurement_payload(measured_at=RECENT)
    other.publish(DeviceChannel.MEASUREMENTS, good)
    assert other.wait_for_receipt(good_id)["outcome"] == "accepted"
    assert readings_of(engine, world.device_ids[0]) == 2  # committed, only the receipt failed
    assert service.writer.is_alive
    # the tablet re-sends what got no receipt, and hears that it is stored
    failing["on"] = False
    poisoned.publish(DeviceChannel.MEASUREMENTS, payload)
    assert poisoned.wait_for_receipt(message_id)["outcome"] == "duplicate"
    poisoned.stop()
    other.stop()


# --- a fault that kills the writer: the restart loop ends ----------------------------------


@contextmanager
def ingest_runs(db_url: str, engine: Engine, mqtt: Any, make_settings: Any) -> Iterator[Any]:
    """Starts ingest like the supervisor does: the same instance (persistent session) each
    time; a crashed one is stopped and started again."""
    instance = f"crashy-{uuid.uuid4().hex[:6]}"
    running: list[IngestService] = []

    def start() -> IngestService:
        service = IngestService(
            settings=make_settings(db_url=db_url, mqtt=mqtt),
            ingest=IngestSettings(instance=instance, metrics_port=0, max_deliveries=3),
            engine=engine,
            metrics=IngestMetrics(CollectorRegistry()),
            clock=FrozenClock(NOW),
        )
        service.start(wait_seconds=10)
        running.append(service)
        return service

    try:
        yield start
    finally:
        for service in running:
            service.stop()


def _wait_for_receipt_or_crash(
    tablet: TestTablet, message_id: str, service: IngestService, timeout: float = 30
) -> bool:
    """True: the receipt came; False: the writer died first."""
    deadline = time.monotonic() + timeout
    with tablet._changed:
        while message_id not in tablet.receipts:
            if not service.writer.is_alive:
                return False
            assert time.monotonic() < deadline, "neither a receipt nor a crash"
            tablet._changed.wait(0.05)
    return True


@pytest.mark.expect_error_logs(
    "ingest.writer_failed", "ingest.gave_up_on_message", "ingest.internal_error_quarantined"
)
@pytest.mark.parametrize("stage", WRITE_STAGES)
def test_a_message_that_kills_ingest_is_quarantined_after_max_deliveries(
    db_url: str, engine: Engine, mqtt, make_settings, faults, stage: str
) -> None:
    world = seed_devices(engine, 2)
    fault = faults(world.device_ids[0])
    fault.inject(stage, ProcessDied)
    with ingest_runs(db_url, engine, mqtt, make_settings) as start:
        service = start()
        # the tablets start after ingest: its subscription is in place by then
        poisoned, other = (TestTablet(mqtt, d).start() for d in world.device_ids)
        message_id, payload = oximeter()
        poisoned.publish(DeviceChannel.MEASUREMENTS, payload)
        good_ids = []
        restarts = 0
        while not _wait_for_receipt_or_crash(poisoned, message_id, service):
            # another tablet keeps sending while ingest crashes and comes back
            good_id, good = measurement_payload(measured_at=RECENT - timedelta(minutes=restarts))
            other.publish(DeviceChannel.MEASUREMENTS, good)
            good_ids.append(good_id)
            assert isinstance(service.writer.failure, ProcessDied)
            service.stop()
            restarts += 1
            assert restarts <= 10, "ingest keeps crashing on the same message"
            service = start()

        receipt = poisoned.receipts[message_id][0]
        assert receipt["outcome"] == "rejected"
        assert [e["code"] for e in receipt["errors"]] == ["internal_error"]  # type: ignore[attr-defined]
        assert restarts == 3  # max_deliveries: three attempts, then quarantine
        assert fault.hits == 3
        (row,) = quarantined(engine, message_id)
        assert row.payload == payload
        (alert,) = technical_alerts(engine, world.citizen_ids[0])
        assert alert.rule_key == "technical.ingest"
        # the other tablet's messages, in flight during the crashes, are all stored once
        assert [other.wait_for_receipt(i)["outcome"] for i in good_ids] == ["accepted"] * 3
        assert quarantined(engine, good_ids[0]) == []
        # and ingest stays up from now on
        good_id, good = measurement_payload(measured_at=RECENT - timedelta(hours=1))
        other.publish(DeviceChannel.MEASUREMENTS, good)
        assert other.wait_for_receipt(good_id)["outcome"] == "accepted"
        assert service.writer.is_alive and service.writer.failure is None
        poisoned.stop()
        other.stop()
