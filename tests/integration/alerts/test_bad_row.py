"""A row the database refuses does not hold up the others: the batch fails, the worker
retries row by row, the bad row becomes a technical alert (a nurse sees that a reading could
not be triaged) and every other row is triaged as usual."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.tables import Alert, AlertEvent, Reading, TriageResult
from pust.domain.clock import FrozenClock
from pust.messaging.topics import Topics
from services.alerts import triage_worker
from services.alerts.alert_effects import Source
from services.alerts.triage_worker import TriageWorker

from .world import NOW, add_reading, seed


def test_a_refused_row_becomes_a_technical_alert_and_the_others_are_triaged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = seed(engine)
    red = add_reading(engine, world, type_="spo2", value=86, unit="%", measured_at=NOW)
    bad = add_reading(
        engine, world, type_="spo2", value=85, unit="%", measured_at=NOW + timedelta(minutes=5)
    )
    green = add_reading(
        engine, world, type_="spo2", value=96, unit="%", measured_at=NOW + timedelta(minutes=9)
    )

    # the fault: the database refuses whatever the triage of one reading writes (a bug or
    # bad data; not an outage, which is an OperationalError and is retried later instead)
    real_apply = triage_worker.apply_triages

    def refusing(session: Any, verdicts: list[tuple[Any, Source]], **kwargs: Any) -> Any:
        if any(source.reading_id == bad for _triage, source in verdicts):
            raise DataError("INSERT INTO alert …", {}, ValueError("value refused"))
        return real_apply(session, verdicts, **kwargs)

    monkeypatch.setattr(triage_worker, "apply_triages", refusing)
    worker = TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t/pust/v1"))
    with caplog.at_level(logging.WARNING, logger="services.alerts.triage_worker"):
        assert worker.drain() == 3
    assert worker.drain() == 0

    events = [record.getMessage().split(" ", 1)[0] for record in caplog.records]
    assert events.count("triage.batch_failed") == 1
    assert events.count("triage.row_failed") == 1
    with session_scope(engine) as session:
        readings = {r.id: r for r in session.exec(select(Reading)).all()}
        results = {r.reading_id: r for r in session.exec(select(TriageResult)).all()}
        alerts = session.exec(select(Alert).order_by(Alert.rule_key)).all()
        opened = session.exec(select(AlertEvent).where(AlertEvent.kind == "opened")).all()
    # nothing waits: every reading is done, the bad one included
    assert all(reading.triaged_at is not None for reading in readings.values())
    assert readings[red].severity == "red" and readings[green].severity == "green"
    assert results[red].severity == "red" and results[green].severity == "green"
    # the bad reading raised a technical alert, not a clinical one, and counted in none
    assert [(a.kind, a.rule_key, a.severity, a.count, a.last_reading_id) for a in alerts] == [
        ("reading", "spo2.absolute", "red", 1, red),
        ("technical", "technical.triage", "red", 1, bad),
    ]
    assert len(opened) == 2
