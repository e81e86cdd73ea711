"""The ingest service's Prometheus metrics, built once by the composition root.

Plain Counter/Histogram/Gauge work in prometheus_client's multiprocess mode (the launcher
sets ``PROMETHEUS_MULTIPROC_DIR``); gauges say how to combine processes.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_SIZES = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PerMessageCounter(Counter):
    """A labelled counter counted for every message: its children kept, since prometheus
    client's ``labels()`` validates and locks on every call."""

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> Any:
        if labelkwargs or len(labelvalues) != 1:
            return super().labels(*labelvalues, **labelkwargs)
        children: dict[Any, Any] = self.__dict__.setdefault("_children", {})
        child = children.get(labelvalues[0])
        if child is None:
            child = children[labelvalues[0]] = super().labels(*labelvalues)
        return child


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.received = _PerMessageCounter(
            "pust_ingest_received_total",
            "Messages received from devices, by channel",
            ["channel"],
            registry=registry,
        )
        self.outcomes = _PerMessageCounter(
            "pust_ingest_outcomes_total",
            "Committed messages by outcome (accepted, duplicate, rejected)",
            ["outcome"],
            registry=registry,
        )
        self.rejections = Counter(
            "pust_ingest_rejections_total",
            "Rejection reasons by error code (a message may have several)",
            ["code"],
            registry=registry,
        )
        self.readings = Counter(
            "pust_ingest_readings_total", "Reading rows written", registry=registry
        )
        self.batch_size = Histogram(
            "pust_ingest_batch_size",
            "Messages per committed batch",
            buckets=_BATCH_SIZES,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "pust_ingest_commit_seconds",
            "Time to write and commit one batch",
            buckets=_SECONDS,
            registry=registry,
        )
        self.lag_seconds = Histogram(
            "pust_ingest_lag_seconds",
            "From receiving a message to the commit of its batch",
            buckets=_SECONDS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "pust_ingest_queue_depth",
            "Messages received and waiting for a batch",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.stale_dropped = Counter(
            "pust_ingest_stale_arrivals_dropped_total",
            "Arrivals of an earlier broker connection dropped before writing (unacknowledged: "
            "the broker delivers them again on the new connection)",
            registry=registry,
        )
        self.internal_errors = Counter(
            "pust_ingest_internal_errors_total",
            "Messages quarantined as internal_error: failed to store (write), or delivered "
            "again and again without a commit (redelivered)",
            ["stage"],
            registry=registry,
        )
        self.publish_failures = Counter(
            "pust_ingest_publish_failures_total",
            "Receipts, hints or acks that could not be handed to the MQTT client",
            ["what"],
            registry=registry,
        )
        self.sessions_lost = Counter(
            "pust_ingest_sessions_lost_total",
            "Connections after which the broker had not kept our persistent session",
            registry=registry,
        )
        self.database_retries = Counter(
            "pust_ingest_database_retries_total",
            "Batches retried because the database was unreachable",
            registry=registry,
        )
