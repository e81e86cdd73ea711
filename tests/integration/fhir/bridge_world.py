"""The bridge tests' one set-up: settings aimed at the mock regional server (with its OAuth
token endpoint), a worker on the real HTTP transport and token source, a drain loop."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import OutboxMessage
from pust.domain.clock import FrozenClock
from services.bridge.metrics import BridgeMetrics
from services.bridge.settings import BridgeSettings
from services.bridge.transport import HttpTransport, TokenSource, token_source
from services.bridge.worker import BridgeWorker
from tests.integration.fhir.regional_server import RegionalServer


def bridge_settings(server: RegionalServer, **overrides: Any) -> BridgeSettings:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "allowed_hosts": "127.0.0.1",
        "allow_http": True,
        "timeout_seconds": 0.5,
        "backoff_initial_seconds": 1.0,
        "backoff_max_seconds": 60.0,
        "max_attempts": 8,
        "lease_seconds": 30.0,
        "batch_size": 10,
        "bp_pair_grace_seconds": 30,
        "metrics_port": 0,
    }
    if server.oauth is not None:
        values.update(server.oauth_settings())
    values.update(overrides)
    return BridgeSettings(**values)


def make_worker(
    engine: Engine,
    server: RegionalServer,
    clock: FrozenClock,
    *,
    tokens: TokenSource | None = None,
    **overrides: Any,
) -> tuple[BridgeWorker, CollectorRegistry]:
    settings = bridge_settings(server, **overrides)
    registry = CollectorRegistry()
    transport = HttpTransport(settings, tokens or token_source(settings, clock))
    worker = BridgeWorker(
        engine=engine,
        transport=transport,
        settings=settings,
        metrics=BridgeMetrics(registry),
        clock=clock,
        rng=random.Random(1),
    )
    return worker, registry


def drain(worker: BridgeWorker, clock: FrozenClock, rounds: int = 60) -> None:
    for _ in range(rounds):
        worker.cycle(full_scan=True)
        clock.advance(timedelta(seconds=61))


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as s:
        return Counter(m.status for m in s.exec(select(OutboxMessage)).all())
