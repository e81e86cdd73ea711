"""Fixtures with real services, chosen in this order:

1. services named by environment variables (CI: the machine's PostgreSQL and Mosquitto):
   ``PUST_TEST_DATABASE_URL`` (a PostgreSQL server URL; each test gets its own database
   cloned from a migrated template) and ``PUST_TEST_MQTT_URL``;
2. else testcontainers, when a Docker engine is reachable;
3. else the embedded defaults: SQLite files and the in-process amqtt broker.

Integration tests take ``db_url`` / ``engine``, which are parametrized over SQLite and
PostgreSQL; the PostgreSQL half is skipped only when no PostgreSQL can be had at all.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.db.engine import build_engine, normalise_url
from pust.db.migrate import upgrade
from pust.messaging.topics import Topics
from tests import child_logs

TEST_SERVICE_USER = "pust-service"
TEST_SERVICE_PASSWORD = "test-service-password"
TEST_SECRET_KEY = "test-secret-key-not-for-production"


# --- PostgreSQL ---------------------------------------------------------------------------


def _docker_reachable() -> bool:
    if not (Path("/var/run/docker.sock").exists() or os.environ.get("DOCKER_HOST")):
        return False
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str | None]:
    """A PostgreSQL server URL (any database on it), or None when none can be had."""
    url = os.environ.get("PUST_TEST_DATABASE_URL")
    if url:
        yield normalise_url(url)
        return
    if _docker_reachable():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    yield None


def _admin_execute(server_url: str, *statements: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    with psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname=url.database or "postgres",
        autocommit=True,
    ) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]


def _database_url(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str | None) -> Iterator[str | None]:
    """A migrated template database, cloned per test (CREATE DATABASE … TEMPLATE)."""
    if postgres_server_url is None:
        yield None
        return
    name = f"pust_tpl_{uuid.uuid4().hex[:10]}"
    _admin_execute(postgres_server_url, f'CREATE DATABASE "{name}"')
    upgrade(_database_url(postgres_server_url, name))
    yield name
    _admin_execute(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(
    db_backend: str,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_server_url: str | None,
    postgres_template: str | None,
) -> Iterator[str]:
    """A freshly migrated database of its own for this test."""
    if db_backend == "sqlite":
        path = tmp_path / "pust.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if postgres_server_url is None or postgres_template is None:
        pytest.skip("no PostgreSQL: set PUST_TEST_DATABASE_URL or make Docker reachable")
    name = f"pust_t_{uuid.uuid4().hex[:12]}"
    _admin_execute(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield _database_url(postgres_server_url, name)
    finally:
        _admin_execute(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    built = build_engine(db_url)
    yield built
    built.dispose()


# --- MQTT ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MqttTestBroker:
    url: str
    topic_root: str
    supports_shared_subscriptions: bool
    service_username: str = TEST_SERVICE_USER
    service_password: str = TEST_SERVICE_PASSWORD
    _users: dict[str, str] | None = field(default=None, repr=False)

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_root)

    def add_user(self, username: str, password: str) -> None:
        """Let a tablet log in (embedded broker). Mosquitto here allows anonymous users."""
        if self._users is not None:
            self._users[username] = password


@dataclass
class _BrokerServer:
    url: str
    shared_subscriptions: bool
    users: dict[str, str] | None


@pytest.fixture(scope="session")
def mqtt_server() -> Iterator[_BrokerServer]:
    url = os.environ.get("PUST_TEST_MQTT_URL")
    if url:
        yield _BrokerServer(url, shared_subscriptions="protocol=3" not in url, users=None)
        return
    from pust.messaging.embedded_broker import BrokerPolicy, EmbeddedBroker

    users: dict[str, str] = {TEST_SERVICE_USER: TEST_SERVICE_PASSWORD}

    class _EveryoneIsService(frozenset[str]):
        # tests use a fresh topic root per test, so the embedded broker's per-device ACL
        # (tested on its own in tests/integration/test_embedded_broker.py) is off here
        def __contains__(self, item: object) -> bool:
            return True

    policy = BrokerPolicy(
        # a service process logs in as ``account:client-id``
        check_credentials=lambda user, password: users.get(user.partition(":")[0]) == password,
        service_usernames=_EveryoneIsService(),
        topics=Topics(),
    )
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, policy)
    broker.start()
    yield _BrokerServer(f"mqtt://127.0.0.1:{port}?protocol=3.1.1", False, users)
    broker.stop()


@pytest.fixture
def mqtt(mqtt_server: _BrokerServer) -> MqttTestBroker:
    """The broker, with a topic root of this test's own."""
    return MqttTestBroker(
        url=mqtt_server.url,
        topic_root=f"t-{uuid.uuid4().hex[:10]}/pust/v1",
        supports_shared_subscriptions=mqtt_server.shared_subscriptions,
        _users=mqtt_server.users,
    )


@pytest.fixture
def make_settings(tmp_path: Path) -> object:
    """``make_settings(db_url=…, mqtt=…, **overrides) -> Settings`` for services under test."""

    def build(*, db_url: str, mqtt: MqttTestBroker | None = None, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "demo": False,
            "data_dir": tmp_path / "pust-data",
            "database_url": db_url,
            "secret_key": TEST_SECRET_KEY,
            "service_mqtt_username": TEST_SERVICE_USER,
            "service_mqtt_password": TEST_SERVICE_PASSWORD,
        }
        if mqtt is not None:
            values["mqtt_url"] = mqtt.url
            values["topic_root"] = mqtt.topic_root
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


# --- no silent failures -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """A test in which pust logged an ERROR (an exception caught and logged), in the test's
    process or in a child process whose log it opened with ``tests.child_logs.child_log``,
    fails, unless the error's event is named by ``@pytest.mark.expect_error_logs("event",
    …)``; each event named there must have been logged at ERROR (the error is what the test
    tests). A traceback in a child's log counts as the event ``traceback``."""
    caplog.set_level(logging.INFO)
    directory = tmp_path_factory.mktemp("child-logs", numbered=True)
    child_logs.begin_test(directory)
    saved_logging = _logging_state()
    try:
        yield
    finally:
        child_logs.end_test()
        _restore_logging(saved_logging)
    marker = request.node.get_closest_marker("expect_error_logs")
    expected = set(marker.args) if marker else set()
    errors = [
        child_logs.LoggedError(
            "in-process", r.name, child_logs.event_of(r.getMessage()), r.getMessage()
        )
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("pust", "services", "pust_cli")
    ] + child_logs.logged_errors(directory)
    unexpected = [e for e in errors if e.event not in expected]
    if unexpected:
        pytest.fail(
            "pust logged errors during the test: "
            + "; ".join(f"[{e.source}] {e.logger}: {e.line}" for e in unexpected[:5])
        )
    missing = expected - {e.event for e in errors}
    if missing:
        pytest.fail(f"expected error log events were not logged: {sorted(missing)}")


def _logging_state() -> tuple[list[logging.Handler], int, dict[str, int]]:
    root = logging.getLogger()
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    return list(root.handlers), root.level, levels


def _restore_logging(state: tuple[list[logging.Handler], int, dict[str, int]]) -> None:
    """Undo what ``configure_logging`` (a CLI called in-process) did to global logging: its
    handler writes to the stderr of a test that has ended."""
    handlers, level, levels = state
    root = logging.getLogger()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
