"""A triage batch's alerts in one set of statements (``pust.db.alert_batch.raise_batch``) end
where the same breaches and normal values taken one at a time end: the same alerts, the same
counts, the same events in the same order; and the same readings seen again change nothing."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from pust.db import alert_batch
from pust.db.alert_batch import AutoResolve, Step, raise_batch
from pust.db.alert_repository import Breach, auto_resolve, raise_or_repeat
from pust.db.engine import session_scope
from pust.db.tables import Alert, AlertEvent
from pust.domain.alert_lifecycle import EventKind
from pust.domain.severity import AlertKind, Severity

from .world import NOW, AlertsWorld, add_reading, seed


def _steps(engine: Engine, world: AlertsWorld) -> list[Step]:
    """Citizen 0: red (opens), normal (resolves), red again (re-opens), yellow (repeats);
    citizen 1, in between: yellow (opens)."""
    steps: list[Step] = []
    plan = [
        (0, Severity.RED),
        (0, None),
        (0, Severity.RED),
        (1, Severity.YELLOW),
        (0, Severity.YELLOW),
    ]
    for minute, (citizen, severity) in enumerate(plan):
        reading = add_reading(
            engine,
            world,
            type_="spo2",
            value=86,
            unit="%",
            citizen=citizen,
            measured_at=NOW + timedelta(minutes=minute),
        )
        citizen_id = world.citizen_ids[citizen]
        if severity is None:
            steps.append(
                AutoResolve(
                    citizen_id=citizen_id,
                    concern="spo2.*",
                    observed_at=NOW + timedelta(minutes=minute),
                    detail={"reading_id": reading},
                )
            )
            continue
        steps.append(
            Breach(
                citizen_id=citizen_id,
                care_team_id=world.team_id,
                kind=AlertKind.READING,
                rule_key="spo2.absolute",
                concern="spo2.*",
                severity=severity,
                observed_at=NOW + timedelta(minutes=minute),
                reasons=[{"rule": "spo2.absolute", "severity": severity.value}],
                value=86,
                reading_id=reading,
                limit_set_id=world.limit_set_id,
                device_id=world.device_ids[citizen],
            )
        )
    return steps


def _outcome(engine: Engine) -> list[tuple[object, ...]]:
    with session_scope(engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.first_seen_at)).all()
        found: list[tuple[object, ...]] = []
        for alert in alerts:
            events = session.exec(
                select(AlertEvent.kind)
                .where(AlertEvent.alert_id == alert.id)
                .order_by(AlertEvent.id)  # type: ignore[arg-type]
            ).all()
            found.append(
                (
                    alert.citizen_id,
                    alert.severity,
                    alert.status,
                    alert.count,
                    alert.last_reading_id,
                    alert.lock_version,
                    alert.open_key is not None,
                    tuple(events),
                )
            )
        return found


def _one_at_a_time(engine: Engine, steps: list[Step]) -> None:
    with session_scope(engine) as session:
        for step in steps:
            if isinstance(step, Breach):
                raise_or_repeat(session, breach=step, now=NOW)
            else:
                auto_resolve(
                    session,
                    citizen_id=step.citizen_id,
                    rule_key=step.concern,
                    now=NOW,
                    observed_at=step.observed_at,
                    detail=step.detail,
                )


def _renamed(outcome: list[tuple[object, ...]], world: AlertsWorld) -> list[tuple[object, ...]]:
    index = {citizen: n for n, citizen in enumerate(world.citizen_ids)}
    return [(index[row[0]], *row[1:]) for row in outcome if isinstance(row[0], uuid.UUID)]


def test_a_batch_ends_where_one_at_a_time_ends(engine: Engine) -> None:
    batch_world = seed(engine, citizens=2)
    steps = _steps(engine, batch_world)
    with session_scope(engine) as session:
        changes = raise_batch(session, steps, now=NOW)
    assert [change.event for change in changes] == [
        EventKind.OPENED,
        EventKind.REOPENED,
        EventKind.OPENED,
        EventKind.REPEATED,
    ]
    batch = _renamed(_outcome(engine), batch_world)
    lifecycle = ("opened", "auto_resolved", "reopened", "repeated")
    last, other = steps[4], steps[3]
    assert isinstance(last, Breach) and isinstance(other, Breach)
    assert batch == [
        (0, "red", "open", 3, last.reading_id, 4, True, lifecycle),
        (1, "yellow", "open", 1, other.reading_id, 1, True, ("opened",)),
    ]
    # the latest breach of each alert seen again (the same readings triaged twice): nothing
    with session_scope(engine) as session:
        again = raise_batch(session, [other, last], now=NOW)
    assert [change.event for change in again] == [None, None]
    assert _renamed(_outcome(engine), batch_world) == batch


def test_the_row_at_a_time_path_agrees(engine: Engine) -> None:
    world = seed(engine, citizens=2)
    steps = _steps(engine, world)
    _one_at_a_time(engine, steps)
    outcome = _renamed(_outcome(engine), world)
    assert [row[:4] for row in outcome] == [(0, "red", "open", 3), (1, "yellow", "open", 1)]
    assert outcome[0][-1] == ("opened", "auto_resolved", "reopened", "repeated")


def test_a_new_alert_another_worker_opened_first_becomes_a_repeat(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of two workers: this batch did not see the open alert (the other worker
    committed it after this batch looked), so its insert collides on ``open_key``; the
    breach is taken again, as a repeat of the alert now open."""
    world = seed(engine, citizens=2)
    steps = _steps(engine, world)
    first, second = steps[0], steps[2]
    assert isinstance(first, Breach) and isinstance(second, Breach)
    with session_scope(engine) as session:
        raise_batch(session, [first], now=NOW)  # the other worker's alert, committed
    real_latest = alert_batch._latest
    calls: list[int] = []

    def blind_once(session: Any, pairs: Any, wanting: Any) -> Any:
        calls.append(len(pairs))
        return {} if len(calls) == 1 else real_latest(session, pairs, wanting)

    monkeypatch.setattr(alert_batch, "_latest", blind_once)
    with session_scope(engine) as session:
        changes = raise_batch(session, [second], now=NOW)
    assert len(calls) == 2
    assert [change.event for change in changes] == [EventKind.REPEATED]
    outcome = _renamed(_outcome(engine), world)
    assert len(outcome) == 1
    assert outcome[0][2:5] == ("open", 2, second.reading_id)
    assert outcome[0][-1] == ("opened", "repeated")
