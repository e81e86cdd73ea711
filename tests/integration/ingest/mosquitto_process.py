"""A Mosquitto of the test's own, started from deploy/mosquitto/mosquitto.conf on a free port."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

DEPLOY_CONF = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto" / "mosquitto.conf"
_REPLACED = re.compile(
    r"^(listener|persistence_location|password_file|acl_file|allow_anonymous)\b.*$", re.M
)


def render_test_config(port: int, data_dir: Path) -> str:
    """The deploy configuration with only the listener, the data directory and the login
    rules changed (test tablets are not enrolled in a password file)."""
    text = _REPLACED.sub("", DEPLOY_CONF.read_text())
    return (
        text
        + f"\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        + f"persistence_location {data_dir}/\nlog_dest stderr\nlog_type error\n"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoProcess:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(render_test_config(self.port, directory))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> MosquittoProcess:
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self._process.stderr!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
