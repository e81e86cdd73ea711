"""Child processes of a benchmark run, with their peak resident memory sampled (psutil)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO

import psutil


class BenchProcess:
    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self._argv = [sys.executable, *argv]
        self._env = dict(env)
        self._process: subprocess.Popen[str] | None = None
        self._peak_rss = 0
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self, *, wait_for_line: str | None = None, timeout: float = 30.0) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - argv is built by the benchmark
            self._argv,
            env=self._env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._sampler = threading.Thread(target=self._sample, name=f"rss-{self.name}", daemon=True)
        self._sampler.start()
        stdout = self._process.stdout
        assert stdout is not None
        if wait_for_line is not None:
            deadline = time.monotonic() + timeout
            while True:
                line = stdout.readline()
                if line.strip() == wait_for_line:
                    break
                if (not line and self._process.poll() is not None) or (time.monotonic() > deadline):
                    raise RuntimeError(
                        f"{self.name} did not become ready (exit {self._process.poll()})"
                    )
        # keep reading, so a chatty child never blocks on a full pipe
        threading.Thread(target=_drain, args=(stdout,), daemon=True).start()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far, its worker processes' included (uvicorn's
        supervisor with ``PUST_API_WORKERS``); None once the process has gone."""
        if self._process is None:
            return None
        try:
            handle = psutil.Process(self._process.pid)
            total = sum(handle.cpu_times()[:2])
            for child in handle.children(recursive=True):
                try:
                    total += sum(child.cpu_times()[:2])
                except psutil.Error:
                    continue
        except psutil.Error:
            return None
        return float(total)

    def rss_mb(self) -> float:
        """Resident memory now (0 once the process has gone)."""
        if self._process is None:
            return 0.0
        try:
            return float(psutil.Process(self._process.pid).memory_info().rss) / (1024 * 1024)
        except psutil.Error:
            return 0.0

    @property
    def peak_rss_mb(self) -> float:
        return self._peak_rss / (1024 * 1024)

    def _sample(self) -> None:
        if self._process is None:
            return
        try:
            handle = psutil.Process(self._process.pid)
            while not self._stop_sampling.wait(0.1):
                self._peak_rss = max(self._peak_rss, handle.memory_info().rss)
        except psutil.Error:
            return  # the process has gone; the peak so far stands

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the scale-out part's kill -9)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join(2)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _drain(stream: IO[str]) -> None:
    try:
        for _line in stream:
            pass
    except (OSError, ValueError):
        return


def watch_external(pid: int | None, stop: threading.Event) -> list[int]:
    """Peak RSS samples of a process we did not start (e.g. the broker); one-element list
    holding the peak, updated until ``stop`` is set."""
    peak = [0]
    if pid is None:
        return peak

    def sample() -> None:
        try:
            handle = psutil.Process(pid)
            while not stop.wait(0.2):
                peak[0] = max(peak[0], handle.memory_info().rss)
        except psutil.Error:
            return

    threading.Thread(target=sample, name="rss-external", daemon=True).start()
    return peak
