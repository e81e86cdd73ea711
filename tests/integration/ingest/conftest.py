"""An in-process ingest service on the test's database and broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from pust.domain.clock import Clock, FrozenClock
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings

# the contract's examples were taken on the morning of 2026-11-23 in Copenhagen
EXAMPLES_RECEIVED_AT = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)


@pytest.fixture
def start_ingest(
    db_url: str, engine: Engine, mqtt: object, make_settings: Callable[..., object]
) -> Iterator[Callable[..., IngestService]]:
    started: list[IngestService] = []

    def start(
        *,
        clock: Clock | None = None,
        instance: str | None = None,
        settings_overrides: dict[str, object] | None = None,
        **overrides: object,
    ) -> IngestService:
        settings = make_settings(db_url=db_url, mqtt=mqtt, **(settings_overrides or {}))
        ingest = IngestSettings(
            instance=instance or uuid.uuid4().hex[:8],
            metrics_port=0,
            **overrides,  # type: ignore[arg-type]
        )
        service = IngestService(
            settings=settings,  # type: ignore[arg-type]
            ingest=ingest,
            engine=engine,
            metrics=IngestMetrics(CollectorRegistry()),
            clock=clock or FrozenClock(EXAMPLES_RECEIVED_AT),
        )
        service.start(wait_seconds=10)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()  # stopping twice is harmless
        assert service.mqtt.handler_errors == 0
        assert service.writer.failure is None
