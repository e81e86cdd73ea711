"""A tablet's impossible weight jump (the wrong person on the scale) becomes one
"Tjek målingen" task in the low band, not a red weight-change alert; the next right
weighing raises nothing."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from pust.db.engine import session_scope
from pust.db.tables import Alert, OutboxMessage, Reading, TriageResult
from pust.domain.clock import FrozenClock
from pust.domain.severity import WorklistBand
from pust.messaging.topics import Topics
from services.alerts.triage_worker import TriageWorker

from .world import NOW, add_reading, seed


def _worker(engine: Engine, at: timedelta) -> TriageWorker:
    return TriageWorker(engine=engine, clock=FrozenClock(NOW + at), topics=Topics("t/pust/v1"))


def test_a_weight_jump_is_one_data_quality_task_and_no_weight_change_alert(
    engine: Engine,
) -> None:
    world = seed(engine)
    yesterday = NOW - timedelta(hours=22)
    add_reading(engine, world, type_="weight", value=80.0, unit="kg", measured_at=yesterday)
    _worker(engine, timedelta(0)).drain()
    jump = add_reading(engine, world, type_="weight", value=122.2, unit="kg", measured_at=NOW)
    _worker(engine, timedelta(minutes=1)).drain()

    with session_scope(engine) as session:
        alerts = session.exec(select(Alert)).all()
        assert [(a.kind, a.rule_key, a.severity, a.status) for a in alerts] == [
            ("data_quality", "weight.plausibility", "yellow", "open")
        ]
        (alert,) = alerts
        assert alert.band_order == WorklistBand.BLUE.order  # after every red and yellow
        assert alert.last_reading_id == jump
        (reason,) = alert.reasons
        assert reason["title_da"] == "Tjek målingen"
        assert reason["category"] == "data_quality"
        assert "+42,2 kg" in reason["text_da"]
        assert alert.next_escalation_at is None  # a check waits for the clinic
        result = session.exec(select(TriageResult).where(TriageResult.reading_id == jump)).one()
        assert result.severity == "green"  # not a clinical colour on the citizen's data
        assert [r["rule"] for r in result.reasons] == ["weight.plausibility"]
        notices = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.destination).contains("notices"))
        ).all()
        assert notices == []

    # the right person weighs in an hour later: compared with 80 kg, not with 122.2 kg
    add_reading(
        engine, world, type_="weight", value=80.6, unit="kg", measured_at=NOW + timedelta(hours=1)
    )
    _worker(engine, timedelta(hours=1, minutes=1)).drain()
    with session_scope(engine) as session:
        keys = [a.rule_key for a in session.exec(select(Alert)).all()]
        assert keys == ["weight.plausibility"]
        severities = session.exec(select(Reading.severity).order_by(col(Reading.measured_at))).all()
        assert severities == ["green", "green", "green"]
