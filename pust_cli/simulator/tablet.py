"""Simulated tablets on MQTT: outbox, re-send until a receipt, presence with a last will.

A ``TabletGateway`` is one MQTT connection. With one device it is exactly a real tablet
(username and client id = device id). For scale, one gateway can carry many tablets: that
works on a broker without per-device ACLs (Mosquitto with anonymous access), where the
topic says which device a message is from.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage, Will
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.simulator.messages import SimMessage
from pust_cli.simulator.outbox import OutboxEntry, SqliteOutbox

log = logging.getLogger(__name__)

ReceiptListener = Callable[[str, str, str], None]  # device_id, message_id, outcome


@dataclass(slots=True)
class DeliveryStats:
    """What the tablets saw. Updated from paho's network threads."""

    sent: int = 0
    resent: int = 0
    receipts: Counter[str] = field(default_factory=Counter)
    unknown_receipts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_receipt(self, outcome: str, known: bool) -> None:
        with self.lock:
            self.receipts[outcome] += 1
            if not known:
                self.unknown_receipts += 1


class TabletGateway:
    def __init__(
        self,
        *,
        mqtt_url: str,
        topics: Topics,
        device_ids: Sequence[str],
        outbox: SqliteOutbox,
        stats: DeliveryStats,
        password: str | None = None,
        username: str | None = None,
        on_receipt: ReceiptListener | None = None,
    ) -> None:
        if not device_ids:
            raise ValueError("a gateway carries at least one tablet")
        self.device_ids = tuple(device_ids)
        self._topics = topics
        self._outbox = outbox
        self._stats = stats
        self._on_receipt = on_receipt
        single = len(self.device_ids) == 1
        first = self.device_ids[0]
        address = BrokerAddress.parse(
            mqtt_url,
            username=first if single else (username or None),
            password=password,
        )
        self._receipt_prefix = f"{topics.root}/devices/"
        self._connection = MqttConnection(
            address=address,
            client_id=first if single else f"pust-sim-{uuid.uuid4().hex[:12]}",
            subscriptions=[(topics.device(d, DeviceChannel.RECEIPTS), 1) for d in device_ids],
            on_message=self._handle_receipt,
            will=Will(topics.device(first, DeviceChannel.PRESENCE), b"offline"),
            on_connected=self._handle_connected,
        )

    def start(self, wait_seconds: float = 15.0) -> None:
        self._connection.start(wait_seconds=wait_seconds)

    def stop(self, *, graceful: bool = True) -> None:
        if graceful and self._connection.is_connected:
            for device_id in self.device_ids:
                info = self._connection.publish(
                    self._topics.device(device_id, DeviceChannel.PRESENCE),
                    b"offline",
                    retain=True,
                )
                info.wait_for_publish(2)
        self._connection.stop()

    @property
    def connected(self) -> bool:
        return self._connection.is_connected

    def send(self, message: SimMessage) -> None:
        """Into the outbox first, then onto the wire: a crash in between loses nothing."""
        topic = self._topics.device(message.device_id, message.channel)
        payload = json.dumps(message.payload, separators=(",", ":")).encode()
        self._outbox.put(OutboxEntry(message.device_id, message.message_id, topic, payload))
        self._connection.publish(topic, payload, qos=1)
        with self._stats.lock:
            self._stats.sent += 1

    def resend(self, entries: Sequence[OutboxEntry]) -> None:
        for entry in entries:
            self._connection.publish(entry.topic, entry.payload, qos=1)
        with self._stats.lock:
            self._stats.resent += len(entries)

    def _handle_connected(self, session_present: bool) -> None:
        for device_id in self.device_ids:
            self._connection.publish(
                self._topics.device(device_id, DeviceChannel.PRESENCE), b"online", retain=True
            )

    def _handle_receipt(self, message: ReceivedMessage) -> None:
        device_id = message.topic[len(self._receipt_prefix) :].split("/", 1)[0]
        try:
            receipt = json.loads(message.payload)
            message_id = str(receipt["message_id"])
            outcome = str(receipt["outcome"])
        except (ValueError, KeyError, TypeError):
            log.warning("tablet.bad_receipt device_id=%s", device_id)
            return
        known = self._outbox.remove(device_id, message_id)
        self._stats.count_receipt(outcome, known)
        if self._on_receipt is not None:
            self._on_receipt(device_id, message_id, outcome)


class TabletFleet:
    """Many gateways sharing one outbox; routes each message to its tablet's gateway."""

    def __init__(
        self, gateways: Sequence[TabletGateway], outbox: SqliteOutbox, stats: DeliveryStats
    ) -> None:
        self.gateways = tuple(gateways)
        self.outbox = outbox
        self.stats = stats
        self._by_device = {d: g for g in gateways for d in g.device_ids}

    def start(self) -> None:
        for gateway in self.gateways:
            gateway.start()

    def stop(self, *, graceful: bool = True) -> None:
        for gateway in self.gateways:
            gateway.stop(graceful=graceful)

    def send(self, message: SimMessage) -> None:
        self._by_device[message.device_id].send(message)

    def resend_due(self, older_than_seconds: float) -> int:
        """Re-publish every message still waiting for its receipt after the given time."""
        entries = self.outbox.due(older_than_seconds)
        for gateway in self.gateways:
            mine = [e for e in entries if e.device_id in gateway.device_ids]
            if mine:
                gateway.resend(mine)
        return len(entries)

    def wait_drained(self, timeout: float, resend_after: float) -> bool:
        """Wait until every message has its receipt, re-sending stragglers meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0:
                return True
            time.sleep(0.2)
            self.resend_due(resend_after)
        return self.outbox.depth() == 0


def build_fleet(
    *,
    mqtt_url: str,
    topics: Topics,
    device_ids: Sequence[str],
    outbox: SqliteOutbox,
    tablets_per_connection: int = 1,
    password: str | None = None,
    username: str | None = None,
    on_receipt: ReceiptListener | None = None,
) -> TabletFleet:
    stats = DeliveryStats()
    size = max(1, tablets_per_connection)
    gateways = [
        TabletGateway(
            mqtt_url=mqtt_url,
            topics=topics,
            device_ids=device_ids[i : i + size],
            outbox=outbox,
            stats=stats,
            password=password,
            username=username,
            on_receipt=on_receipt,
        )
        for i in range(0, len(device_ids), size)
    ]
    return TabletFleet(gateways, outbox, stats)
