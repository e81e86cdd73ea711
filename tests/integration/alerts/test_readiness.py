"""The alerts service's readiness and metrics, with the real service: ``/readyz`` of its
health endpoint is ready once every timer job has run, not ready when a sweep has not
succeeded for too long; a sweep whose database is away is counted, logged at ERROR when it
keeps failing, and makes the service not ready; the triage backlog and lag are measured."""

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from pust.db.engine import build_engine
from pust.domain.clock import FrozenClock
from services.alerts.backlog import measure_backlog
from services.alerts.health import HealthServer
from services.alerts.metrics import AlertsMetrics
from services.alerts.service import AlertsService
from services.alerts.settings import AlertsSettings

from .world import NOW, add_reading, seed

JOBS = ("escalations", "missed", "silent", "outbox", "backlog", "triage")


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    return status, json.loads(body) if path != "/metrics" else body


class Running:
    def __init__(self, service: AlertsService, health: HealthServer, clock: FrozenClock) -> None:
        self.service, self.health, self.clock = service, health, clock


@pytest.fixture
def start_service(
    make_settings: Callable[..., object],
) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(db_url: str, engine: Engine, **overrides: object) -> Running:
        clock = FrozenClock(NOW)
        registry = CollectorRegistry()
        values: dict[str, object] = {
            "escalation_sweep_seconds": 3600,
            "missed_sweep_seconds": 3600,
            "silent_sweep_seconds": 3600,
            "backlog_measure_seconds": 3600,
            "outbox_poll_seconds": 0.2,
            "instance": uuid.uuid4().hex[:8],
        } | overrides
        service = AlertsService(
            settings=make_settings(db_url=db_url),  # type: ignore[operator]
            alerts=AlertsSettings(**values),  # type: ignore[arg-type]
            engine=engine,
            clock=clock,
            use_mqtt=False,
            metrics=AlertsMetrics(registry),
        )
        health = HealthServer(
            host="127.0.0.1", port=0, readiness=service.readiness, registry=registry
        )
        service.start()
        health.start()
        running = Running(service, health, clock)
        started.append(running)
        return running

    yield start
    for running in started:
        running.health.stop()
        running.service.stop()


def test_ready_once_every_job_ran_and_not_ready_when_a_sweep_is_stale(
    db_url: str, engine: Engine, start_service: Callable[..., Running]
) -> None:
    running = start_service(db_url, engine)
    jobs = running.service.jobs
    assert _wait(lambda: all(jobs.last_success(name) is not None for name in JOBS))
    status, body = _get(running.health.port, "/readyz")
    assert (status, body) == (200, {"status": "ready", "triage": True, "stale_jobs": []})
    # the hourly sweeps ran once at the start; 3 hours and a bit later they are stale (the
    # outbox relay and the triage loop run every fraction of a second and stay fresh)
    running.clock.advance(timedelta(hours=3, minutes=1))
    status, body = _get(running.health.port, "/readyz")
    assert status == 503 and body["status"] == "not ready"
    assert {"escalations", "missed", "silent"} <= set(body["stale_jobs"])
    assert _get(running.health.port, "/healthz") == (200, {"status": "ok"})
    metrics = _get(running.health.port, "/metrics")[1]
    assert 'pust_alerts_job_stale{job="silent"} 1.0' in metrics


@pytest.mark.expect_error_logs("alerts.job_failing")
def test_a_sweep_whose_database_is_away_is_counted_logged_and_not_ready(
    db_url: str, start_service: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    away = build_engine("postgresql://pust@127.0.0.1:1/pust")  # nothing listens on port 1
    try:
        running = start_service(db_url, away, escalation_sweep_seconds=0.2)

        def escalation_errors() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.levelname == "ERROR" and "job=escalations" in r.getMessage()
            ]

        assert _wait(lambda: bool(escalation_errors()))
        assert (
            "alerts.job_failing job=escalations error=OperationalError" in (escalation_errors()[0])
        )
        metrics = _get(running.health.port, "/metrics")[1]
        failures = [
            line
            for line in metrics.splitlines()
            if line.startswith('pust_alerts_job_failures_total{job="escalations"}')
        ]
        assert failures and float(failures[0].split()[-1]) >= 2
        running.clock.advance(timedelta(minutes=2))  # past the staleness floor, no success
        status, body = _get(running.health.port, "/readyz")
        assert status == 503 and "escalations" in body["stale_jobs"]
        assert "triage" in body["stale_jobs"]
    finally:
        away.dispose()


def test_the_triage_backlog_and_lag_are_measured(engine: Engine) -> None:
    world = seed(engine)
    add_reading(engine, world, type_="spo2", value=97, unit="%", measured_at=NOW)
    registry = CollectorRegistry()
    backlog = measure_backlog(engine, AlertsMetrics(registry), NOW + timedelta(minutes=1))
    assert backlog.rows == 1
    assert registry.get_sample_value("pust_alerts_triage_backlog") == 1
    # received a second after it was measured, a minute ago
    assert registry.get_sample_value("pust_alerts_triage_lag_seconds") == 59
