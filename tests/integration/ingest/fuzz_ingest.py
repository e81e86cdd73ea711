"""Hostile payloads interleaved with valid ones, through the real broker into ingest (issue 12).

    uv run python -m tests.integration.ingest.fuzz_ingest [hostile] [seed]

Uses PUST_TEST_DATABASE_URL (a PostgreSQL server; its own database is created and dropped)
and PUST_TEST_MQTT_URL (default mqtt://127.0.0.1:1883), with a topic root of its own. Ingest
runs in this process; a writer that dies counts as a crash and is restarted like the
supervisor would. Prints, and ``run_fuzz`` returns:

- crashes: ingest writer deaths or message-handler exceptions;
- valid lost: valid messages without an ``accepted`` receipt or without their readings;
- rejected without receipt: hostile messages whose ``message_id`` is intact in the payload
  (or that the quarantine recorded with an id) but that got no receipt.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from pust.db.engine import session_scope
from pust.db.tables import InboxMessage, QuarantinedMessage, Reading
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from services.ingest.service import IngestService
from tests.data import CONTRACT_EXAMPLES
from tests.integration.ingest.world import seed_devices

_HOSTILE_STRINGS = [
    "\ud800",
    "\udfff",
    "a\x00b",
    "\x00",
    "\ud83d",
    "😀",
    "x" * 5000,
    "",
    " ",
    "'; DROP TABLE reading; --",
    "\u202e",
    "\\u0000",
    "%s%n",
    "null",
]
_HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**400,
    1e308,
    -1e-308,
    [],
    {},
    [[[[[]]]]],
    {"a": {"b": {"c": None}}},
    *_HOSTILE_STRINGS,
]
_CHANNELS = {
    "measurements-oximeter.json": DeviceChannel.MEASUREMENTS,
    "measurements-blood-pressure.json": DeviceChannel.MEASUREMENTS,
    "measurements-weight-manual-lb.json": DeviceChannel.MEASUREMENTS,
    "questionnaire-kol-symptoms.json": DeviceChannel.QUESTIONNAIRE_RESPONSES,
    "status.json": DeviceChannel.STATUS,
}


@dataclass
class FuzzReport:
    hostile: int = 0
    valid: int = 0
    crashes: int = 0
    valid_lost: int = 0
    rejected_without_receipt: int = 0
    hostile_with_id: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"hostile={self.hostile} (with an intact id: {self.hostile_with_id}) "
            f"valid={self.valid} crashes={self.crashes} valid_lost={self.valid_lost} "
            f"rejected_without_receipt={self.rejected_without_receipt} "
            f"hostile_outcomes={self.outcomes}"
        )


def _examples(now: datetime) -> list[tuple[DeviceChannel, dict[str, Any]]]:
    out = []
    for name, channel in _CHANNELS.items():
        document = json.loads((CONTRACT_EXAMPLES / name).read_bytes())
        out.append((channel, _retimed(document, now)))
    return out


def _retimed(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    stamp = (now - timedelta(minutes=2)).isoformat()
    for key in ("sent_at", "answered_at"):
        if key in document:
            document[key] = stamp
    for observation in document.get("observations", []):
        observation["measured_at"] = stamp
    return document


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


def hostile_payload(rng: random.Random, base: dict[str, Any], message_id: str) -> bytes:
    """One hostile variant of a valid document; ``message_id`` is kept intact unless the
    mutation is about the id itself or the bytes."""
    document = json.loads(json.dumps(base))
    document["message_id"] = message_id
    kind = rng.randrange(12)
    paths = [p for p in _paths(document) if p != ("message_id",)]
    if kind <= 3:  # one field gets a hostile value
        _set(document, rng.choice(paths), rng.choice(_HOSTILE_VALUES))
    elif kind == 4:  # a hostile string in every string field
        text = rng.choice(_HOSTILE_STRINGS)
        for path in paths:
            target: Any = document
            for part in path:
                target = target[part]
            if isinstance(target, str):
                _set(document, path, text)
    elif kind == 5:  # an unknown key, possibly unstorable
        document[rng.choice(_HOSTILE_STRINGS) or "k"] = rng.choice(_HOSTILE_VALUES)
    elif kind == 6:  # a repeated key
        text = json.dumps(document)
        key = rng.choice([k for k in document if k != "message_id"])
        return text[:-1].encode() + f', "{key}": {json.dumps(document[key])}}}'.encode()
    elif kind == 7:  # another encoding
        return json.dumps(document).encode(rng.choice(["utf-16", "utf-16-le", "utf-32"]))
    elif kind == 8:  # truncated
        raw = json.dumps(document).encode()
        return raw[: rng.randrange(len(raw) // 2, len(raw))]
    elif kind == 9:  # random bytes around an intact id
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        return noise + f'"message_id": "{message_id}"'.encode() + noise
    elif kind == 10:  # the id itself is odd but echoable
        document["message_id"] = f"odd-{message_id}"
    else:  # a field removed
        path = rng.choice(paths)
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return json.dumps(document, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


class _Receipts:
    def __init__(self) -> None:
        self.by_id: dict[str, list[str]] = {}
        self.lock = threading.Condition()

    def __call__(self, message: ReceivedMessage) -> None:
        receipt = json.loads(message.payload)
        with self.lock:
            self.by_id.setdefault(str(receipt["message_id"]), []).append(str(receipt["outcome"]))
            self.lock.notify_all()

    def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not ids <= self.by_id.keys():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.lock.wait(min(remaining, 0.5))


def run_fuzz(
    *,
    engine: Engine,
    mqtt_url: str,
    topics: Topics,
    start_ingest: Callable[[], IngestService],
    hostile: int,
    seed: int = 12,
    devices: int = 4,
    wave: int = 200,
    now: datetime,
) -> FuzzReport:
    rng = random.Random(seed)
    world = seed_devices(engine, devices)
    report = FuzzReport()
    receipts = _Receipts()
    tablet = MqttConnection(
        address=BrokerAddress.parse(mqtt_url),
        client_id=f"fuzz-{uuid.uuid4().hex[:8]}",
        subscriptions=[(topics.device("+", DeviceChannel.RECEIPTS), 1)],
        on_message=receipts,
    )
    service = start_ingest()
    tablet.start(wait_seconds=10)
    time.sleep(0.5)  # the SUBACK of the receipts subscription (no event for it)
    examples = _examples(now)
    valid: dict[str, DeviceChannel] = {}  # message_id -> channel
    hostile_ids: set[str] = set()
    sent = 0
    pending: list[Any] = []
    while sent < hostile:
        wave_valid: set[str] = set()
        for _ in range(wave):
            device_id = rng.choice(world.device_ids)
            channel, base = rng.choice(examples)
            message_id = str(uuid.uuid4())
            if rng.random() < 0.25:
                document = json.loads(json.dumps(base))
                document["message_id"] = message_id
                # distinct readings and answers: the same one again would be a duplicate
                moment = (now - timedelta(minutes=2, milliseconds=rng.randrange(10**8))).isoformat()
                for observation in document.get("observations", []):
                    observation["measured_at"] = moment
                if "answered_at" in document:
                    document["answered_at"] = moment
                payload = json.dumps(document).encode()
                valid[message_id] = channel
                wave_valid.add(message_id)
                report.valid += 1
            else:
                payload = hostile_payload(rng, base, message_id)
                if f'"message_id": "{message_id}"'.encode() in payload:
                    hostile_ids.add(message_id)
                sent += 1
                report.hostile += 1
            pending.append(tablet.publish(topics.device(device_id, channel), payload, qos=1))
        for info in pending:
            info.wait_for_publish(30)
        pending.clear()
        receipts.wait_for(wave_valid, timeout=60)
        if not service.writer.is_alive or service.mqtt.handler_errors:
            report.crashes += 1
            service.stop()
            service = start_ingest()
    receipts.wait_for(set(valid) | hostile_ids, timeout=60)
    if not service.writer.is_alive or service.mqtt.handler_errors:
        report.crashes += 1
    service.stop()
    tablet.stop()

    with session_scope(engine) as session:
        readings = {row[0] for row in session.execute(select(Reading.message_id)).all()}
        committed = {row[0] for row in session.execute(select(InboxMessage.message_id)).all()}
        quarantined_ids = {
            row[0]
            for row in session.execute(select(QuarantinedMessage.message_id)).all()
            if row[0] is not None
        }
    report.hostile_with_id = len(hostile_ids)
    report.valid_lost = sum(
        1
        for message_id, channel in valid.items()
        if (receipts.by_id.get(message_id) or ["none"])[0] != "accepted"
        or message_id not in committed
        or (channel is DeviceChannel.MEASUREMENTS and message_id not in readings)
    )
    report.rejected_without_receipt = len(
        {i for i in hostile_ids | quarantined_ids if i not in receipts.by_id}
    )
    for message_id in hostile_ids:
        outcome = (receipts.by_id.get(message_id) or ["none"])[0]
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    return report


def main() -> None:  # pragma: no cover - a tool, run by hand
    from prometheus_client import CollectorRegistry

    from pust.config.settings import Settings
    from pust.db.engine import build_engine
    from pust.db.migrate import upgrade
    from pust.domain.clock import SystemClock
    from services.ingest.metrics import IngestMetrics
    from services.ingest.settings import IngestSettings
    from tests.conftest import (
        TEST_SECRET_KEY,
        TEST_SERVICE_PASSWORD,
        TEST_SERVICE_USER,
        _admin_execute,
        _database_url,
    )

    hostile = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    server = os.environ.get(
        "PUST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    mqtt_url = os.environ.get("PUST_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    name = f"pust_fuzz_{uuid.uuid4().hex[:8]}"
    _admin_execute(server, f'CREATE DATABASE "{name}"')
    url = _database_url(server, name)
    try:
        upgrade(url)
        engine = build_engine(url)
        topics = Topics(f"fuzz-{uuid.uuid4().hex[:6]}/pust/v1")
        settings = Settings(
            demo=False,
            database_url=url,
            mqtt_url=mqtt_url,
            topic_root=topics.root,
            secret_key=TEST_SECRET_KEY,
            service_mqtt_username=TEST_SERVICE_USER,
            service_mqtt_password=TEST_SERVICE_PASSWORD,  # type: ignore[arg-type]
        )
        instance = f"fuzz-{uuid.uuid4().hex[:6]}"

        def start() -> IngestService:
            service = IngestService(
                settings=settings,
                ingest=IngestSettings(instance=instance, metrics_port=0),
                engine=engine,
                metrics=IngestMetrics(CollectorRegistry()),
                clock=SystemClock(),
            )
            service.start(wait_seconds=10)
            return service

        started = time.monotonic()
        report = run_fuzz(
            engine=engine,
            mqtt_url=mqtt_url,
            topics=topics,
            start_ingest=start,
            hostile=hostile,
            seed=seed,
            now=SystemClock().now(),
        )
        sys.stdout.write(f"{report} seconds={time.monotonic() - started:.0f}\n")
        engine.dispose()
    finally:
        _admin_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
