"""kill -9 the bridge process mid-stream, again and again, with failures injected: every
reading reaches the regional server, none is created twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import Reading
from tests.child_logs import child_log
from tests.integration.fhir import world as w
from tests.integration.fhir.regional_server import RegionalServer

ROOT = Path(__file__).resolve().parents[3]
READINGS = 120
KILLS = 4
CONCURRENCY = 4


@pytest.fixture
def regional() -> Iterator[RegionalServer]:
    # like FUT: no conditional create for Observation, and ifNoneExist ignored if sent anyway
    server = RegionalServer(timeout_sleep=1.0, delay=0.02, honour_if_none_exist=False).start()
    yield server
    server.stop()


def _start(db_url: str, server: RegionalServer, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUST_DATABASE_URL": db_url,
        "PUST_SECRET_KEY": "bridge-kill-test-secret",
        "PUST_SERVICE_MQTT_PASSWORD": "bridge-kill-test-password",
        "PUST_BRIDGE_BASE_URL": server.base_url,
        "PUST_BRIDGE_ALLOWED_HOSTS": "127.0.0.1",
        "PUST_BRIDGE_ALLOW_HTTP": "true",
        "PUST_BRIDGE_TIMEOUT_SECONDS": "0.5",
        "PUST_BRIDGE_BACKOFF_INITIAL_SECONDS": "0.05",
        "PUST_BRIDGE_BACKOFF_MAX_SECONDS": "0.5",
        "PUST_BRIDGE_LEASE_SECONDS": "1",
        "PUST_BRIDGE_POLL_INTERVAL_SECONDS": "0.1",
        "PUST_BRIDGE_MAX_ATTEMPTS": "100",
        "PUST_BRIDGE_METRICS_PORT": "0",
        "PUST_BRIDGE_CONCURRENCY": str(CONCURRENCY),
        # FUT's OAuth flow against the mock's token endpoint: one token per patient/episode
        **{f"PUST_BRIDGE_{k.upper()}": v for k, v in server.oauth_settings().items()},
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.bridge.main"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(
    db_url: str, engine: Engine, regional: RegionalServer, tmp_path: Path
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizens = [w.add_citizen(engine, team) for _ in range(3)]
    readings = []
    for i in range(READINGS):
        citizen, device, peripheral = citizens[i % 3]
        readings.append(
            w.add_reading(
                engine,
                citizen,
                device,
                peripheral,
                "spo2",
                88 + i % 10,
                "%",
                w.T0 + timedelta(minutes=i),
            )
        )
    injected = ["500", "commit-then-drop", "503", "drop", "commit-then-500", "timeout"]
    for n, failure in enumerate(injected):
        regional.script.extend(["ok"] * (7 + 5 * n))
        regional.script.append(failure)

    log = child_log("bridge-kill")  # an ERROR or traceback in it fails the test
    kills = 0
    for _ in range(KILLS):
        before = len(regional.created)
        process = _start(db_url, regional, log)
        progressed = _wait(lambda b=before: len(regional.created) >= b + 12, 30)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills += 1
        assert progressed, log.read_text()[-3000:]
    assert 0 < len(regional.created) < READINGS  # the kills really were mid-stream

    process = _start(db_url, regional, log)
    try:
        assert _wait(lambda: len(regional.created) == READINGS, 60), log.read_text()[-3000:]
        # a nurse invalidates a reading that is already at the region: it must follow
        with session_scope(engine) as s:
            reading = s.get(Reading, readings[0])
            assert reading is not None
            reading.valid = False
            reading.invalid_reason = "måling fejlagtig"
            reading.invalidated_at = datetime.now(UTC)
        assert _wait(lambda: len(regional.invalidated) == 1, 30), log.read_text()[-3000:]
        time.sleep(0.5)  # anything still to come would show as a duplicate post
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0

    assert not regional.invalid and not regional.refused
    assert len(regional.resources) == READINGS
    assert set(regional.created.values()) == {1}, regional.created  # none twice
    assert len(regional.invalidated) == 1
    # asked to create a resource again (what a server ignoring ifNoneExist would store
    # twice) only where an answer was lost: injected, or to a request in flight at a kill
    assert set(regional.create_attempts) == set(regional.resources)
    asked_again = {i: n - 1 for i, n in regional.create_attempts.items() if n > 1}
    unexplained = {i: n for i, n in asked_again.items() if i not in regional.answer_lost}
    assert sum(unexplained.values()) <= kills * CONCURRENCY, unexplained
    described = Counter(
        (r["subject"]["reference"], r["effectiveDateTime"]) for r in regional.resources.values()
    )
    assert set(described.values()) == {1}
    # resends only where an answer was lost: at most the requests in flight at each kill,
    # and one per injected failure
    posts = regional.posts_per_identifier()
    assert sum(posts.values()) - len(posts) <= kills * CONCURRENCY + len(injected)
    text = log.read_text()
    assert "Traceback" not in text
    for row in text.splitlines():  # logs carry ids only
        assert "Borger" not in row and not re.search(r"0101\d{6}", row)
