"""``run(settings)`` serves on the configured port and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port

SCRIPT = (
    "from pust.config.settings import Settings\n"
    "from services.api.main import run\n"
    "run(Settings(demo=True, database_url={url!r}, http_port={port}, mqtt_url='mqtt://127.0.0.1:1'))\n"
)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_and_stops_on_signal(db_url: str, stop: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(url=db_url, port=port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the api did not start")
        process.send_signal(stop)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
