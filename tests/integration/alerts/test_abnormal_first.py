"""Abnormal first: during a backlog the alerts worker triages the readings and answers that
need a nurse before the green ones queued ahead of them, and still triages the green ones."""

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert
from sqlmodel import col, select

from pust.db.engine import session_scope
from pust.db.tables import Alert, QuestionnaireResponse, Reading, TriageResult
from pust.domain.clock import FrozenClock
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.messaging.topics import Topics
from services.alerts.triage_worker import TriageWorker

from .world import NOW, AlertsWorld, add_reading, add_response, seed


def _worker(engine: Engine, batch_size: int) -> TriageWorker:
    return TriageWorker(
        engine=engine,
        clock=FrozenClock(NOW + timedelta(days=1)),
        topics=Topics("t/pust/v1"),
        batch_size=batch_size,
    )


def _queue_readings(engine: Engine, world: AlertsWorld, values: list[float], tag: str) -> None:
    """Untriaged SpO2 readings, oldest first, as ingest commits them during a burst."""
    rows: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        at = NOW - timedelta(hours=20) + timedelta(seconds=i)
        rows.append(
            {
                "citizen_id": world.citizen_ids[i % len(world.citizen_ids)],
                "device_id": world.device_ids[i % len(world.device_ids)],
                "message_id": f"{tag}-{i}",
                "type": "spo2",
                "value": value,
                "unit": "%",
                "original_value": value,
                "original_unit": "%",
                "measured_at": at,
                "sent_at": at,
                "received_at": at + timedelta(seconds=1),
                "late": False,
                "valid": True,
            }
        )
    with session_scope(engine) as session:
        session.execute(insert(Reading), rows)


def _triaged(engine: Engine, reading_id: int) -> bool:
    with session_scope(engine) as session:
        reading = session.get(Reading, reading_id)
        assert reading is not None
        return reading.triaged_at is not None


def _results(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(TriageResult)).one())


def test_a_red_reading_behind_2000_green_ones_is_triaged_in_the_first_batch(
    engine: Engine,
) -> None:
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0] * 2000, "green")
    red = add_reading(
        engine, world, type_="spo2", value=80, unit="%", measured_at=NOW + timedelta(hours=1)
    )
    worker = _worker(engine, batch_size=200)

    assert worker.run_once() == 1 + 200  # the red in a batch of its own, then a normal one
    assert _triaged(engine, red)
    with session_scope(engine) as session:
        alert = session.exec(select(Alert).where(Alert.last_reading_id == red)).one()
        assert (alert.rule_key, alert.severity, alert.status) == ("spo2.absolute", "red", "open")
        first_green = session.exec(select(func.min(col(Reading.id)))).one()
    assert first_green is not None and _triaged(engine, first_green)  # the oldest advanced too

    assert worker.drain() == 1800
    assert _results(engine) == 2001  # every reading triaged once: none lost, none twice


def test_a_flood_of_abnormal_readings_never_starves_the_green_ones(engine: Engine) -> None:
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0] * 50, "green")
    _queue_readings(engine, world, [89.0] * 400, "yellow")  # yellow SpO2, after the green
    with session_scope(engine) as session:
        oldest = session.exec(select(func.min(col(Reading.id)))).one()
    assert oldest is not None
    worker = _worker(engine, batch_size=40)

    assert worker.run_once() == 40
    assert _triaged(engine, oldest)  # a quarter of every batch goes to the oldest rows
    with session_scope(engine) as session:
        green_done = session.exec(
            select(func.count())
            .select_from(Reading)
            .where(col(Reading.triaged_at).is_not(None), Reading.value == 96.0)
        ).one()
    assert green_done == 10

    assert worker.drain() == 410
    assert _results(engine) == 450


def test_a_yes_answer_is_triaged_before_the_no_answers_ahead_of_it(engine: Engine) -> None:
    world = seed(engine)
    items = [item.id for item in QUESTIONNAIRES["kol-symptoms-v1"].items]
    for minutes in range(60):
        add_response(
            engine,
            world,
            answers={item: False for item in items},
            answered_at=NOW - timedelta(hours=3) + timedelta(minutes=minutes),
        )
    yes = add_response(
        engine,
        world,
        answers={item: item == "more_breathless" for item in items},
        answered_at=NOW - timedelta(hours=1),
    )
    worker = _worker(engine, batch_size=20)

    assert worker.run_once() == 20
    with session_scope(engine) as session:
        response = session.get(QuestionnaireResponse, yes)
        assert response is not None and response.triaged_at is not None
        assert response.severity == "yellow"
    assert worker.drain() == 41


def test_a_red_reading_committed_behind_many_yellow_ones_is_triaged_in_the_next_batch(
    engine: Engine,
) -> None:
    # a drain's backlog holds many yellow readings (citizens who live near the SpO2
    # limit); the red one must not wait behind them, even when it is committed after the
    # worker has already found them
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0] * 100, "green")
    _queue_readings(engine, world, [89.0] * 2000, "yellow")
    worker = _worker(engine, batch_size=200)
    assert worker.run_once() == 200  # knows the yellow ones now
    red = add_reading(
        engine, world, type_="spo2", value=80, unit="%", measured_at=NOW + timedelta(hours=1)
    )

    assert worker.run_once() == 1 + 200
    assert _triaged(engine, red)
    assert worker.drain() == 2100 + 1 - 401
    assert _results(engine) == 2101  # every reading triaged once


