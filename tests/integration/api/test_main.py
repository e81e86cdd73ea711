"""``run(settings)`` serves on the configured port and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
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


def test_several_worker_processes_serve_one_port_and_stop_on_sigterm(db_url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(url=db_url, port=port)],
        env={**os.environ, "PUST_API_WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the api did not start")
        workers = {
            child.pid
            for child in psutil.Process(process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())  # not multiprocessing's tracker
        }
        assert len(workers) == 2  # the supervisor's two worker processes
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not any(psutil.pid_exists(pid) and _alive(pid) for pid in workers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
