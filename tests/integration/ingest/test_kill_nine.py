"""Guarantee 1 under fire: kill -9 the ingest process at random moments (20 times) while
10,000 messages stream from tablets that re-send until a receipt. At the end every message
is exactly one reading row: 0 lost, 0 duplicated."""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import InboxMessage, Reading
from pust.messaging.topics import Topics
from tests.conftest import TEST_SECRET_KEY, TEST_SERVICE_PASSWORD, TEST_SERVICE_USER
from tests.integration.ingest.ingest_process import IngestProcess
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.tablet_fleet import TabletFleet
from tests.integration.ingest.world import seed_devices

DEVICES = 20
PER_DEVICE = 500  # 10,000 messages
KILLS = 20


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("db_backend", ["postgresql", "sqlite"])
def test_kill_nine_loses_and_duplicates_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    broker = MosquittoProcess(tmp_path).start()
    topic_root = f"t-{uuid.uuid4().hex[:10]}/pust/v1"
    world = seed_devices(engine, DEVICES)
    ingest = IngestProcess(
        env={
            "PUST_DATABASE_URL": db_url,
            "PUST_MQTT_URL": broker.url,
            "PUST_TOPIC_ROOT": topic_root,
            "PUST_SERVICE_MQTT_USERNAME": TEST_SERVICE_USER,
            "PUST_SERVICE_MQTT_PASSWORD": TEST_SERVICE_PASSWORD,
            "PUST_SECRET_KEY": TEST_SECRET_KEY,
            "PUST_DEMO": "false",
            "PUST_DATA_DIR": str(tmp_path / "data"),
            "PUST_LOG_LEVEL": "INFO",
            "PUST_INGEST_INSTANCE": "kill-nine",
            "PUST_INGEST_METRICS_PORT": "0",
        },
        log_path=tmp_path / "ingest.log",
    )
    fleet = TabletFleet(
        url=broker.url,
        topics=Topics(topic_root),
        device_ids=world.device_ids,
        messages_per_device=PER_DEVICE,
    )
    fleet.connect()
    done = threading.Event()
    streamer = threading.Thread(
        target=fleet.stream, kwargs={"rate_per_second": 400.0, "until": done}, daemon=True
    )
    rng = random.Random(20261123)
    try:
        ingest.start()
        streamer.start()
        for _ in range(KILLS):
            # most kills hit a running, connected ingest at a random moment; some hit it
            # while it is still starting up
            if rng.random() < 0.8:
                assert ingest.wait_connected(), "ingest did not connect"
                time.sleep(rng.uniform(0.0, 1.5))
            else:
                time.sleep(rng.uniform(0.0, 1.0))
            ingest.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            ingest.start()
        deadline = time.monotonic() + 180
        while fleet.pending and time.monotonic() < deadline:
            time.sleep(0.2)
        done.set()
        streamer.join(10)
        assert fleet.pending == 0, _diagnose(engine, fleet)
        # the last restart may still be importing when the fleet is done: a SIGTERM before
        # run() installs its handlers would end the process the default way (-15)
        assert ingest.wait_connected(), "ingest did not come back after the last kill"
        assert ingest.terminate() == 0
    finally:
        done.set()
        if ingest.running:
            ingest.kill()
        fleet.close()
        broker.stop()

    assert ingest.kills >= KILLS
    assert fleet.outcomes.get("rejected", 0) == 0
    with session_scope(engine) as session:
        rows = session.exec(  # type: ignore[call-overload]
            select(Reading.device_id, Reading.message_id, func.count()).group_by(
                Reading.device_id, Reading.message_id
            )
        ).all()
        inbox = session.exec(select(func.count()).select_from(InboxMessage)).one()[0]  # type: ignore[call-overload]
    per_message = {(device, message): count for device, message, count in rows}
    assert set(per_message) == fleet.all_ids, "lost messages"
    assert set(per_message.values()) == {1}, "duplicated readings"
    assert inbox == DEVICES * PER_DEVICE


def _diagnose(engine: Engine, fleet: TabletFleet) -> str:
    pending = list(fleet.outbox)
    with session_scope(engine) as session:
        stored = [key for key in pending if session.get(InboxMessage, key) is not None]
    devices = sorted({device for device, _ in pending})
    return (
        f"{len(pending)} messages never got a receipt ({len(stored)} of them committed), "
        f"from devices {devices}; sends={fleet.sends} outcomes={fleet.outcomes} "
        f"streamer error={fleet.error!r}"
    )
