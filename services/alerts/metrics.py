"""The alerts service's Prometheus metrics, built once by the composition root.

Plain Counter/Gauge work in prometheus_client's multiprocess mode (the launcher sets
``PROMETHEUS_MULTIPROC_DIR``); gauges say how to combine processes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertsMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.triage_backlog = Gauge(
            "pust_alerts_triage_backlog",
            "Committed readings and questionnaire responses not yet triaged",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.triage_lag_seconds = Gauge(
            "pust_alerts_triage_lag_seconds",
            "Age of the oldest committed reading or response not yet triaged (0: none)",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.job_last_success = Gauge(
            "pust_alerts_job_last_success_timestamp_seconds",
            "When each timer job (sweep, outbox relay, triage loop) last ran to the end",
            ["job"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.job_failures = Counter(
            "pust_alerts_job_failures_total",
            "Runs of a timer job that raised (database away, or a bug)",
            ["job"],
            registry=registry,
        )
        self.job_stale = Gauge(
            "pust_alerts_job_stale",
            "1 when a job has not succeeded within its staleness limit (readiness fails)",
            ["job"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.broker_drift_devices = Gauge(
            "pust_broker_drift_devices",
            "Devices whose broker client differed from the registry at the last reconcile "
            "(repaired; 'unknown': broker clients the registry does not know), per kind",
            ["kind"],
            registry=registry,
            multiprocess_mode="mostrecent",
        )
