"""A rough throughput measurement of ingest (not a test; the benchmark issue does it properly).

    uv run python -m tests.integration.ingest.measure_throughput [messages] [devices] [processes]

Uses the machine's PostgreSQL (PUST_TEST_DATABASE_URL, default postgres@127.0.0.1) and a
Mosquitto started with deploy/mosquitto/mosquitto.conf on a free port (a default Mosquitto
drops everything past 1,000 queued messages per subscriber); creates and drops its own
database. Prints raw paho QoS 1 pass-through and ingest's rate (publish start to the last
receipt, so every message was committed).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pust.db.engine import build_engine
from pust.db.migrate import upgrade
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from tests.conftest import (
    TEST_SECRET_KEY,
    TEST_SERVICE_PASSWORD,
    TEST_SERVICE_USER,
    _admin_execute,
    _database_url,
)
from tests.integration.ingest.ingest_process import IngestProcess
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.world import seed_devices


def _payloads(device_ids: list[str], count: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    out = []
    for index in range(count):
        device_id = device_ids[index % len(device_ids)]
        document = {
            "message_id": str(uuid.uuid4()),
            "sent_at": now.isoformat(),
            "observations": [
                {
                    "type": "spo2",
                    "value": 90 + index % 10,
                    "unit": "%",
                    "measured_at": (now - timedelta(milliseconds=index)).isoformat(),
                }
            ],
        }
        out.append((device_id, json.dumps(document).encode()))
    return out


class Counter:
    def __init__(self, target: int) -> None:
        self.count = 0
        self.target = target
        self.done = threading.Event()
        self._lock = threading.Lock()
        self.arrived: dict[str, float] = {}

    def __call__(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.count += 1
            if message.topic.endswith("/receipts"):
                self.arrived[json.loads(message.payload)["message_id"]] = time.perf_counter()
            if self.count >= self.target:
                self.done.set()


def _receipt_latency(
    url: str, topics: Topics, payloads: list[tuple[str, bytes]], rate: float
) -> tuple[float, float]:
    """p50 and p99 seconds from publish to receipt at a steady ``rate``."""
    counter = Counter(len(payloads))
    listener = MqttConnection(
        address=BrokerAddress.parse(url),
        client_id=f"bench-latency-{uuid.uuid4().hex[:6]}",
        subscriptions=[(f"{topics.root}/devices/+/receipts", 1)],
        on_message=counter,
    )
    listener.start(wait_seconds=10)
    publisher = MqttConnection(
        address=BrokerAddress.parse(url), client_id=f"bench-pub-{uuid.uuid4().hex[:6]}"
    )
    publisher.start(wait_seconds=10)
    time.sleep(0.5)
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for index, (device_id, payload) in enumerate(payloads):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[json.loads(payload)["message_id"]] = time.perf_counter()
        publisher.publish(topics.device(device_id, DeviceChannel.MEASUREMENTS), payload, qos=1)
    counter.done.wait(60)
    listener.stop()
    publisher.stop()
    latencies = sorted(counter.arrived[m] - t for m, t in sent.items() if m in counter.arrived)
    if len(latencies) < len(sent):
        return float("inf"), float("inf")
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def _run(url: str, topics: Topics, listen: str, payloads: list[tuple[str, bytes]]) -> float:
    counter = Counter(len(payloads))
    listener = MqttConnection(
        address=BrokerAddress.parse(url),
        client_id=f"bench-listener-{uuid.uuid4().hex[:6]}",
        subscriptions=[(listen, 1)],
        on_message=counter,
        max_inflight=65535,
    )
    listener.start(wait_seconds=10)
    publishers = {
        device_id: MqttConnection(
            address=BrokerAddress.parse(url), client_id=f"{device_id}-{uuid.uuid4().hex[:4]}"
        )
        for device_id in {device for device, _ in payloads}
    }
    for publisher in publishers.values():
        publisher.start(wait_seconds=10)
    time.sleep(0.5)
    started = time.perf_counter()
    for device_id, payload in payloads:
        publishers[device_id].publish(
            topics.device(device_id, DeviceChannel.MEASUREMENTS), payload, qos=1
        )
    counter.done.wait(120)
    elapsed = time.perf_counter() - started
    for connection in (listener, *publishers.values()):
        connection.stop()
    return counter.count / elapsed


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    devices = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    server = os.environ.get(
        "PUST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    broker_dir = tempfile.mkdtemp(prefix="pust-bench-")
    broker = MosquittoProcess(Path(broker_dir)).start()
    url = broker.url
    name = f"pust_bench_{uuid.uuid4().hex[:8]}"
    _admin_execute(server, f'CREATE DATABASE "{name}"')
    db_url = _database_url(server, name)
    try:
        upgrade(db_url)
        engine = build_engine(db_url)
        world = seed_devices(engine, devices)
        topics = Topics(f"bench-{uuid.uuid4().hex[:8]}/pust/v1")
        payloads = _payloads(world.device_ids, messages)
        raw = _run(url, topics, topics.inbound_filter(DeviceChannel.MEASUREMENTS), payloads)
        sys.stdout.write(f"raw paho QoS 1 pass-through: {raw:,.0f} msg/s\n")
        with tempfile.TemporaryDirectory() as tmp:
            ingests = [
                IngestProcess(
                    env={
                        "PUST_DATABASE_URL": db_url,
                        "PUST_MQTT_URL": url,
                        "PUST_TOPIC_ROOT": topics.root,
                        "PUST_SERVICE_MQTT_USERNAME": TEST_SERVICE_USER,
                        "PUST_SERVICE_MQTT_PASSWORD": TEST_SERVICE_PASSWORD,
                        "PUST_SECRET_KEY": TEST_SECRET_KEY,
                        "PUST_INGEST_INSTANCE": f"bench-{index}-{uuid.uuid4().hex[:6]}",
                        "PUST_INGEST_METRICS_PORT": "0",
                    },
                    log_path=Path(tmp) / f"ingest-{index}.log",
                )
                for index in range(processes)
            ]
            for ingest in ingests:
                ingest.start()
            for ingest in ingests:
                ingest.wait_connected()
            time.sleep(0.5)
            fresh = _payloads(world.device_ids, messages)
            rate = _run(url, topics, f"{topics.root}/devices/+/receipts", fresh)
            steady = _payloads(world.device_ids, 10_000)[-5000:]
            p50, p99 = _receipt_latency(url, topics, steady, 500.0)
            for ingest in ingests:
                ingest.terminate()
        sys.stdout.write(
            f"ingest x{processes} (publish to receipt, committed): {rate:,.0f} msg/s\n"
            f"receipt latency at 500 msg/s: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms\n"
        )
        engine.dispose()
    finally:
        broker.stop()
        _admin_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
