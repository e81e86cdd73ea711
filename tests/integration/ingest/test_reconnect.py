"""A connection that drops while messages wait for their batch: the waiting copies are not
written (the broker delivers them again), every message is stored once and receipted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import Reading
from pust.messaging.topics import DeviceChannel
from services.ingest import group_commit
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

MESSAGES = 10


class _Until:
    """A count that a test can wait on."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def add(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.count >= count, timeout), (
                f"{self.count} of {count}"
            )


def _wrap(target: Any, name: str, after: Callable[[Any], None]) -> None:
    original = getattr(target, name)

    def wrapped(*args: Any) -> Any:
        result = original(*args)
        after(result)
        return result

    setattr(target, name, wrapped)


# on SQLite the held batch's transaction would lock out the reconnect's session record
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_arrivals_of_a_dropped_connection_are_written_once_from_their_redelivery(
    engine: Engine, mqtt, start_ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not mqtt.supports_shared_subscriptions:
        pytest.skip("needs Mosquitto (MQTT 5 redelivery of a persistent session)")
    world = seed_devices(engine)
    device_id = world.device_ids[0]
    # the writer holds its first batch until the connection has dropped and come back
    release, holding = threading.Event(), threading.Event()
    original_write = group_commit.write_batch

    def held_write(connection: Any, arrivals: Any) -> Any:
        holding.set()
        assert release.wait(60)
        return original_write(connection, arrivals)

    monkeypatch.setattr(group_commit, "write_batch", held_write)
    service = start_ingest(batch_max_size=1)
    submitted, acked = _Until(), _Until()
    _wrap(service.writer, "submit", lambda _result: submitted.add())
    _wrap(service.mqtt, "ack", lambda result: acked.add() if result else None)

    tablet = TestTablet(mqtt, device_id).start()
    ids = []
    for index in range(MESSAGES):
        message_id, payload = measurement_payload(
            measured_at=EXAMPLES_RECEIVED_AT - timedelta(minutes=index + 1)
        )
        ids.append(message_id)
        tablet.publish(DeviceChannel.MEASUREMENTS, payload)
    assert holding.wait(30)
    submitted.wait_for(MESSAGES)  # one in the held batch, the rest queued behind it

    sock = service.mqtt._client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # the connection drops; paho reconnects
    submitted.wait_for(2 * MESSAGES)  # the persistent session delivers all ten again
    release.set()

    acked.wait_for(MESSAGES)  # every copy of the new connection, none of the old
    receipts = {message_id: tablet.wait_for_receipt(message_id) for message_id in ids}
    tablet.stop()
    assert {receipt["outcome"] for receipt in receipts.values()} == {"accepted"}
    with session_scope(engine) as session:
        stored = session.exec(select(func.count()).select_from(Reading)).one()[0]  # type: ignore[call-overload]
    assert stored == MESSAGES
    # the held batch's message was written from its old copy (its ack is void); the nine
    # that waited behind it were dropped and written from their redelivery
    assert service.writer._metrics.stale_dropped._value.get() == MESSAGES - 1
