"""The one outbox: tablet notices once per event, bulk producers, leasing chosen rows, and
the one retry policy."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from pust.db.baseline_repository import set_clinician_baseline
from pust.db.engine import session_scope
from pust.db.outbox import (
    PENDING,
    SKIPPED,
    Outgoing,
    RetryPolicy,
    enqueue_many,
    lease_due,
    mark_failed,
)
from pust.db.tables import Alert, AlertEvent, OutboxMessage, Reading
from pust.domain.clock import FrozenClock
from pust.domain.limits import population_rule_set
from pust.domain.routing import DEFAULT_OUT_OF_HOURS_NOTICE_DA, OpeningInterval, RoutingPolicy
from pust.messaging.topics import DeviceChannel, Topics
from services.alerts.triage_worker import TriageWorker

from .world import NOW, add_reading, seed

HOURS = (OpeningInterval(opens="08:00", closes="15:30"),)
NIGHT = NOW + timedelta(hours=12)  # Monday 23:00 in Copenhagen: closed


def _notices(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return [
            m
            for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
            if m.channel == "mqtt" and m.destination.endswith("/notices")
        ]


def test_one_reading_that_breaks_two_rules_is_one_alert_with_one_out_of_hours_notice(
    engine: Engine,
) -> None:
    """SpO2 84 breaks the absolute (< 88) and the baseline rule (8 below 92): the rules agree
    on the reading, so one red alert carries both reasons, and the tablet gets one notice.
    The v1 population limits: their baseline rule is a task (v2 makes one breach a watch)."""
    world = seed(
        engine, rules=population_rule_set(), routing=RoutingPolicy(opening_hours={"mon": HOURS})
    )
    with session_scope(engine) as session:
        set_clinician_baseline(
            session,
            citizen_id=world.citizen_ids[0],
            type_="spo2",
            value=92,
            reason="KOL",
            set_by=world.nurse_ids[0],
            now=NOW,
        )
    add_reading(engine, world, type_="spo2", value=84, unit="%", measured_at=NIGHT)
    TriageWorker(engine=engine, clock=FrozenClock(NIGHT), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        [alert] = session.exec(select(Alert)).all()
        events = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert (alert.severity, alert.status, alert.count) == ("red", "open", 1)
    assert alert.concern == "spo2.*" and alert.open_key == f"{world.citizen_ids[0]}:spo2.*"
    assert sorted(r["rule"] for r in alert.reasons) == ["spo2.absolute", "spo2.baseline"]
    assert all(r["severity"] == "red" and r["text_da"] for r in alert.reasons)
    assert sorted(e.kind for e in events) == ["opened", "routed_out_of_hours"]
    [notice] = _notices(engine)
    assert notice.destination == Topics("t").device(world.device_ids[0], DeviceChannel.NOTICES)
    assert notice.payload["kind"] == "out_of_hours"
    assert notice.payload["text"] == DEFAULT_OUT_OF_HOURS_NOTICE_DA

    # later, 89 breaks only the absolute rule (< 90: yellow; 3 below 92 is green): either
    # rule's breach repeats that alert (red: the worst while open), and a repeat sends no notice
    later = NIGHT + timedelta(hours=1)
    add_reading(engine, world, type_="spo2", value=89, unit="%", measured_at=later)
    TriageWorker(engine=engine, clock=FrozenClock(later), topics=Topics("t")).drain()
    with session_scope(engine) as session:
        [again] = session.exec(select(Alert)).all()
    assert (again.id, again.count, again.severity) == (alert.id, 2, "red")
    assert [r["rule"] for r in again.reasons] == ["spo2.absolute"]
    assert len(_notices(engine)) == 1


def test_one_submission_one_notice_a_later_submission_its_own(engine: Engine) -> None:
    world = seed(engine, routing=RoutingPolicy(opening_hours={"mon": HOURS}))
    first = [
        add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NIGHT),
        add_reading(engine, world, type_="pulse", value=125, unit="/min", measured_at=NIGHT),
    ]
    with session_scope(engine) as session:  # both readings came in one device message
        for reading_id in first:
            reading = session.get(Reading, reading_id)
            assert reading is not None
            reading.message_id = "submission-1"
    worker = TriageWorker(engine=engine, clock=FrozenClock(NIGHT), topics=Topics("t"))
    worker.drain()
    assert len(_notices(engine)) == 1
    later = NIGHT + timedelta(minutes=30)
    add_reading(engine, world, type_="temperature", value=38.9, unit="Cel", measured_at=later)
    worker.drain()
    notices = _notices(engine)
    assert len(notices) == 2
    assert notices[0].payload["notice_id"] != notices[1].payload["notice_id"]


def test_bulk_enqueue_keeps_the_first_and_leases_only_chosen_rows(engine: Engine) -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), max_attempts=2)
    rows = [
        Outgoing(channel="fhir", destination="$x", payload={"n": 1}, dedup_key="k:1"),
        Outgoing(channel="fhir", destination="$x", payload={"n": 2}, dedup_key="k:2"),
        Outgoing(
            channel="fhir", destination="$x", payload={}, dedup_key="k:3", status=SKIPPED, note="-"
        ),
    ]
    with session_scope(engine) as session:
        assert enqueue_many(session, rows, now=NOW) == 3
        assert enqueue_many(session, rows, now=NOW) == 0
    with session_scope(engine) as session:
        by_key = {m.dedup_key: m for m in session.exec(select(OutboxMessage)).all()}
    assert by_key["k:3"].status == SKIPPED and by_key["k:3"].last_error == "-"
    chosen = by_key["k:2"].id
    assert chosen is not None
    with session_scope(engine) as session:
        leased = lease_due(
            session, channels=["fhir"], now=NOW, limit=10, policy=policy, ids=[chosen]
        )
        assert [m.dedup_key for m in leased] == ["k:2"]
    with session_scope(engine) as session:
        assert mark_failed(session, message_id=chosen, error="503", now=NOW, policy=policy) == (
            PENDING
        )
        row = session.get(OutboxMessage, chosen)
        assert row is not None and row.available_at == NOW + timedelta(seconds=10)
    later = NOW + timedelta(seconds=10)
    with session_scope(engine) as session:
        lease_due(session, channels=["fhir"], now=later, limit=10, policy=policy, ids=[chosen])
    with session_scope(engine) as session:
        assert mark_failed(session, message_id=chosen, error="503", now=later, policy=policy) == (
            "dead"
        )


def test_one_retry_policy_doubles_caps_and_jitters_downwards() -> None:
    policy = RetryPolicy(base=timedelta(seconds=15), cap=timedelta(minutes=1), jitter=0.5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=s) for s in (15, 30, 60, 60)
    ]
    assert policy.delay(2, draw=0.5) == timedelta(seconds=22.5)
