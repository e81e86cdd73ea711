"""The alerts worker is killed -9 22 times while readings stream into the database, each
time while a triage batch is in flight (its own log shows ``triage.batch_started`` without
the ``triage.batch_committed`` after it): afterwards every reading is triaged exactly once,
and each citizen has exactly one alert per rule whose count and events equal the number of
breaching readings (0 lost, 0 doubled).
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.tables import Alert, AlertEvent, Reading, TriageResult
from pust.domain.limits import starting_rule_set_v3
from tests.child_logs import child_log
from tests.conftest import TEST_SECRET_KEY, MqttTestBroker

from .world import add_reading, seed

KILLS = 22
MAX_READINGS = 5000


STARTED = b"triage.batch_started"
COMMITTED = b"triage.batch_committed"


def _in_flight(run_log: bytes) -> bool:
    return run_log.count(STARTED) > run_log.count(COMMITTED)


def _spawn(db_url: str, mqtt: MqttTestBroker, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUST_DEMO": "false",
        "PUST_DATABASE_URL": db_url,
        "PUST_MQTT_URL": mqtt.url,
        "PUST_TOPIC_ROOT": mqtt.topic_root,
        "PUST_SERVICE_MQTT_USERNAME": mqtt.service_username,
        "PUST_SERVICE_MQTT_PASSWORD": mqtt.service_password,
        "PUST_SECRET_KEY": TEST_SECRET_KEY,
        "PUST_DATA_DIR": str(tmp_path / "data"),
        "PUST_LOG_LEVEL": "DEBUG",  # triage.batch_started / triage.batch_committed
        "PUST_ALERTS_POLL_INTERVAL_SECONDS": "0.1",
        "PUST_ALERTS_BATCH_SIZE": "7",
        "PUST_ALERTS_ESCALATION_SWEEP_SECONDS": "3600",
        "PUST_ALERTS_MISSED_SWEEP_SECONDS": "3600",
        "PUST_ALERTS_SILENT_SWEEP_SECONDS": "3600",
    }
    code = "import sys; from pust_cli.main import main; sys.exit(main(['alerts']))"
    # every run appends to the test's child log: an ERROR or traceback fails the test
    with child_log("alerts-kill9").open("ab") as log:
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=log)


def _log_size() -> int:
    path = child_log("alerts-kill9")
    return path.stat().st_size if path.exists() else 0


def _run_log(offset: int) -> bytes:
    return child_log("alerts-kill9").read_bytes()[offset:]


def _wait_in_flight(process: subprocess.Popen[bytes], offset: int, batches: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        run = _run_log(offset)
        if _in_flight(run) and run.count(STARTED) >= batches:
            return True
        time.sleep(0.002)
    return False


def _triaged(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(
            select(func.count()).select_from(Reading).where(Reading.triaged_at.is_not(None))  # type: ignore[union-attr]
        ).one()


def _untriaged(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(
            select(func.count()).select_from(Reading).where(Reading.triaged_at.is_(None))  # type: ignore[union-attr]
        ).one()


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_kill_minus_nine_loses_and_doubles_nothing(
    db_url: str, engine: Engine, mqtt: MqttTestBroker, tmp_path: Path
) -> None:
    # rule set v3: without a baseline its population limits hold at every reading (v4 would
    # take a provisional personal red limit from the earlier readings)
    world = seed(engine, citizens=4, now=datetime.now(UTC), rules=starting_rule_set_v3())
    rng = random.Random(20261123)
    values: list[float] = []
    start = datetime.now(UTC) - timedelta(hours=2)
    stop = threading.Event()

    def stream() -> None:  # readings keep coming until every kill is done
        while not stop.is_set() and len(values) < MAX_READINGS:
            value = rng.choice([85, 87, 89, 89.5, 93, 95, 97])
            add_reading(
                engine,
                world,
                type_="spo2",
                value=value,
                unit="%",
                citizen=len(values) % 4,
                measured_at=start + timedelta(seconds=len(values)),
            )
            values.append(value)
            time.sleep(0.02)

    producer = threading.Thread(target=stream)
    producer.start()
    killed_runs: list[bytes] = []  # each killed run's own log, as it was at its death
    try:
        # a kill whose run shows no batch in flight (it committed between the look and the
        # kill, on a loaded machine) does not count: strike again, up to a bound
        for _ in range(2 * KILLS):
            if sum(_in_flight(run) for run in killed_runs) == KILLS:
                break
            offset = _log_size()
            process = _spawn(db_url, mqtt, tmp_path)
            # strike at a random batch of the worker's stream, while it is in flight
            working = _wait_in_flight(process, offset, rng.randint(1, 6))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert working, (
                "the worker never started a batch:\n" + _run_log(offset).decode()[-2000:]
            )
            killed_runs.append(_run_log(offset))
        stop.set()
        producer.join(timeout=30)
        final = _spawn(db_url, mqtt, tmp_path)
        # one more reading proves the final worker is up (and its signal handlers are set)
        add_reading(
            engine,
            world,
            type_="spo2",
            value=95,
            unit="%",
            citizen=len(values) % 4,
            measured_at=start + timedelta(seconds=len(values)),
        )
        values.append(95)
        deadline = time.monotonic() + 90
        while _untriaged(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        final.send_signal(signal.SIGTERM)
        assert final.wait(timeout=30) == 0
    finally:
        stop.set()
        producer.join(timeout=10)

    # the killed workers' own logs: each of these kills struck a batch in flight
    assert sum(_in_flight(run) for run in killed_runs) == KILLS
    assert _untriaged(engine) == 0
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(TriageResult)).one() == len(values)
        alerts = session.exec(select(Alert).where(Alert.kind == "reading")).all()
        events = session.exec(select(AlertEvent)).all()
    expected: dict[tuple[int, str], int] = {}
    for index, value in enumerate(values):
        # rule set v3 (as v2 here: no baseline, so the population limits hold):
        # below 88 % is red, a task; 88-90 % is a watch, no task
        if value < 88:
            key = (index % 4, "spo2.absolute")
            expected[key] = expected.get(key, 0) + 1
    found = {(world.citizen_ids.index(a.citizen_id), a.rule_key): a.count for a in alerts}
    assert found == expected  # exactly one alert per citizen and rule, every breach counted
    assert len(alerts) == len(expected)
    for alert in alerts:
        kinds = [e.kind for e in events if e.alert_id == alert.id]
        assert kinds.count("opened") == 1
        # one event per breach: opened + repeats (other events: out-of-hours routing)
        assert kinds.count("opened") + kinds.count("repeated") == alert.count
