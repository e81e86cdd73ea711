"""Ingest says so when the broker comes back without its persistent session (issue 12)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection
from tests.conftest import TEST_SERVICE_PASSWORD, TEST_SERVICE_USER
from tests.integration.ingest.world import seed_devices


def _sessions_lost(service) -> float:
    return service.writer._metrics.sessions_lost._value.get()  # type: ignore[no-any-return]


def test_a_restart_that_finds_its_session_gone_is_reported(
    engine: Engine, mqtt, start_ingest, caplog: pytest.LogCaptureFixture
) -> None:
    seed_devices(engine)
    instance = f"session-{uuid.uuid4().hex[:6]}"
    first = start_ingest(instance=instance)
    assert _sessions_lost(first) == 0  # a first run has no session to find
    first.stop()

    kept = start_ingest(instance=instance)  # the broker kept the session
    assert _sessions_lost(kept) == 0
    kept.stop()

    # the broker loses the session (a restart without persistence; here a clean start
    # under ingest's client id, which discards it)
    wiper = MqttConnection(
        address=BrokerAddress.parse(
            mqtt.url, username=TEST_SERVICE_USER, password=TEST_SERVICE_PASSWORD
        ),
        client_id=f"pust-ingest-{instance}",
        persistent_session=False,
    )
    wiper.start(wait_seconds=10)
    wiper.stop()
    caplog.clear()

    lost = start_ingest(instance=instance)
    assert _sessions_lost(lost) == 1
    assert any("ingest.session_lost" in r.getMessage() for r in caplog.records)
