"""A throw-away world for one benchmark run: a fresh database, a broker, a unique topic root.

PostgreSQL: ``CREATE DATABASE pust_bench_<hex>`` on the configured server, dropped at the
end. SQLite: a file in a temporary directory. Broker: the configured one (PUST_MQTT_URL),
or an embedded broker started for the run on a free port. The topic root is unique, so the
run never meets anybody else's traffic.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pust.config.settings import Settings
from pust.db.engine import normalise_url
from pust.db.migrate import upgrade


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchEnvironment:
    settings: Settings
    database_url: str = ""
    mqtt_url: str = ""
    topic_root: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:10]}/pust/v1")
    service_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    broker_kind: str = ""
    database_kind: str = ""
    _database_name: str | None = None
    _server_url: str | None = None
    _temp_dir: Path | None = None
    _broker: subprocess.Popen[bytes] | None = None
    # a Mosquitto configuration to run a broker of our own with (its tuning, not its auth)
    own_mosquitto: Path | None = None

    def __enter__(self) -> BenchEnvironment:
        try:
            self._create_database()
            self._start_broker()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_postgresql(self) -> bool:
        return self.database_kind == "postgresql"

    def service_env(self, **extra: str) -> dict[str, str]:
        """Environment of a pust service process that belongs to this run."""
        env = dict(os.environ)
        env.update(
            PUST_DATABASE_URL=self.database_url,
            PUST_MQTT_URL=self.mqtt_url,
            PUST_TOPIC_ROOT=self.topic_root,
            PUST_SECRET_KEY=self.secret_key,
            PUST_SERVICE_MQTT_PASSWORD=self.service_password,
            PUST_DEMO="false",
            PUST_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(extra)
        return env

    def _create_database(self) -> None:
        configured = self.settings.database_url
        if configured and make_url(configured).get_backend_name() == "postgresql":
            self.database_kind = "postgresql"
            self._database_name = f"pust_bench_{uuid.uuid4().hex[:12]}"
            self._server_url = normalise_url(configured)
            admin = create_engine(self._server_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self._database_name}"'))
            admin.dispose()
            url = make_url(self._server_url).set(database=self._database_name)
            self.database_url = url.render_as_string(hide_password=False)
        else:
            self.database_kind = "sqlite"
            self._temp_dir = Path(tempfile.mkdtemp(prefix="pust-bench-"))
            self.database_url = f"sqlite:///{self._temp_dir / 'bench.sqlite3'}"
        upgrade(self.database_url)

    def _start_broker(self) -> None:
        if self.own_mosquitto is not None:
            self._start_own_mosquitto(self.own_mosquitto)
            return
        if self.settings.mqtt_url:
            self.mqtt_url = self.settings.mqtt_url
            self.broker_kind = f"broker at {make_url_safe(self.mqtt_url)}"
            return
        port = free_port()
        self._broker = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "pust_cli.bench.embedded_broker", str(port)],
            env=self.service_env(),
            # amqtt logs every duplicate PUBACK under QoS 1 load; the run reports outcomes
            stderr=subprocess.DEVNULL,
        )
        self._wait_for_port(port)
        self.mqtt_url = f"mqtt://127.0.0.1:{port}?protocol=3.1.1"
        self.broker_kind = "embedded (amqtt, MQTT 3.1.1)"

    def _start_own_mosquitto(self, config: Path) -> None:
        """Mosquitto with the given configuration's tuning (queues, inflight) on a free port,
        anonymous and without persistence: the deployed design, minus its credentials."""
        binary = shutil.which("mosquitto")
        if binary is None:
            raise RuntimeError("--own-mosquitto needs the mosquitto binary on PATH")
        dropped = (
            "listener",
            "password_file",
            "acl_file",
            "allow_anonymous",
            "persistence",
            "persistence_location",
            "persistence_file",
            "autosave_interval",
            "log_dest",
            "pid_file",
            "per_listener_settings",
            "include_dir",
            "plugin",  # dynamic security: the bench's clients are anonymous
            "plugin_opt_config_file",
        )
        kept = [
            line
            for line in config.read_text(encoding="utf-8").splitlines()
            if line.strip()
            and not line.lstrip().startswith("#")
            and line.split()[0] not in dropped
            # the deploy's authentication (dynamic security) is not the tuning we want
            and not line.split()[0].startswith(("plugin", "auth_plugin", "auth_opt_"))
        ]
        port = free_port()
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="pust-bench-"))
        generated = self._temp_dir / "mosquitto.conf"
        generated.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"listener {port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence false",
                    "log_dest stderr",
                    *kept,
                    "",
                ]
            ),
            encoding="utf-8",
        )
        self._broker = subprocess.Popen(  # noqa: S603 - fixed argv
            [binary, "-c", str(generated)], stderr=subprocess.DEVNULL
        )
        self._wait_for_port(port)
        self.mqtt_url = f"mqtt://127.0.0.1:{port}"
        self.broker_kind = f"own mosquitto with the tuning of {config.name}"

    def _wait_for_port(self, port: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the broker did not listen on port {port} within 20 s")

    @property
    def broker_pid(self) -> int | None:
        return None if self._broker is None else self._broker.pid

    def close(self) -> None:
        try:
            self._stop_broker()
            self._drop_database()
        finally:
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
                self._temp_dir = None

    def _stop_broker(self) -> None:
        if self._broker is not None and self._broker.poll() is None:
            self._broker.terminate()
            try:
                self._broker.wait(10)
            except subprocess.TimeoutExpired:
                self._broker.kill()
                self._broker.wait(5)

    def _drop_database(self) -> None:
        if self._database_name and self._server_url:
            admin = create_engine(self._server_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{self._database_name}" WITH (FORCE)')
                )
            admin.dispose()
            self._database_name = None


def make_url_safe(url: str) -> str:
    """The URL without credentials, for the report."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
