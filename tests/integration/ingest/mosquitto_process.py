"""A Mosquitto of the test's own, started from deploy/mosquitto/mosquitto.conf on a free port."""

from __future__ import annotations

import getpass
import re
import socket
import subprocess
import time
from pathlib import Path

DEPLOY_CONF = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto" / "mosquitto.conf"
_REPLACED = re.compile(
    r"^(listener|persistence_location|password_file|acl_file|allow_anonymous|plugin\w*)\b.*$", re.M
)


def render_test_config(port: int, data_dir: Path) -> str:
    """The deploy configuration with only the listener and the data directory changed, and
    anyone may log in (test tablets are not enrolled; the dynamic-security setup is tested
    in tests/integration/broker)."""
    text = _REPLACED.sub("", DEPLOY_CONF.read_text())
    text += f"\nlistener {port} 127.0.0.1\npersistence_location {data_dir}/\n"
    # run as root, mosquitto would switch to the "mosquitto" user, who cannot read pytest's
    # private temporary directories
    text += f"log_dest stderr\nlog_type error\nuser {getpass.getuser()}\n"
    return text + "allow_anonymous true\n"


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
                assert self._process.stderr is not None
                error = self._process.stderr.read().decode(errors="replace")
                self._process.stderr.close()
                raise RuntimeError(f"mosquitto exited: {error}")
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
