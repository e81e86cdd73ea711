"""Run the api service under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from uvicorn.supervisors import Multiprocess

from pust.config.logging import configure_logging
from pust.config.settings import Settings, load_settings
from services.api.app import create_app
from services.api.settings import ApiSettings


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
    """Serve on ``settings.http_host:http_port``; blocks until a stop signal. With
    ``PUST_API_WORKERS`` > 1, uvicorn's supervisor runs that many worker processes on one
    listening socket; each builds its app from ``settings``, handed down as ``PUST_*``
    environment variables."""
    workers = ApiSettings().workers
    if workers > 1:
        os.environ.update(settings_environment(settings))
        config = _config(settings, "services.api.main:app_from_environment", workers=workers)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    GracefulServer(_config(settings, create_app(settings))).run()


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``PUST_*`` variables that :func:`load_settings` reads back."""
    found: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, bool):
            text = "true" if text else "false"
        found[f"PUST_{name.upper()}"] = str(text)
    return found


def app_from_environment() -> FastAPI:
    """The app of one worker process (uvicorn's factory; settings from the environment)."""
    settings = load_settings()
    configure_logging(settings.log_level, service="api")
    return create_app(settings)


def _config(settings: Settings, app: FastAPI | str, *, workers: int = 1) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request paths carry citizen ids; the audit log records reads
        # X-Forwarded-* are believed only from PUST_API_TRUSTED_PROXIES, in the app
        # (services/api/client_origin.py)
        proxy_headers=False,
    )
