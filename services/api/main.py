"""Run the api service under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import uvicorn

from pust.config.settings import Settings
from services.api.app import create_app


def run(settings: Settings) -> None:
    """Serve on ``settings.http_host:http_port``; blocks. uvicorn handles SIGINT/SIGTERM by
    finishing in-flight requests and running the app's shutdown (engine disposed)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request paths carry citizen ids; the audit log records reads
        proxy_headers=True,
    )
    uvicorn.Server(config).run()
