"""A Mosquitto of the test's own with the dynamic-security plugin, on a free port.

The configuration is the deploy one (``deploy/mosquitto/mosquitto.conf``) with only the
listener, the data directory and the plugin's file moved into the test's directory; the
plugin's file starts as ``mosquitto_ctrl dynsec init`` makes it (one admin account).
"""

from __future__ import annotations

import getpass
import re
import socket
import subprocess
import time
from pathlib import Path

DEPLOY_CONF = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto" / "mosquitto.conf"
_REPLACED = re.compile(
    r"^(listener|persistence_location|plugin_opt_config_file|password_file|acl_file|user)\b.*$",
    re.M,
)
ADMIN_USER = "broker-admin"
ADMIN_PASSWORD = "broker-admin-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_config(port: int, data_dir: Path) -> str:
    text = _REPLACED.sub("", DEPLOY_CONF.read_text())
    text += (
        f"\nlistener {port} 127.0.0.1\npersistence_location {data_dir}/\n"
        f"plugin_opt_config_file {data_dir}/dynamic-security.json\n"
        # as root, mosquitto would switch to the "mosquitto" user, who cannot read pytest's
        # private temporary directories
        f"log_dest stderr\nlog_type error\nuser {getpass.getuser()}\n"
    )
    return text


class DynsecMosquitto:
    """``kind="deploy"``: deploy/mosquitto/mosquitto.conf; ``kind="demo"``: the configuration
    `pust up --demo` generates (pust_cli.demo_mosquitto)."""

    def __init__(self, directory: Path, *, kind: str = "deploy") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.admin_user, self.admin_password = ADMIN_USER, ADMIN_PASSWORD
        if kind == "demo":
            from pust_cli.demo_mosquitto import prepare

            demo = prepare(directory, self.port)
            assert demo is not None, "mosquitto with the dynamic-security plugin is needed"
            self.conf = demo.config
            self.admin_user, self.admin_password = (
                demo.environment()["PUST_BROKER_ADMIN_USERNAME"],
                demo.admin_password,
            )
        else:
            self.conf = directory / "mosquitto.conf"
            self.conf.write_text(render_config(self.port, directory))
            state = directory / "dynamic-security.json"
            if not state.exists():
                subprocess.run(
                    ["mosquitto_ctrl", "dynsec", "init", str(state), ADMIN_USER, ADMIN_PASSWORD],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, *, protocol: str = "5") -> str:
        return f"mqtt://127.0.0.1:{self.port}?protocol={protocol}"

    def start(self) -> DynsecMosquitto:
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                assert self._process.stderr is not None
                error = self._process.stderr.read().decode(errors="replace")
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
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None
