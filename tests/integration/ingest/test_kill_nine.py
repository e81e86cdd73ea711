"""Guarantee 1 under fire: kill -9 the ingest process 20 times while 10,000 messages stream
from tablets that re-send until a receipt, each time while a batch is in flight (its
messages received and not yet committed, answered and acked), as the killed process's own
log proves. At the end every message has been answered, none twice as accepted (what a
doubled delivery would show the tablet), and is exactly one reading row."""

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
from tests.child_logs import child_log
from tests.conftest import TEST_SECRET_KEY, TEST_SERVICE_PASSWORD, TEST_SERVICE_USER
from tests.integration.ingest.ingest_process import IngestProcess, in_flight
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.tablet_fleet import TabletFleet
from tests.integration.ingest.world import seed_devices

DEVICES = 20
PER_DEVICE = 500  # 10,000 messages
KILLS = 20
# new messages per second: the stream lasts ~100 s, longer than the 20 kills and restarts
RATE = 100.0


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
            # DEBUG: the writer logs ingest.batch_started / ingest.batch_done
            "PUST_LOG_LEVEL": "DEBUG",
            # a batch collects for 50 ms: the window in which a kill strikes received,
            # unacknowledged messages
            "PUST_INGEST_BATCH_MAX_WAIT_SECONDS": "0.05",
            "PUST_INGEST_INSTANCE": "kill-nine",
            "PUST_INGEST_METRICS_PORT": "0",
        },
        log_path=child_log("ingest-kill-nine"),
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
        target=fleet.stream, kwargs={"rate_per_second": RATE, "until": done}, daemon=True
    )
    rng = random.Random(20261123)
    try:
        ingest.start()
        streamer.start()
        # a kill whose run shows no batch in flight (the batch finished between the look
        # and the kill, on a loaded machine) does not count: strike again, up to a bound
        for _ in range(2 * KILLS):
            if sum(in_flight(run) for run in ingest.killed_runs) == KILLS:
                break
            assert ingest.wait_connected(), "ingest did not connect"
            # strike at a random batch of the run's stream, while it is in flight
            assert ingest.wait_batch_in_flight(rng.randint(1, 4)), "no batch ever started"
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

    # the killed processes' own logs: each of these kills struck a batch in flight
    assert sum(in_flight(run) for run in ingest.killed_runs) == KILLS
    assert fleet.outcomes.get("rejected", 0) == 0
    # what the tablets saw: every message answered, none accepted twice (a message that
    # was committed but whose receipt died with the process is answered "duplicate")
    unanswered = fleet.all_ids - {
        key for key, seen in fleet.receipts.items() if {"accepted", "duplicate"} & set(seen)
    }
    assert not unanswered, f"{len(unanswered)} messages were never answered"
    accepted_twice = [key for key, seen in fleet.receipts.items() if seen.count("accepted") > 1]
    assert not accepted_twice, f"{len(accepted_twice)} messages were accepted twice"
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
