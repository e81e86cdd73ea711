"""Two ingest processes on the shared subscription (real Mosquitto and PostgreSQL) writing the
same tablets' messages: neither waits for the other's row locks, each stores part, every
message is stored once and receipted once.

Both services run in this process (two writers, two connections, two database sessions):
what matters is the two transactions, not the two interpreters.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import Device, InboxMessage, Peripheral, Reading
from pust.messaging.topics import DeviceChannel
from services.ingest import batch_store
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, seed_devices

SYSTEM_ID = "FE-ED-AB-EE-DE-AD-77-C3"


def _reading(minutes_ago: int, serial: str = "A1") -> tuple[str, bytes]:
    """An SpO2 reading from the tablet's one pulse oximeter."""
    message_id = str(uuid.uuid4())
    measured_at = EXAMPLES_RECEIVED_AT - timedelta(minutes=minutes_ago)
    document = {
        "message_id": message_id,
        "sent_at": (measured_at + timedelta(seconds=5)).isoformat(),
        "observations": [
            {
                "type": "spo2",
                "value": 94,
                "unit": "%",
                "measured_at": measured_at.isoformat(),
                "peripheral": {"system_id": SYSTEM_ID, "model": "Nonin 3230", "serial": serial},
            }
        ],
    }
    return message_id, json.dumps(document).encode()


class _HoldFirst:
    """Holds the first batch that reaches its ``forget`` (the last statement before the
    commit: every row of the batch written, every lock it takes taken) until released."""

    def __init__(self, forget: Any) -> None:
        self._forget = forget
        self._taken = False
        self._lock = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held_thread: int | None = None

    def __call__(self, connection: Any, keys: Any) -> None:
        self._forget(connection, keys)
        with self._lock:
            first, self._taken = not self._taken, True
        if first:
            self.held_thread = threading.get_ident()
            self.holding.set()
            assert self.release.wait(60)


class _Ticking:
    """Every arrival a millisecond after the one before: each batch moves last_seen_at."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> datetime:
        return EXAMPLES_RECEIVED_AT + timedelta(milliseconds=next(self._ticks))


def _wait_receipts(tablets: list[TestTablet], enough: Any, *, timeout: float) -> None:
    """Until ``enough(receipts so far)``; woken by each receipt."""
    deadline = time.monotonic() + timeout
    while not enough(sum(len(t.receipts) for t in tablets) - len(tablets)):
        assert time.monotonic() < deadline, "no receipts while the other process was held"
        for tablet in tablets:
            with tablet._changed:
                tablet._changed.wait(0.05)


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_two_ingest_processes_write_the_same_tablets_without_waiting_for_each_other(
    engine: Engine, mqtt: Any, start_ingest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not mqtt.supports_shared_subscriptions:
        pytest.skip("needs Mosquitto (MQTT 5 shared subscription)")
    world = seed_devices(engine, 2)
    clock = _Ticking()
    first_ingest = start_ingest(
        instance=f"one-{uuid.uuid4().hex[:6]}", clock=clock, batch_max_size=1
    )
    second_ingest = start_ingest(
        instance=f"two-{uuid.uuid4().hex[:6]}", clock=clock, batch_max_size=1
    )
    arrived = threading.Condition()
    for service in (first_ingest, second_ingest):
        submit = service.writer.submit

        def counted(arrival: Any, submit: Any = submit) -> None:
            submit(arrival)
            with arrived:
                arrived.notify_all()

        monkeypatch.setattr(service.writer, "submit", counted)
    tablets = [TestTablet(mqtt, device_id).start() for device_id in world.device_ids]

    # the peripherals exist (a peripheral seen for the very first time by both processes at
    # once is inserted by one, the other waits for that insert: once in its lifetime)
    known = [_reading(120) for _ in tablets]
    for tablet, (message_id, payload) in zip(tablets, known, strict=True):
        tablet.publish(DeviceChannel.MEASUREMENTS, payload)
        assert tablet.wait_for_receipt(message_id)["outcome"] == "accepted"

    def received(service: Any) -> int:
        return int(service._metrics.received.labels("measurements")._value.get())

    before = {service: received(service) for service in (first_ingest, second_ingest)}
    hold = _HoldFirst(batch_store.forget)
    monkeypatch.setattr(batch_store, "forget", hold)
    held_id, held_payload = _reading(60)
    tablets[0].publish(DeviceChannel.MEASUREMENTS, held_payload)
    assert hold.holding.wait(30)

    # the same tablet, the same peripheral (with a new serial), the same device rows: the
    # broker hands about half of these to the process that is not held; they are committed
    # and receipted while the other process's transaction still holds its locks
    sent: dict[str, TestTablet] = {held_id: tablets[0]}
    for minutes_ago in range(59, 47, -1):
        tablet = tablets[0]  # the held batch's tablet: whichever process gets it
        message_id, payload = _reading(minutes_ago, serial="B2")
        tablet.publish(DeviceChannel.MEASUREMENTS, payload)
        sent[message_id] = tablet
    with arrived:  # all of them handed to one process or the other
        assert arrived.wait_for(
            lambda: received(first_ingest) + received(second_ingest) == len(known) + len(sent),
            30,
        )
    free = next(
        s for s in (first_ingest, second_ingest) if s.writer._thread.ident != hold.held_thread
    )
    # every message the broker gave the free process is receipted while the other holds
    # its transaction open (before the fix, the free one waited for those locks: forever)
    free_received = received(free) - before[free]
    _wait_receipts(tablets, lambda got: got >= free_received, timeout=30)
    assert 0 < free_received < len(sent)  # the held process has some of them too
    assert held_id not in tablets[0].receipts
    hold.release.set()

    receipts = {m: tablet.wait_for_receipt(m) for m, tablet in sent.items()}
    for tablet in tablets:
        tablet.stop()
    first_ingest.stop()
    second_ingest.stop()

    assert {receipt["outcome"] for receipt in receipts.values()} == {"accepted"}
    for message_id, tablet in sent.items():
        assert len(tablet.receipts[message_id]) == 1, message_id  # receipted once
    all_ids = set(sent) | {message_id for message_id, _ in known}
    with session_scope(engine) as session:
        readings = session.exec(select(Reading.message_id)).all()  # type: ignore[call-overload]
        inbox = session.exec(select(func.count()).select_from(InboxMessage)).one()[0]
        peripherals = session.exec(select(Peripheral)).all()
        devices = session.exec(select(Device).where(Device.id.in_(world.device_ids))).all()  # type: ignore[attr-defined]
    assert sorted(row[0] for row in readings) == sorted(all_ids)  # each stored once
    assert inbox == len(all_ids)
    # one row per tablet's oximeter, every reading pointing at it, the newest serial kept
    assert sorted(p[0].device_id for p in peripherals) == sorted(world.device_ids)
    assert all(p[0].system_id == SYSTEM_ID for p in peripherals)
    serials = {p[0].device_id: p[0].serial for p in peripherals}
    assert serials == {world.device_ids[0]: "B2", world.device_ids[1]: "A1"}
    assert all(d[0].last_seen_at is not None for d in devices)
    # both processes stored part of it
    stored_by = {first_ingest: 0, second_ingest: 0}
    for service in stored_by:
        stored_by[service] = int(service.writer._metrics.outcomes.labels("accepted")._value.get())
    assert all(count > 0 for count in stored_by.values()), stored_by
    assert sum(stored_by.values()) == len(all_ids)
