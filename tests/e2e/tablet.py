"""A tablet as the device contract describes it, over MQTT (paho): publishes a message and
waits for its receipt. For the end-to-end tests against the running system."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel
from tests.conftest import MqttTestBroker


class Tablet:
    """A tablet as the contract describes it: publishes, waits for its receipt."""

    def __init__(self, mqtt: MqttTestBroker, device_id: str) -> None:
        mqtt.add_user(device_id, "demo")
        self.device_id = device_id
        self.topics = mqtt.topics
        self.receipts: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        base = BrokerAddress.parse(mqtt.url)
        address = BrokerAddress(base.host, base.port, device_id, "demo", base.protocol, base.tls)
        self.connection = MqttConnection(
            address=address,
            client_id=device_id,
            subscriptions=[(self.topics.device(device_id, DeviceChannel.RECEIPTS), 1)],
            on_message=self._on_receipt,
        )
        self.connection.start()

    def _on_receipt(self, message: ReceivedMessage) -> None:
        receipt = json.loads(message.payload)
        with self._arrived:
            self.receipts[receipt["message_id"]] = receipt
            self._arrived.notify_all()

    def measure(self, **observation: Any) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        payload = {
            "message_id": str(uuid.uuid4()),
            "sent_at": now,
            "observations": [{"measured_at": now, "entry": "device", **observation}],
        }
        self.send(payload)
        return payload

    def send(self, payload: dict[str, Any]) -> None:
        topic = self.topics.device(self.device_id, DeviceChannel.MEASUREMENTS)
        self.connection.publish(topic, json.dumps(payload)).wait_for_publish(5)

    def receipt(self, message_id: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while message_id not in self.receipts:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no receipt for {message_id}")
                self._arrived.wait(remaining)
            return self.receipts[message_id]

    def close(self) -> None:
        self.connection.stop()
