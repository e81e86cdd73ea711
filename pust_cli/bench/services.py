"""pust's own services as child processes of a benchmark run (`pust ingest` etc.)."""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from datetime import UTC, datetime

from pust.messaging.topics import DeviceChannel
from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.environment import BenchEnvironment, free_port
from pust_cli.bench.processes import BenchProcess
from pust_cli.bench.workload import BenchMessage, device_ids


def available(service: str) -> bool:
    """Is the service's composition root part of this checkout?"""
    try:
        return importlib.util.find_spec(f"services.{service}.main") is not None
    except ModuleNotFoundError:
        return False


def start_service(
    env: BenchEnvironment, service: str, driver: BenchDriver, prefix: str, **extra_env: str
) -> BenchProcess:
    extra = {
        "PUST_INGEST_INSTANCE": f"bench-{uuid.uuid4().hex[:8]}",
        "PUST_INGEST_METRICS_PORT": "0",
        "PUST_INGEST_SESSION_EXPIRY_SECONDS": "300",
        "PUST_ALERTS_METRICS_PORT": "0",
        "PUST_HTTP_PORT": str(free_port()),
        **extra_env,
    }
    process = BenchProcess(service, ["-m", "pust_cli.main", service], env.service_env(**extra))
    process.start()
    try:
        if service == "ingest":
            _wait_for_receipts(process, driver, prefix)
    except BaseException:
        process.stop()  # never leave a child behind
        raise
    return process


def _wait_for_receipts(process: BenchProcess, driver: BenchDriver, prefix: str) -> None:
    """Ingest is ready when a status message gets its receipt."""
    device = device_ids(prefix, 1)[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not process.alive:
            raise RuntimeError("ingest exited during start-up")
        payload = {
            "message_id": str(uuid.uuid4()),
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        probe = BenchMessage(
            device, DeviceChannel.STATUS, payload["message_id"], json.dumps(payload).encode()
        )
        if driver.closed_loop([probe], window=1, timeout=3.0).done:
            return
    raise RuntimeError("ingest sent no receipt within 60 s")
