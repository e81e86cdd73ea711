"""Simulated tablets on a real broker: outbox, re-send until a receipt, presence."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.outbox import SqliteOutbox
from pust_cli.simulator.runner import Pace, WireClock, play
from pust_cli.simulator.tablet import build_fleet
from pust_cli.simulator.timeline import SimPlan, cohort_messages
from tests.conftest import MqttTestBroker

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive


class _ForgetfulBackend:
    """Answers every message with a receipt, but ignores the first copy of every second
    message id, so only a tablet that re-sends gets all its receipts."""

    def __init__(self, mqtt: MqttTestBroker) -> None:
        self.seen: dict[str, int] = {}
        self.presence: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._topics = mqtt.topics
        self._connection = MqttConnection(
            address=BrokerAddress.parse(
                mqtt.url, username=mqtt.service_username, password=mqtt.service_password
            ),
            client_id=f"backend-{mqtt.topic_root.split('/')[0]}",
            subscriptions=[(f"{mqtt.topic_root}/devices/+/+", 1)],
            on_message=self._handle,
        )

    def start(self) -> None:
        self._connection.start()

    def stop(self) -> None:
        self._connection.stop()

    def _handle(self, message: ReceivedMessage) -> None:
        parsed = self._topics.parse_device_topic(message.topic)
        assert parsed is not None
        if parsed.channel is DeviceChannel.PRESENCE:
            self.presence[parsed.device_id] = message.payload
            return
        if parsed.channel is DeviceChannel.RECEIPTS:
            return
        message_id = json.loads(message.payload)["message_id"]
        with self._lock:
            copies = self.seen.get(message_id, 0) + 1
            self.seen[message_id] = copies
        if copies == 1 and int(message_id[-1], 16) % 2 == 0:
            return  # lost on the way: no receipt
        receipt = {
            "message_id": message_id,
            "outcome": "accepted" if copies == 1 else "duplicate",
            "received_at": datetime.now(UTC).isoformat(),
        }
        self._connection.publish(
            self._topics.device(parsed.device_id, DeviceChannel.RECEIPTS), json.dumps(receipt)
        )


def test_tablets_resend_until_every_message_has_a_receipt(mqtt: MqttTestBroker) -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    cohort = build_cohort(CohortSpec(citizens=3, start=start, days=3, seed=4))
    device_ids = [c.device_id for c in cohort.citizens]
    for device_id in device_ids:
        mqtt.add_user(device_id, "pw")
    messages = list(cohort_messages(cohort, SimPlan(include_status=False)))
    backend = _ForgetfulBackend(mqtt)
    backend.start()
    outbox = SqliteOutbox()
    fleet = build_fleet(
        mqtt_url=mqtt.url, topics=mqtt.topics, device_ids=device_ids, outbox=outbox, password="pw"
    )
    fleet.start()
    try:
        pace = Pace(sim_start=start, speed=0, wire_clock=WireClock.LIVE)
        sent = play(messages, fleet, pace, threading.Event(), progress=False)
        assert sent == len(messages)
        assert fleet.wait_drained(60, resend_after=0.5)
    finally:
        fleet.stop()
        backend.stop()
    assert outbox.depth() == 0
    assert set(backend.seen) == {m.message_id for m in messages}
    assert fleet.stats.resent > 0
    assert fleet.stats.receipts["accepted"] + fleet.stats.receipts["duplicate"] >= len(messages)
    assert backend.presence.get(device_ids[0]) in (b"online", b"offline")


def test_durable_outbox_survives_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    from pust_cli.simulator.outbox import OutboxEntry

    path = Path(str(tmp_path)) / "outbox.sqlite3"
    first = SqliteOutbox(path)
    first.put(OutboxEntry("dev-001", "m1", "t", b"{}"))
    first.put(OutboxEntry("dev-001", "m2", "t", b"{}"))
    assert first.remove("dev-001", "m1")
    first.close()
    second = SqliteOutbox(path)
    assert [e.message_id for e in second.all_entries()] == ["m2"]
    assert not second.remove("dev-001", "m1")
    second.close()
