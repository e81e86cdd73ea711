"""The composition root: ``run(settings)`` builds the ingest service and runs it until
SIGINT/SIGTERM. Nothing here runs at import time."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.domain.clock import SystemClock
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

# sysexits EX_CONFIG: the broker refused our credentials; a restart will not help
EXIT_BAD_CREDENTIALS = 78
EXIT_WRITER_FAILED = 70
DEFAULT_METRICS_PORT = 9102


def run(settings: Settings, ingest: IngestSettings | None = None) -> None:
    """Run ingest until SIGINT/SIGTERM; raises SystemExit when it cannot go on."""
    ingest = ingest or IngestSettings()
    stop = threading.Event()
    previous = _install_signal_handlers(stop)
    engine = build_engine(settings.effective_database_url, pool_size=2)
    metrics = IngestMetrics(_metrics_registry(ingest))
    service = IngestService(
        settings=settings, ingest=ingest, engine=engine, metrics=metrics, clock=SystemClock()
    )
    exit_code = 0
    try:
        service.start(wait_seconds=None)
        log.info("ingest.started client_id=%s", ingest.client_id)
        while not stop.wait(0.5):
            if service.mqtt.fatal_error is not None:
                exit_code = EXIT_BAD_CREDENTIALS
                break
            if not service.writer.is_alive:
                exit_code = EXIT_WRITER_FAILED
                break
    finally:
        service.stop()
        engine.dispose()
        _restore_signal_handlers(previous)
        log.info("ingest.stopped")
    if exit_code:
        raise SystemExit(exit_code)


def _metrics_registry(ingest: IngestSettings) -> CollectorRegistry | None:
    """Our own registry, served on ``metrics_port``; in multiprocess mode the values go to
    PROMETHEUS_MULTIPROC_DIR and the endpoint (ours, or the launcher's) collects them all."""
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    port = ingest.metrics_port
    if port is None:
        port = 0 if multiprocess else DEFAULT_METRICS_PORT
    registry = CollectorRegistry()
    if port:
        served = registry
        if multiprocess:
            served = CollectorRegistry()
            MultiProcessCollector(served)  # type: ignore[no-untyped-call]
        start_http_server(port, addr=ingest.metrics_host, registry=served)
    return None if multiprocess else registry


_Handler = signal.Handlers | int | None | object


def _install_signal_handlers(stop: threading.Event) -> dict[int, _Handler]:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("ingest.stopping signal=%d", signum)
        stop.set()

    previous: dict[int, _Handler] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, request_stop)
    return previous


def _restore_signal_handlers(previous: dict[int, _Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]
