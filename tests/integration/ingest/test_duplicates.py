"""Idempotency: by (device_id, message_id) and by the reading identity, under concurrency."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import InboxMessage, Reading
from pust.messaging.topics import DeviceChannel
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

RECENT = EXAMPLES_RECEIVED_AT - timedelta(minutes=2)


def _count(engine: Engine, table: type) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one()[0])  # type: ignore[call-overload]


def test_the_same_message_1000_times_from_several_connections_is_one_reading(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    device_id = world.device_ids[0]
    tablets = [TestTablet(mqtt, device_id).start() for _ in range(4)]
    message_id, payload = measurement_payload(measured_at=RECENT)
    topic = mqtt.topics.device(device_id, DeviceChannel.MEASUREMENTS)
    infos = [
        tablet.connection.publish(topic, payload, qos=1) for _ in range(250) for tablet in tablets
    ]
    for info in infos:
        info.wait_for_publish(30)

    deadline = time.monotonic() + 60
    while len(tablets[0].receipts.get(message_id, [])) < 1000:
        assert time.monotonic() < deadline, "not every copy got a receipt"
        time.sleep(0.05)
    outcomes = Counter(r["outcome"] for r in tablets[0].receipts[message_id])
    assert outcomes == {"accepted": 1, "duplicate": 999}
    assert _count(engine, Reading) == 1
    assert _count(engine, InboxMessage) == 1
    for tablet in tablets:
        tablet.stop()


def test_the_same_reading_under_a_new_message_id_is_a_duplicate(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    first_id, first = measurement_payload(measured_at=RECENT, value=91)
    again_id, again = measurement_payload(measured_at=RECENT, value=91)
    other_id, other = measurement_payload(measured_at=RECENT, value=92)
    tablet.publish(DeviceChannel.MEASUREMENTS, first)
    assert tablet.wait_for_receipt(first_id)["outcome"] == "accepted"
    tablet.publish(DeviceChannel.MEASUREMENTS, again)
    assert tablet.wait_for_receipt(again_id)["outcome"] == "duplicate"
    tablet.publish(DeviceChannel.MEASUREMENTS, other)
    assert tablet.wait_for_receipt(other_id)["outcome"] == "accepted"
    assert _count(engine, Reading) == 2
    tablet.stop()
