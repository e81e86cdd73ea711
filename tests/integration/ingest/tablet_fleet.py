"""Simulated tablets that keep an outbox and re-send every message until its receipt."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics


class TabletFleet:
    def __init__(
        self,
        *,
        url: str,
        topics: Topics,
        device_ids: list[str],
        messages_per_device: int,
        resend_after: float = 3.0,
    ) -> None:
        self._topics = topics
        self._resend_after = resend_after
        self._lock = threading.Lock()
        now = datetime.now(UTC)
        # (device_id, message_id) -> payload; the outbox empties only by receipts
        self.outbox: dict[tuple[str, str], bytes] = {}
        self._next_send: dict[tuple[str, str], float] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self.order: list[tuple[str, str]] = []
        for index in range(messages_per_device):
            for device_id in device_ids:
                message_id = str(uuid.uuid4())
                measured_at = (now - timedelta(seconds=index)).isoformat()
                document = {
                    "message_id": message_id,
                    "sent_at": now.isoformat(),
                    "observations": [
                        {
                            "type": "pulse",
                            "value": 60 + index % 50,
                            "unit": "/min",
                            "measured_at": measured_at,
                        }
                    ],
                }
                self.outbox[(device_id, message_id)] = json.dumps(document).encode()
                self.order.append((device_id, message_id))
        self.all_ids = set(self.outbox)
        self.outcomes: dict[str, int] = {}
        # every receipt a tablet saw, per message: what a doubled delivery would change
        self.receipts: dict[tuple[str, str], list[str]] = {}
        self.sends = 0
        self.error: BaseException | None = None
        self.connections = {
            device_id: MqttConnection(
                address=BrokerAddress.parse(url),
                client_id=device_id,
                subscriptions=[(topics.device(device_id, DeviceChannel.RECEIPTS), 1)],
                on_message=self._receipt_handler(device_id),
                persistent_session=True,
                session_expiry_seconds=3600,
            )
            for device_id in device_ids
        }

    def connect(self) -> None:
        for connection in self.connections.values():
            connection.start(wait_seconds=10)
        time.sleep(0.3)  # SUBACKs

    def close(self) -> None:
        for connection in self.connections.values():
            connection.stop()

    def _receipt_handler(self, device_id: str):  # type: ignore[no-untyped-def]
        def handle(message: ReceivedMessage) -> None:
            receipt = json.loads(message.payload)
            with self._lock:
                self.outcomes[receipt["outcome"]] = self.outcomes.get(receipt["outcome"], 0) + 1
                key = (device_id, str(receipt.get("message_id")))
                self.receipts.setdefault(key, []).append(str(receipt["outcome"]))
                if receipt["outcome"] in ("accepted", "duplicate"):
                    self.outbox.pop((device_id, receipt["message_id"]), None)

        return handle

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self.outbox)

    def stream(self, *, rate_per_second: float, until: threading.Event) -> None:
        """Send new messages at ``rate_per_second`` and re-send overdue ones, until every
        message has its receipt or ``until`` is set."""
        try:
            self._stream(rate_per_second, until)
        except BaseException as exc:
            self.error = exc
            raise

    def _stream(self, rate_per_second: float, until: threading.Event) -> None:
        started = time.monotonic()
        while not until.is_set():
            now = time.monotonic()
            target = min(len(self.order), int((now - started) * rate_per_second))
            with self._lock:
                due = [
                    key
                    for key in self.order[:target]
                    if key in self.outbox and now >= self._next_send.get(key, 0.0)
                ]
                if not self.outbox:
                    return
            for key in due:
                device_id, _ = key
                self.connections[device_id].publish(
                    self._topics.device(device_id, DeviceChannel.MEASUREMENTS),
                    self.outbox.get(key, b""),
                    qos=1,
                )
                # like a real tablet: re-send with back-off, so an ingest that is down or
                # slow is not buried under copies
                attempts = self._attempts.get(key, 0)
                self._attempts[key] = attempts + 1
                self._next_send[key] = now + min(self._resend_after * 2**attempts, 20.0)
                self.sends += 1
            time.sleep(0.02)
