"""Devices assigned to citizens, and test tablets that publish and collect receipts."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import CareTeam, Citizen, Device, DeviceAssignment
from pust.domain.cpr import Cpr
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics

_cpr_numbers = itertools.count(1)


def fictitious_cpr() -> Cpr:
    """Well-formed, failing modulus 11, so it can never be a real person's."""
    number = next(_cpr_numbers) + 1000 * (uuid.uuid4().int % 1000)
    for last in range(10):
        cpr = Cpr(
            f"{1 + number % 28:02d}01{50 + number // 28 % 40:02d}{(number % 1000) * 10 + last:04d}"
        )
        if not cpr.passes_modulus_11:
            return cpr
    raise AssertionError("unreachable")


@dataclass
class IngestWorld:
    device_ids: list[str]
    citizen_ids: list[uuid.UUID]


def seed_devices(
    engine: Engine,
    count: int = 1,
    *,
    assigned_since: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    assigned_until: datetime | None = None,
    status: str = "active",
) -> IngestWorld:
    suffix = uuid.uuid4().hex[:8]
    with session_scope(engine) as session:
        team = CareTeam(name=f"Klinik {suffix}")
        session.add(team)
        session.flush()
        devices, citizens = [], []
        for index in range(count):
            citizen = Citizen(
                care_team_id=team.id, cpr=fictitious_cpr(), given_name="Test", family_name="Borger"
            )
            device = Device(id=f"tablet-{suffix}-{index}", status=status)
            session.add_all([citizen, device])
            session.flush()
            session.add(
                DeviceAssignment(
                    device_id=device.id,
                    citizen_id=citizen.id,
                    valid_from=assigned_since,
                    valid_to=assigned_until,
                )
            )
            devices.append(device.id)
            citizens.append(citizen.id)
    return IngestWorld(devices, citizens)


class TestTablet:
    """Publishes as one device and collects the receipts addressed to it."""

    __test__ = False

    def __init__(self, broker: Any, device_id: str, *, client_id: str | None = None):
        """``broker``: the ``mqtt`` fixture (an ``MqttTestBroker``)."""
        broker.add_user(device_id, "tablet-password")
        url: str = broker.url
        topics: Topics = broker.topics
        self.device_id = device_id
        self.topics = topics
        self.receipts: dict[str, list[dict[str, object]]] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.connection = MqttConnection(
            address=BrokerAddress.parse(url, username=device_id, password="tablet-password"),
            client_id=client_id or f"{device_id}-{uuid.uuid4().hex[:6]}",
            subscriptions=[(topics.device(device_id, DeviceChannel.RECEIPTS), 1)],
            on_message=self._on_receipt,
        )

    def start(self) -> TestTablet:
        self.connection.start(wait_seconds=10)
        time.sleep(0.2)  # the SUBACK of the receipts subscription
        return self

    def stop(self) -> None:
        self.connection.stop()

    def publish(self, channel: DeviceChannel, payload: bytes, *, retain: bool = False) -> None:
        info = self.connection.publish(
            self.topics.device(self.device_id, channel), payload, qos=1, retain=retain
        )
        info.wait_for_publish(10)

    def _on_receipt(self, message: ReceivedMessage) -> None:
        receipt = json.loads(message.payload)
        with self._changed:
            self.receipts.setdefault(str(receipt["message_id"]), []).append(receipt)
            self._changed.notify_all()

    def wait_for_receipt(self, message_id: str, timeout: float = 15) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while message_id not in self.receipts:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no receipt for {message_id} within {timeout}s")
                self._changed.wait(remaining)
            return self.receipts[message_id][0]


def measurement_payload(
    *,
    measured_at: datetime,
    value: float = 93,
    message_id: str | None = None,
    type_: str = "spo2",
    unit: str = "%",
) -> tuple[str, bytes]:
    message_id = message_id or str(uuid.uuid4())
    document = {
        "message_id": message_id,
        "sent_at": (measured_at + timedelta(seconds=5)).isoformat(),
        "observations": [
            {"type": type_, "value": value, "unit": unit, "measured_at": measured_at.isoformat()}
        ],
    }
    return message_id, json.dumps(document).encode()
