"""The bridge's Prometheus metrics, built once by the composition root."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.enqueued = Counter(
            "pust_bridge_enqueued_total",
            "Readings and responses found owed to the regional backend (enqueued, skipped)",
            ["outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "pust_bridge_attempts_total",
            "Submission attempts by outcome (sent, retry, dead)",
            ["outcome"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "pust_bridge_request_seconds",
            "Time of one $submit-measurement request",
            buckets=_SECONDS,
            registry=registry,
        )
        self.backlog = Gauge(
            "pust_bridge_backlog",
            "FHIR outbox rows by status (pending is the backlog; dead needs an administrator)",
            ["status"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.not_sendable = Gauge(
            "pust_bridge_not_sendable",
            "Readings not sent because their type has no FUT code (observation-codes)",
            ["type"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.oldest_pending_seconds = Gauge(
            "pust_bridge_oldest_pending_seconds",
            "Age of the oldest submission still owed",
            registry=registry,
            multiprocess_mode="liveall",
        )