class _TickingClock:
    """Moves a millisecond at every look, so each batch's ``triaged_at`` is its own and the
    batches can be told apart, in the order they committed."""

    def __init__(self) -> None:
        self._clock = FrozenClock(NOW + timedelta(days=1))

    def now(self) -> datetime:
        self._clock.advance(timedelta(milliseconds=1))
        return self._clock.now()


def _batches(engine: Engine) -> list[list[tuple[int, float]]]:
    """The triaged readings (id, value) by the batch that triaged them, oldest batch first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Reading.triaged_at, Reading.id, Reading.value)
            .where(col(Reading.triaged_at).is_not(None))
            .order_by(col(Reading.triaged_at), col(Reading.id))
        ).all()
    batches: dict[datetime, list[tuple[int, float]]] = {}
    for triaged_at, row_id, value in rows:
        assert triaged_at is not None
        batches.setdefault(triaged_at, []).append((row_id, value))
    return list(batches.values())


def test_a_red_reading_committed_during_a_drain_gets_a_batch_of_its_own_next(
    engine: Engine,
) -> None:
    # a drain of 2,000 green and yellow readings is under way when a red one is committed:
    # its alert is committed by the very next batch, which holds the red reading alone
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0, 89.0] * 1000, "backlog")
    worker = TriageWorker(
        engine=engine, clock=_TickingClock(), topics=Topics("t/pust/v1"), batch_size=200
    )
    assert worker.run_once() == 200  # the drain under way: the worker knows the yellow ones
    red = add_reading(
        engine, world, type_="spo2", value=80, unit="%", measured_at=NOW + timedelta(hours=1)
    )

    assert worker.run_once() == 1 + 200
    batches = _batches(engine)
    assert [len(batch) for batch in batches] == [200, 1, 200]
    assert batches[1] == [(red, 80.0)]  # the first batch after the red was committed
    with session_scope(engine) as session:
        alert = session.exec(select(Alert).where(Alert.last_reading_id == red)).one()
        assert (alert.severity, alert.status) == ("red", "open")

    assert worker.drain() == 2001 - 401
    with session_scope(engine) as session:
        untriaged = session.exec(
            select(func.count()).select_from(Reading).where(col(Reading.triaged_at).is_(None))
        ).one()
        per_reading = session.exec(
            select(TriageResult.reading_id, func.count())
            .group_by(col(TriageResult.reading_id))
            .having(func.count() > 1)
        ).all()
    assert untriaged == 0  # none skipped
    assert per_reading == []  # none triaged twice
    assert _results(engine) == 2001


def test_many_red_readings_never_get_two_red_only_batches_in_a_row(engine: Engine) -> None:
    # 30 red readings behind 100 green ones, batches of 20 (a red-only batch holds 2): a
    # red-only batch is always followed by a normal one, and the oldest green ones advance
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0] * 100, "green")
    _queue_readings(engine, world, [80.0] * 30, "red")
    worker = TriageWorker(
        engine=engine, clock=_TickingClock(), topics=Topics("t/pust/v1"), batch_size=20
    )

    assert worker.drain() == 130
    batches = _batches(engine)
    red_only = [all(value == 80.0 for _, value in batch) and len(batch) <= 2 for batch in batches]
    assert red_only[0]  # the first batch: reds alone
    assert not any(a and b for a, b in pairwise(red_only))
    assert any(value == 96.0 for _, value in batches[1])  # the green ones advance at once
    assert _results(engine) == 130


def test_a_red_reading_locked_by_a_killed_replica_is_triaged_once(engine: Engine) -> None:
    # replica A has claimed the red reading (its red-only batch holds the row lock) when
    # replica B looks: B skips it rather than wait, goes on with the others, and after A is
    # killed (its transaction rolls back) the red reading is still triaged, exactly once
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED: on SQLite writers serialise")
    world = seed(engine, citizens=5)
    _queue_readings(engine, world, [96.0] * 300, "green")
    red = add_reading(
        engine, world, type_="spo2", value=80, unit="%", measured_at=NOW + timedelta(hours=1)
    )
    replica_b = _worker(engine, batch_size=100)
    with engine.connect() as replica_a:
        replica_a.execute(select(Reading.id).where(Reading.id == red).with_for_update())
        assert replica_b.run_once() == 100  # no red-only batch: the red one is A's
        assert not _triaged(engine, red)
        replica_a.rollback()  # A is killed mid-batch

    assert replica_b.drain() == 201
    assert _triaged(engine, red)
    with session_scope(engine) as session:
        alerts = session.exec(select(Alert).where(Alert.last_reading_id == red)).all()
        assert [(a.severity, a.count) for a in alerts] == [("red", 1)]
    assert _results(engine) == 301
