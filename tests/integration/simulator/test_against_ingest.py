"""Simulated tablets against the real ingest service: every message gets its receipt, and
every reading the tablets measured is stored exactly once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from pust.db.tables import QuestionnaireResponse, Reading
from pust.domain.clock import SystemClock
from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.enrolment import enrol_cohort
from pust_cli.simulator.outbox import SqliteOutbox
from pust_cli.simulator.runner import Pace, WireClock, play
from pust_cli.simulator.tablet import build_fleet
from pust_cli.simulator.timeline import SimPlan, cohort_messages
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from tests.conftest import MqttTestBroker

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive


def test_simulated_cohort_is_stored_exactly_once(
    db_url: str, engine: Engine, mqtt: MqttTestBroker, make_settings: Callable[..., object]
) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    cohort = build_cohort(
        CohortSpec(
            citizens=4, start=start, days=2, seed=21, device_prefix=f"s{uuid.uuid4().hex[:6]}"
        )
    )
    device_ids = [c.device_id for c in cohort.citizens]
    enrol_cohort(engine, device_ids=device_ids, valid_from=start - timedelta(days=1))
    for device_id in device_ids:
        mqtt.add_user(device_id, "pw")
    messages = list(cohort_messages(cohort, SimPlan(status_interval=timedelta(hours=6))))
    observations = sum(
        len(m.payload["observations"]) for m in messages if m.channel is DeviceChannel.MEASUREMENTS
    )
    responses = sum(1 for m in messages if m.channel is DeviceChannel.QUESTIONNAIRE_RESPONSES)

    ingest = IngestService(
        settings=make_settings(db_url=db_url, mqtt=mqtt),  # type: ignore[arg-type]
        ingest=IngestSettings(instance=uuid.uuid4().hex[:8], metrics_port=0),
        engine=engine,
        metrics=IngestMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )
    ingest.start(wait_seconds=10)
    outbox = SqliteOutbox()
    fleet = build_fleet(
        mqtt_url=mqtt.url, topics=mqtt.topics, device_ids=device_ids, outbox=outbox, password="pw"
    )
    fleet.start()
    try:
        pace = Pace(sim_start=start, speed=0, wire_clock=WireClock.HISTORY)
        play(messages, fleet, pace, threading.Event(), progress=False)
        # re-sending twice as fast as normal exercises the duplicate path too
        assert fleet.wait_drained(90, resend_after=2.0)
    finally:
        fleet.stop()
        ingest.stop()
    assert ingest.mqtt.handler_errors == 0
    assert fleet.stats.receipts["rejected"] == 0
    assert fleet.stats.receipts["accepted"] == len(messages)
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Reading)).scalar_one()
        answered = connection.execute(
            select(func.count()).select_from(QuestionnaireResponse)
        ).scalar_one()
    assert stored == observations
    assert answered == responses
