"""The whole system for end-to-end tests: ingest, alerts and api as real child processes
(`pust ingest|alerts|api`, exactly what `pust up` runs) against the test's database and
broker, with the demo's people and tablets seeded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pust.db.engine import build_engine
from pust.messaging.topics import Topics
from pust_cli.demo_seed import seed_demo_into
from tests.child_logs import child_log
from tests.conftest import TEST_SECRET_KEY, MqttTestBroker, free_port

SERVICES = ("ingest", "alerts", "api")


@dataclass
class RunningSystem:
    base_url: str
    db_url: str
    mqtt: MqttTestBroker
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path | None = None

    @property
    def topics(self) -> Topics:
        return self.mqtt.topics

    def logs(self) -> str:
        if self.log_dir is None:
            return ""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _environment(
    db_url: str, mqtt: MqttTestBroker, http_port: int, data_dir: Path
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PUST_DATABASE_URL": db_url,
            "PUST_MQTT_URL": mqtt.url,
            "PUST_TOPIC_ROOT": mqtt.topic_root,
            "PUST_SERVICE_MQTT_USERNAME": mqtt.service_username,
            "PUST_SERVICE_MQTT_PASSWORD": mqtt.service_password,
            "PUST_SECRET_KEY": TEST_SECRET_KEY,
            "PUST_HTTP_PORT": str(http_port),
            "PUST_DATA_DIR": str(data_dir),
            "PUST_DEMO": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


@contextmanager
def running_system(
    *, db_url: str, mqtt: MqttTestBroker, work_dir: Path, timezone: str = "Europe/Copenhagen"
) -> Iterator[RunningSystem]:
    engine = build_engine(db_url)
    try:
        seed_demo_into(engine, timezone=timezone, topics=mqtt.topics)
    finally:
        engine.dispose()
    mqtt.add_user(mqtt.service_username, mqtt.service_password)
    port = free_port()
    # the test's child logs: an ERROR a service logs fails the test (tests/conftest.py)
    log_dir = child_log("ingest").parent
    env = _environment(db_url, mqtt, port, work_dir / "data")
    system = RunningSystem(f"http://127.0.0.1:{port}", db_url, mqtt, log_dir=log_dir)
    try:
        for name in SERVICES:
            log = child_log(name).open("ab")
            system.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "pust_cli.main", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not _wait_ready(system.base_url, 60):
            raise RuntimeError("the system did not become ready:\n" + system.logs())
        yield system
    finally:
        for process in system.processes.values():
            process.terminate()
        for process in system.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
