"""The ingest service as a real process (``pust ingest``), for kill -9 tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PUST = Path(sys.executable).parent / "pust"


BATCH_STARTED = b"ingest.batch_started"
BATCH_DONE = b"ingest.batch_done"


def in_flight(run_log: bytes) -> bool:
    """The run's own log shows a batch received and not yet committed, answered and acked."""
    return run_log.count(BATCH_STARTED) > run_log.count(BATCH_DONE)


class IngestProcess:
    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self._env = {**os.environ, **env}
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._connects_seen = 0
        self._run_offset = 0
        # per kill: the killed run's own log, as it was when the process died
        self.killed_runs: list[bytes] = []

    def start(self) -> None:
        assert self._process is None
        self._run_offset = self._log_path.stat().st_size if self._log_path.exists() else 0
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(  # a fixed binary, our own arguments
                [str(PUST), "ingest"], env=self._env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight batches die wherever they are."""
        assert self._process is not None
        self._connects_seen = self._log_path.read_bytes().count(b"mqtt.connected")
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait(10)
        self._process = None
        self.killed_runs.append(self._run_log())

    def _run_log(self) -> bytes:
        return self._log_path.read_bytes()[self._run_offset :]

    def wait_batch_in_flight(self, batches: int, timeout: float = 30.0) -> bool:
        """Wait until this run has started ``batches`` batches and one of them is in flight
        (``ingest.batch_started`` logged, its ``ingest.batch_done`` not yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if in_flight(self._run_log()) and self._run_log().count(BATCH_STARTED) >= batches:
                return True
            if not self.running:
                return False
            time.sleep(0.002)
        return False

    def terminate(self) -> int:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        code = self._process.wait(120)  # a clean stop drains the batch in flight; slow under load
        self._process = None
        return code

    def wait_connected(self, timeout: float = 30.0) -> bool:
        """Wait for this run's first connection to the broker (imports take seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._log_path.read_bytes().count(b"mqtt.connected") > self._connects_seen:
                self._connects_seen += 1
                return True
            if not self.running:
                return False
            time.sleep(0.05)
        return False

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
