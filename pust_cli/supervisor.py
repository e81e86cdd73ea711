"""Runs pust's services as child processes, restarts one that dies (unless it exited with
EX_CONFIG, 78: a restart will not help), stops all on Ctrl-C.

Each service is its own process (as in production), so killing one, even with kill -9,
is something the system survives: the database is the truth and the broker keeps the
persistent sessions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0)
# sysexits EX_CONFIG: the services exit with it when a restart will not help (the broker
# refused their credentials, a setting is wrong)
EXIT_CONFIG = 78


@dataclass
class ChildProcess:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_monotonic: float = 0.0
    given_up: bool = False  # exited with EX_CONFIG: not restarted

    def start(self) -> None:
        # own process group: Ctrl-C reaches only the supervisor, which stops the children
        # in order (clients before the broker)
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by pust itself
            self.argv, env=dict(self.env), start_new_session=True
        )
        self.started_monotonic = time.monotonic()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class Supervisor:
    children: list[ChildProcess] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    backoff: tuple[float, ...] = RESTART_BACKOFF_SECONDS

    def add(self, name: str, command: list[str], env: Mapping[str, str]) -> ChildProcess:
        child = ChildProcess(name, [sys.executable, "-m", "pust_cli.main", *command], env)
        self.children.append(child)
        return child

    def add_program(self, name: str, argv: list[str], env: Mapping[str, str]) -> ChildProcess:
        """A child that is not a pust command (the demo's Mosquitto)."""
        child = ChildProcess(name, argv, env)
        self.children.append(child)
        return child

    def start_all(self) -> None:
        for child in self.children:
            child.start()

    def watch(self) -> None:
        """Restart children that die, until stop() is called."""
        while not self.stopping.wait(0.5):
            self.check_once()

    def check_once(self) -> None:
        """One look at every child: restart one that died, with a backoff; one that exited
        with :data:`EXIT_CONFIG` is reported and left stopped (a restart will not help),
        while the others keep running."""
        for child in self.children:
            code = child.exited()
            if code is None or child.given_up or self.stopping.is_set():
                continue
            if code == EXIT_CONFIG:
                child.given_up = True
                print(
                    f"pust: {child.name} exited with code {code} (configuration: a restart "
                    f"will not help); not restarting it — fix the setting and run pust up "
                    f"again; the other services keep running",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            delay = self.backoff[min(child.restarts, len(self.backoff) - 1)]
            if time.monotonic() - child.started_monotonic > 60:
                child.restarts = 0  # it ran a while: a fresh failure, not a crash loop
            print(
                f"pust: {child.name} exited with code {code}; restarting in {delay:.0f}s",
                file=sys.stderr,
                flush=True,
            )
            if self.stopping.wait(delay):
                return
            child.restarts += 1
            child.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        # clients first, the broker last, so nobody loses its connection mid-shutdown
        for child in reversed(self.children):
            child.terminate()
            child.wait_or_kill(timeout)


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
