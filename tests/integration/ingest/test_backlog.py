"""Ingest down while tablets publish more than Mosquitto's default queue (1,000 messages):
with the deploy configuration, everything arrives after the restart."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import Reading
from pust.domain.clock import SystemClock
from pust.messaging.topics import DeviceChannel, Topics
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

BACKLOG = 2500


@dataclass
class LocalBroker:
    """The subset of the ``mqtt`` fixture the test tablets use, for our own Mosquitto."""

    url: str
    topic_root: str

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_root)

    def add_user(self, username: str, password: str) -> None:
        """Our Mosquitto allows anonymous logins (see mosquitto_process)."""


@pytest.fixture
def deploy_mosquitto(tmp_path: Path):
    broker = MosquittoProcess(tmp_path).start()
    yield broker
    broker.stop()


def _readings(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(Reading)).one()[0])  # type: ignore[call-overload]


@pytest.mark.slow
def test_backlog_published_while_ingest_is_down_arrives_after_restart(
    engine: Engine, db_url: str, deploy_mosquitto: MosquittoProcess, start_ingest
) -> None:
    broker = LocalBroker(deploy_mosquitto.url, f"t-{uuid.uuid4().hex[:10]}/pust/v1")
    world = seed_devices(engine)
    overrides = {"mqtt_url": broker.url, "topic_root": broker.topic_root}
    first = start_ingest(instance="backlog", clock=SystemClock(), settings_overrides=overrides)
    first.stop()  # ingest is down; its persistent session stays on the broker

    tablet = TestTablet(broker, world.device_ids[0]).start()
    now = datetime.now(UTC)
    topic = broker.topics.device(world.device_ids[0], DeviceChannel.MEASUREMENTS)
    ids = []
    infos = []
    for index in range(BACKLOG):
        message_id, payload = measurement_payload(
            measured_at=now - timedelta(seconds=index), value=90 + index % 10
        )
        ids.append(message_id)
        infos.append(tablet.connection.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(30)

    start_ingest(instance="backlog", clock=SystemClock(), settings_overrides=overrides)
    deadline = time.monotonic() + 90
    while _readings(engine) < BACKLOG:
        assert time.monotonic() < deadline, f"only {_readings(engine)} of {BACKLOG} arrived"
        time.sleep(0.2)
    assert _readings(engine) == BACKLOG
    deadline = time.monotonic() + 30
    while len(tablet.receipts) < BACKLOG:
        assert time.monotonic() < deadline, "receipts missing"
        time.sleep(0.1)
    assert set(tablet.receipts) == set(ids)
    assert {r[0]["outcome"] for r in tablet.receipts.values()} == {"accepted"}
    tablet.stop()
