import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from pust.db.baseline_repository import current_baselines, set_clinician_baseline
from pust.db.engine import session_scope
from pust.db.tables import (
    Alert,
    AlertEvent,
    Baseline,
    CareTeamRouting,
    ExpectedMeasurement,
    OutboxMessage,
    Plan,
)
from pust.domain.clock import FrozenClock
from pust.domain.plans import MeasurementPlan, Schedule
from pust.domain.routing import OpeningInterval, Recipient, RoutingPolicy
from pust.messaging.topics import Topics
from services.alerts.sweeps import sweep_missed_measurements
from services.alerts.triage_worker import TriageWorker

from .world import NOW, add_plan, add_reading, add_response, seed

HOURS = (OpeningInterval(opens="08:00", closes="15:30"),)
ONCALL = Recipient(channel="webhook", address="https://vagt.example.org/pust")


def test_on_call_routing_out_of_hours_notifies_on_call_at_once(engine: Engine) -> None:
    policy = RoutingPolicy(opening_hours={"mon": HOURS}, out_of_hours="on_call", on_call=(ONCALL,))
    world = seed(engine, routing=policy)
    night = NOW + timedelta(hours=12)  # Monday 23:00 local
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=night)
    add_reading(engine, world, type_="spo2", value=93, unit="%", measured_at=night)
    add_reading(engine, world, type_="pulse", value=105, unit="/min", measured_at=night)  # yellow
    TriageWorker(engine=engine, clock=FrozenClock(night), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        [message] = session.exec(select(OutboxMessage)).all()  # red only: on_call_for red
        assert (message.channel, message.destination) == ("webhook", ONCALL.address)
        assert message.payload["event"] == "alert.out_of_hours"
        routed = session.exec(
            select(AlertEvent).where(AlertEvent.kind == "routed_out_of_hours")
        ).all()
        assert len(routed) == 1


def test_no_routing_in_opening_hours(engine: Engine) -> None:
    policy = RoutingPolicy(opening_hours={"mon": HOURS}, out_of_hours="on_call", on_call=(ONCALL,))
    world = seed(engine, routing=policy)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.expect_error_logs("alerts.routing_policy_unreadable")
def test_an_unreadable_routing_policy_is_logged_and_the_default_used(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        session.add(
            CareTeamRouting(care_team_id=world.team_id, policy={"timezone": "Mars/Olympus"})
        )
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        alert = session.exec(select(Alert)).one()  # written all the same
        assert alert.status == "open"
    [record] = [r for r in caplog.records if "routing_policy_unreadable" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert f"care_team_id={world.team_id}" in record.getMessage()
    assert "using=default_routing_policy" in record.getMessage()


def test_clinician_resets_a_baseline_keeping_history(engine: Engine) -> None:
    world = seed(engine)
    citizen = world.citizen_ids[0]
    with session_scope(engine) as session:
        set_clinician_baseline(
            session,
            citizen_id=citizen,
            type_="spo2",
            value=92,
            reason="KOL, lav",
            set_by=world.nurse_ids[0],
            now=NOW,
        )
    with session_scope(engine) as session:
        set_clinician_baseline(
            session,
            citizen_id=citizen,
            type_="spo2",
            value=90,
            reason="efter indlæggelse",
            set_by=world.nurse_ids[0],
            now=NOW + timedelta(days=1),
        )
        with pytest.raises(ValueError, match="reason"):
            set_clinician_baseline(
                session,
                citizen_id=citizen,
                type_="spo2",
                value=90,
                reason=" ",
                set_by=world.nurse_ids[0],
                now=NOW,
            )
    with session_scope(engine) as session:
        assert current_baselines(session, citizen) == {"spo2": 90}
        assert len(session.exec(select(Baseline)).all()) == 2
    add_reading(engine, world, type_="spo2", value=91, unit="%", measured_at=NOW)  # green vs 90
    add_reading(engine, world, type_="spo2", value=86, unit="%", measured_at=NOW)  # 4 below
    TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        rules = sorted((a.rule_key, a.severity) for a in session.exec(select(Alert)).all())
        # the default (v3, as v2): one reading 4 below the baseline in force is a watch
        # (its own concern), beside the absolute red
        assert rules == [("spo2.absolute", "red"), ("spo2.baseline.watch", "yellow")]


def test_two_replicas_sweeping_missed_measurements_at_once(engine: Engine) -> None:
    made = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    world = seed(engine, assigned_since=made)
    plan = MeasurementPlan(
        starts_on=date(2026, 11, 1),
        measurements=("spo2",),  # type: ignore[arg-type]
        schedule=Schedule(
            weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), times=("08:00", "18:00")
        ),
    )
    add_plan(engine, world, plan)
    with session_scope(engine) as session:
        session.exec(select(Plan)).one().created_at = made
    clock = FrozenClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sweep() -> None:
        barrier.wait()
        results.append(
            sweep_missed_measurements(
                engine=engine, clock=clock, lookback=timedelta(days=5), topics=Topics("t")
            )
        )

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(
        sweep_missed_measurements(
            engine=engine, clock=clock, lookback=timedelta(days=5), topics=Topics("t")
        )
    )
    with session_scope(engine) as session:
        slots = session.exec(select(ExpectedMeasurement)).all()
        assert len(slots) == 7  # 20th-22nd twice a day + the 23rd 08:00
        assert {s.status for s in slots} == {"missed"}
        [alert] = session.exec(select(Alert)).all()
        # reminders first; the default policy makes the 3rd missed slot in a row a task
        assert alert.count == 5
        reminders = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.destination).endswith("/notices"))
        ).all()
        assert len(reminders) == 7
    assert sum(results) == 7


def test_the_run_in_gives_each_symptom_its_yes_rate_and_a_usual_one_does_not_count(
    engine: Engine,
) -> None:
    """Rule set v4: the alerts worker takes the symptom items' run-in yes-rates as baselines
    (pust.domain.baselines.run_in_baseline, as pust evaluate does), and a sheet with only
    the citizen's usual symptom is no alert."""
    world = seed(engine, assigned_since=NOW - timedelta(days=20))
    start = NOW - timedelta(days=20)
    no = {"more_breathless": False, "more_sputum": False, "sputum_colour_changed": False}
    for day in range(8):  # "more cough" on 4 of 8 run-in sheets
        add_response(
            engine,
            world,
            answers={**no, "more_cough": day % 2 == 0},
            answered_at=start + timedelta(days=day, hours=8),
        )
    clock = FrozenClock(NOW)
    add_response(engine, world, answers={**no, "more_cough": True}, answered_at=NOW)
    TriageWorker(engine=engine, clock=clock, topics=Topics("t")).drain()
    with session_scope(engine) as session:
        rates = {
            b.type: b.value
            for b in session.exec(select(Baseline)).all()
            if b.type in ("more_cough", "more_breathless")
        }
        assert rates == {"more_cough": 0.5, "more_breathless": 0.0}
        symptom_alerts = [
            a for a in session.exec(select(Alert)).all() if a.rule_key.startswith("questionnaire")
        ]
    assert symptom_alerts == []  # her usual cough: no task, no watch
