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
    # "skipped: maximum number of running instances reached" every second while a long
    # triage batch runs is expected (the next run picks up the rest), not a warning
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    handler.addFilter(_drop_health_probe_noise)


def _drop_health_probe_noise(record: logging.LogRecord) -> bool:
    # A TCP health probe (readyz, the launcher) opens and closes a connection without an MQTT
    # packet; amqtt reports that at ERROR. It is not an error.
    if record.name.startswith("amqtt"):
        message = record.getMessage()
        return "No data to decode MQTT packet" not in message and "No data from" not in message
    return True
