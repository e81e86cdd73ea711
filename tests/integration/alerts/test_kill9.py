"""The alerts worker is killed -9 at random moments (≥ 20 times) while readings stream into
the database (each kill strikes a worker that is triaging): afterwards every reading is
triaged exactly once, and each citizen has exactly
one alert per rule whose count equals the number of breaching readings (0 lost, 0 doubled).
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
from tests.conftest import TEST_SECRET_KEY, MqttTestBroker

from .world import add_reading, seed

KILLS = 22
MAX_READINGS = 5000


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
        "PUST_LOG_LEVEL": "WARNING",
        "PUST_ALERTS_POLL_INTERVAL_SECONDS": "0.1",
        "PUST_ALERTS_BATCH_SIZE": "7",
        "PUST_ALERTS_ESCALATION_SWEEP_SECONDS": "3600",
        "PUST_ALERTS_MISSED_SWEEP_SECONDS": "3600",
        "PUST_ALERTS_SILENT_SWEEP_SECONDS": "3600",
    }
    code = "import sys; from pust_cli.main import main; sys.exit(main(['alerts']))"
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


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
    world = seed(engine, citizens=4, now=datetime.now(UTC))
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
    kills = 0
    try:
        while kills < KILLS:
            before = _triaged(engine)
            process = _spawn(db_url, mqtt, tmp_path)
            # kill only a worker that is working: wait until it has triaged something, then
            # strike at a random moment of its stream of batches
            deadline = time.monotonic() + 30
            while _triaged(engine) == before and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _triaged(engine) > before, "the worker never started working"
            time.sleep(rng.uniform(0.0, 0.4))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.stderr is not None
            process.stderr.close()
            kills += 1
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
        _, stderr = final.communicate(timeout=30)
        assert final.returncode == 0, stderr.decode(errors="replace")[-2000:]
    finally:
        stop.set()
        producer.join(timeout=10)

    assert kills >= 20
    assert _untriaged(engine) == 0
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(TriageResult)).one() == len(values)
        alerts = session.exec(select(Alert).where(Alert.kind == "reading")).all()
        events = session.exec(select(AlertEvent)).all()
    expected: dict[tuple[int, str], int] = {}
    for index, value in enumerate(values):
        if value < 90:
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
