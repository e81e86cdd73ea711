"""`pust up --demo` as a user runs it: it starts, answers /healthz and /readyz, its embedded
broker lets demo-tablet-01 in with `demo` and refuses a wrong password, a taken port is
named in one line, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pust.messaging.mqtt_client import (
    BrokerAddress,
    MqttAuthenticationFailed,
    MqttConnection,
)
from tests.child_logs import child_log
from tests.conftest import free_port


@dataclass
class Launched:
    process: subprocess.Popen[str]
    http_port: int
    mqtt_port: int
    output: Path


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PUST_")}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Launched]:
    http_port, mqtt_port = free_port(), free_port()
    output = child_log("pust-up")
    with output.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pust_cli.main",
                "up",
                "--demo",
                "--no-simulator",
                "--data-dir",
                str(tmp_path / "data"),
                "--http-port",
                str(http_port),
                "--mqtt-port",
                str(mqtt_port),
            ],
            env=_clean_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    launched = Launched(process, http_port, mqtt_port, output)
    try:
        deadline = time.monotonic() + 90
        while "pust is running" not in output.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("pust up --demo did not start:\n" + output.read_text()[-3000:])
            time.sleep(0.2)
        yield launched
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _tablet(port: int, password: str) -> MqttConnection:
    address = BrokerAddress("127.0.0.1", port, "demo-tablet-01", password, protocol=4)
    connection = MqttConnection(address=address, client_id="demo-tablet-01")
    connection.start(wait_seconds=10)
    return connection


@pytest.mark.expect_error_logs("mqtt.auth_failed")  # the refused tablet login
def test_demo_starts_answers_and_stops_cleanly(demo: Launched) -> None:
    base = f"http://127.0.0.1:{demo.http_port}"
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    ready = httpx.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    banner = demo.output.read_text()
    for login in ("nurse", "nurse-syd", "admin", "integrator", "demo-tablet-01"):
        assert login in banner
    assert f"{base}/" in banner

    _tablet(demo.mqtt_port, "demo").stop()
    with pytest.raises(MqttAuthenticationFailed):
        _tablet(demo.mqtt_port, "not-the-password")

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(30) == 0
    assert "pust: stopped" in demo.output.read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_a_taken_port_is_named_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pust_cli.main",
                "up",
                "--demo",
                "--data-dir",
                str(tmp_path),
                "--http-port",
                str(free_port()),
                "--mqtt-port",
                str(port),
            ],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"MQTT port {port} is already in use" in lines[0]
    assert "--mqtt-port" in lines[0]


def test_default_secrets_are_refused_outside_demo_mode(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pust_cli.main", "up", "--data-dir", str(tmp_path)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "default secrets" in result.stderr
    assert "PUST_SECRET_KEY" in result.stderr
