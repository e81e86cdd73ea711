"""Liveness, readiness and metrics of the api service."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pust.config.settings import Settings
from services.api.app import create_app
from tests.conftest import MqttTestBroker


class FakeBroker:
    """Answers one MQTT CONNECT per connection with a CONNACK (accepted)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                if conn.recv(1024)[:1] == b"\x10":
                    conn.sendall(b"\x20\x02\x00\x00")
                    conn.recv(16)

    def close(self) -> None:
        self._server.close()


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def broker() -> Iterator[FakeBroker]:
    fake = FakeBroker()
    yield fake
    fake.close()


def _settings(tmp_path: Path, mqtt_url: str) -> Settings:
    return Settings(
        demo=True, database_url=f"sqlite:///{tmp_path / 'h.sqlite3'}", mqtt_url=mqtt_url
    )


def test_healthz_and_readyz_when_everything_is_up(tmp_path: Path, broker: FakeBroker) -> None:
    app = create_app(_settings(tmp_path, f"mqtt://127.0.0.1:{broker.port}"))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "database": True, "broker": True}


def test_readyz_is_503_problem_when_broker_is_down(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, f"mqtt://127.0.0.1:{_free_port()}"))
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        body = ready.json()
        assert body["status"] == 503
        assert "broker" in body["detail"]
        assert {"type", "title", "status", "detail"} <= body.keys()


def test_readyz_is_503_when_database_is_unreachable(tmp_path: Path, broker: FakeBroker) -> None:
    settings = Settings(
        demo=True,
        database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}",
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "database" in ready.json()["detail"]


def test_metrics_are_prometheus_text(tmp_path: Path, broker: FakeBroker) -> None:
    app = create_app(_settings(tmp_path, f"mqtt://127.0.0.1:{broker.port}"))
    with TestClient(app) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "# HELP" in response.text


def test_readyz_against_the_real_broker(
    db_url: str, make_settings: Callable[..., Settings], mqtt: MqttTestBroker
) -> None:
    with TestClient(create_app(make_settings(db_url=db_url, mqtt=mqtt))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "database": True, "broker": True}
