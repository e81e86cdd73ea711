"""Run the api service under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from pust.config.settings import Settings
from services.api.app import create_app


class GracefulServer(uvicorn.Server):
    """On SIGINT/SIGTERM: finish in-flight requests, run the app's shutdown, and return
    normally (uvicorn itself would re-raise the signal, so the process would end 'killed').
    A second SIGINT forces the exit."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def run(settings: Settings) -> None:
    """Serve on ``settings.http_host:http_port``; blocks until a stop signal."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request paths carry citizen ids; the audit log records reads
        # X-Forwarded-* are believed only from PUST_API_TRUSTED_PROXIES, in the app
        # (services/api/client_origin.py)
        proxy_headers=False,
    )
    GracefulServer(config).run()
