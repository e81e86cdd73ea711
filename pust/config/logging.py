"""Logging: one event per line, ids only. Messages are written as ``event key=value``."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO", *, service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)s {service} %(name)s %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # third-party chatter (amqtt logs client ids and topics at INFO)
    for noisy in ("amqtt", "transitions", "apscheduler", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
