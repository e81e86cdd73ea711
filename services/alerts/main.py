"""The composition root: ``run(settings)`` builds the alerts service and runs it until
SIGINT/SIGTERM. Nothing here runs at import time."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from prometheus_client import CollectorRegistry

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.domain.clock import SystemClock
from services.alerts.health import HealthServer
from services.alerts.metrics import AlertsMetrics
from services.alerts.service import AlertsService
from services.alerts.settings import AlertsSettings

log = logging.getLogger(__name__)

# sysexits EX_CONFIG: the broker refused our credentials; a restart will not help
EXIT_BAD_CREDENTIALS = 78
EXIT_WORKER_FAILED = 70


def run(settings: Settings, alerts: AlertsSettings | None = None) -> None:
    """Run the alerts service until SIGINT/SIGTERM; raises SystemExit when it cannot go on."""
    alerts = alerts or AlertsSettings()
    stop = threading.Event()
    previous = _install_signal_handlers(stop)
    engine = build_engine(settings.effective_database_url, pool_size=4)
    # in multiprocess mode the values go to PROMETHEUS_MULTIPROC_DIR (the launcher's API
    # serves them with every other process's); else to our own registry
    registry = None if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else CollectorRegistry()
    service = AlertsService(
        settings=settings,
        alerts=alerts,
        engine=engine,
        clock=SystemClock(),
        metrics=AlertsMetrics(registry),
    )
    health: HealthServer | None = None
    if alerts.health_port is not None:
        health = HealthServer(
            host=alerts.health_host,
            port=alerts.health_port,
            readiness=service.readiness,
            registry=registry,
        )
    exit_code = 0
    try:
        service.start(wait_seconds=None)
        if health is not None:
            health.start()
        log.info("alerts.started client_id=%s", alerts.client_id)
        while not stop.wait(0.5):
            if service.mqtt is not None and service.mqtt.fatal_error is not None:
                exit_code = EXIT_BAD_CREDENTIALS
                break
            if not service.triage_alive:
                exit_code = EXIT_WORKER_FAILED
                break
    finally:
        if health is not None:
            health.stop()
        service.stop()
        engine.dispose()
        _restore_signal_handlers(previous)
        log.info("alerts.stopped")
    if exit_code:
        raise SystemExit(exit_code)


_Handler = signal.Handlers | int | None | object


def _install_signal_handlers(stop: threading.Event) -> dict[int, _Handler]:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("alerts.stopping signal=%d", signum)
        stop.set()

    previous: dict[int, _Handler] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, request_stop)
    return previous


def _restore_signal_handlers(previous: dict[int, _Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]
