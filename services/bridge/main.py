"""The push bridge's composition root: ``run(settings)`` polls and sends until SIGTERM.

``python -m services.bridge.main`` (or ``pust bridge``) starts it; it needs
``PUST_BRIDGE_BASE_URL`` and ``PUST_BRIDGE_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from prometheus_client import CollectorRegistry, start_http_server
from sqlalchemy.exc import DBAPIError

from pust.config.logging import configure_logging
from pust.config.settings import Settings, load_settings
from pust.db.engine import build_engine
from pust.domain.clock import Clock, SystemClock
from services.bridge.metrics import BridgeMetrics
from services.bridge.settings import BridgeSettings, load_bridge_settings
from services.bridge.transport import HttpTransport, token_source
from services.bridge.worker import BridgeWorker

log = logging.getLogger("pust.bridge")


def run(
    settings: Settings,
    bridge_settings: BridgeSettings | None = None,
    *,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
) -> None:
    bridge = bridge_settings or load_bridge_settings()
    if not bridge.base_url:
        raise SystemExit("pust bridge: set PUST_BRIDGE_BASE_URL and PUST_BRIDGE_ALLOWED_HOSTS")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    registry = CollectorRegistry()
    metrics = BridgeMetrics(registry)
    if bridge.metrics_port:
        start_http_server(bridge.metrics_port, addr=bridge.metrics_host, registry=registry)
    engine = build_engine(settings.effective_database_url, pool_size=bridge.concurrency + 1)
    clock = clock or SystemClock()
    transport = HttpTransport(bridge, token_source(bridge, clock))
    worker = BridgeWorker(
        engine=engine,
        transport=transport,
        settings=bridge,
        metrics=metrics,
        clock=clock,
    )
    log.info("bridge.started")
    full_scan = True  # the first poll looks back to each link: downtime is caught up
    failures = 0
    try:
        while not stop.is_set():
            try:
                result = worker.cycle(full_scan=full_scan)
            except DBAPIError as exc:
                failures += 1
                log.warning("bridge.database_unavailable error=%s", type(exc).__name__)
                stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            # keep looking back to the links until the catch-up has found everything
            full_scan = full_scan and result.saturated
            failures = 0
            if not result.busy:
                stop.wait(bridge.poll_interval_seconds)
    finally:
        transport.close()
        engine.dispose()
        log.info("bridge.stopped")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, service="bridge")
    started = time.monotonic()
    run(settings)
    log.info("bridge.exit uptime_seconds=%d", time.monotonic() - started)


if __name__ == "__main__":
    main()
