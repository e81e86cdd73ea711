"""Timer jobs that fail are seen: each run of a sweep (and the triage loop) reports to the
:class:`JobMonitor`, which counts failures, logs them — a first database error as a
warning, a repeated one and any other exception at ERROR — keeps the last success per job
for the metrics, and says which jobs are stale (no success within
``STALE_AFTER_INTERVALS`` × their interval, at least ``STALE_FLOOR``): the service's
readiness fails while one is."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from services.alerts.metrics import AlertsMetrics

log = logging.getLogger(__name__)

STALE_AFTER_INTERVALS = 3
# a slow delivery or a busy machine must not make a one-second job look dead
STALE_FLOOR = timedelta(seconds=60)
# the database may blink once; the second failure in a row is an error
ERROR_AFTER_FAILURES = 2


@dataclass
class _Job:
    interval: timedelta
    since: datetime  # registered (start of the service), or the last success
    last_success: datetime | None = None
    failures_in_a_row: int = 0


class JobMonitor:
    def __init__(self, *, now: Callable[[], datetime], metrics: AlertsMetrics) -> None:
        self._now = now
        self._metrics = metrics
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def register(self, name: str, *, interval_seconds: float) -> None:
        with self._lock:
            self._jobs[name] = _Job(timedelta(seconds=interval_seconds), self._now())
        self._metrics.job_stale.labels(job=name).set(0)

    def guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        """``job`` as a scheduler job: never raises, always reports."""

        def run() -> None:
            try:
                job()
            except Exception as exc:  # every failure is counted and logged, none escapes
                self.failed(name, exc)
            else:
                self.succeeded(name)

        return run

    def succeeded(self, name: str) -> None:
        now = self._now()
        with self._lock:
            record = self._jobs[name]
            record.last_success = record.since = now
            record.failures_in_a_row = 0
        self._metrics.job_last_success.labels(job=name).set(now.timestamp())

    def failed(self, name: str, exc: BaseException) -> None:
        with self._lock:
            record = self._jobs[name]
            record.failures_in_a_row += 1
            in_a_row = record.failures_in_a_row
        self._metrics.job_failures.labels(job=name).inc()
        error = type(exc).__name__  # the type only: a message may carry values
        if not isinstance(exc, SQLAlchemyError):
            # not an outage: a bug, and an alarm path may be broken
            log.error(
                "alerts.job_failed job=%s error=%s in_a_row=%d",
                name,
                error,
                in_a_row,
                exc_info=exc,
            )
        elif in_a_row >= ERROR_AFTER_FAILURES:
            log.error("alerts.job_failing job=%s error=%s in_a_row=%d", name, error, in_a_row)
        else:
            log.warning("alerts.job_failed job=%s error=%s in_a_row=%d", name, error, in_a_row)

    def stale(self) -> list[str]:
        """The jobs without a success within their limit, by name."""
        now = self._now()
        with self._lock:
            found = sorted(
                name
                for name, job in self._jobs.items()
                if now - job.since > max(job.interval * STALE_AFTER_INTERVALS, STALE_FLOOR)
            )
            names = list(self._jobs)
        for name in names:
            self._metrics.job_stale.labels(job=name).set(1 if name in found else 0)
        return found

    def last_success(self, name: str) -> datetime | None:
        with self._lock:
            return self._jobs[name].last_success
