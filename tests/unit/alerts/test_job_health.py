"""Timer-job failures are visible: counted, logged (repeated ones at ERROR), and a job
without a success for too long makes the service not ready. Fakes only: a frozen clock and
a registry of its own."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError

from pust.domain.clock import FrozenClock
from services.alerts.job_health import STALE_FLOOR, JobMonitor
from services.alerts.metrics import AlertsMetrics

START = datetime(2026, 11, 23, 10, tzinfo=UTC)


def monitor() -> tuple[JobMonitor, FrozenClock, CollectorRegistry]:
    clock, registry = FrozenClock(START), CollectorRegistry()
    jobs = JobMonitor(now=clock.now, metrics=AlertsMetrics(registry))
    jobs.register("escalations", interval_seconds=30)
    jobs.register("silent", interval_seconds=300)
    return jobs, clock, registry


def database_down() -> None:
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def sample(registry: CollectorRegistry, name: str, job: str) -> float | None:
    return registry.get_sample_value(name, {"job": job})


def test_a_success_is_the_last_success_metric() -> None:
    jobs, clock, registry = monitor()
    clock.advance(timedelta(seconds=5))
    jobs.guarded("escalations", lambda: 3)()
    assert jobs.last_success("escalations") == clock.now()
    last = sample(registry, "pust_alerts_job_last_success_timestamp_seconds", "escalations")
    assert last == clock.now().timestamp()


@pytest.mark.expect_error_logs("alerts.job_failing")
def test_a_repeated_database_failure_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    jobs, _, registry = monitor()
    run = jobs.guarded("escalations", database_down)
    run()
    first = [r for r in caplog.records if "job_fail" in r.getMessage()]
    assert [r.levelno for r in first] == [logging.WARNING]
    run()
    levels = [r.levelno for r in caplog.records if "job_fail" in r.getMessage()]
    assert levels == [logging.WARNING, logging.ERROR]
    assert "job=escalations" in caplog.records[-1].getMessage()
    assert sample(registry, "pust_alerts_job_failures_total", "escalations") == 2
    jobs.guarded("escalations", lambda: None)()  # back: the next failure is a first again
    run()
    assert caplog.records[-1].levelno == logging.WARNING


@pytest.mark.expect_error_logs("alerts.job_failed")
def test_any_other_exception_is_an_error_at_once(caplog: pytest.LogCaptureFixture) -> None:
    jobs, _, registry = monitor()

    def bug() -> None:
        raise KeyError("red")

    jobs.guarded("silent", bug)()  # never escapes into APScheduler's log
    [record] = [r for r in caplog.records if "job_fail" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert sample(registry, "pust_alerts_job_failures_total", "silent") == 1


def test_a_job_without_success_for_too_long_is_stale() -> None:
    jobs, clock, registry = monitor()
    assert jobs.stale() == []
    clock.advance(STALE_FLOOR + timedelta(seconds=1))  # 3 × 30 s = 90 s is the limit here
    assert jobs.stale() == []
    clock.advance(timedelta(seconds=30))
    assert jobs.stale() == ["escalations"]  # never succeeded since the start
    assert sample(registry, "pust_alerts_job_stale", "escalations") == 1
    jobs.succeeded("escalations")
    clock.advance(timedelta(minutes=15, seconds=1))  # silent: 3 × 300 s
    assert jobs.stale() == ["escalations", "silent"]
    jobs.guarded("escalations", lambda: None)()
    jobs.guarded("silent", database_down)  # built, not run: nothing changes
    assert jobs.stale() == ["silent"]
    assert sample(registry, "pust_alerts_job_stale", "escalations") == 0
