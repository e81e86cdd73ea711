"""The alerts service's own operations endpoint (``PUST_ALERTS_HEALTH_PORT``): ``/healthz``
(the process answers), ``/readyz`` (503 while the triage loop is dead or a timer job is
stale, see :mod:`services.alerts.job_health`) and ``/metrics`` (Prometheus; in
multiprocess mode every process's values, as ingest serves them)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Readiness:
    triage_alive: bool
    stale_jobs: list[str]

    @property
    def ready(self) -> bool:
        return self.triage_alive and not self.stale_jobs

    def document(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "triage": self.triage_alive,
            "stale_jobs": self.stale_jobs,
        }


def _metrics_body(registry: CollectorRegistry | None) -> bytes:
    if registry is None or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        served = CollectorRegistry()
        multiprocess.MultiProcessCollector(served)  # type: ignore[no-untyped-call]
        return generate_latest(served)
    return generate_latest(registry)


class HealthServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        readiness: Callable[[], Readiness],
        registry: CollectorRegistry | None,
    ) -> None:
        handler = _handler(readiness, registry)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="alerts-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("alerts.health_listening port=%d", self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(
    readiness: Callable[[], Readiness], registry: CollectorRegistry | None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
            elif self.path == "/readyz":
                state = readiness()
                body = json.dumps(state.document()).encode()
                self._send(200 if state.ready else 503, "application/json", body)
            elif self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, _metrics_body(registry))
            else:
                self._send(404, "application/json", json.dumps({"status": "not found"}).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every few seconds are not news

    return Handler
