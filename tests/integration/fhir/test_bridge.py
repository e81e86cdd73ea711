"""The push bridge against the mock regional server: failures injected, nothing lost, nothing
created twice, failures visible to administrators and in metrics."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.engine import session_scope
from pust.db.tables import OutboxMessage
from pust.domain.clock import FrozenClock
from pust.fhir.bridge_status import bridge_status
from tests.integration.fhir import world as w
from tests.integration.fhir.bridge_world import drain, make_worker, statuses
from tests.integration.fhir.regional_server import RegionalServer


def test_every_reading_submitted_once_despite_failures(
    engine: Engine, regional: RegionalServer
) -> None:
    bridged = w.add_team(engine, "bridged", "bridged")
    standalone = w.add_team(engine, "standalone", "standalone")
    citizen, device, peripheral = w.add_citizen(engine, bridged)
    other, other_device, other_peripheral = w.add_citizen(engine, standalone)
    unlinked, unlinked_device, _ = w.add_citizen(engine, bridged, linked=False)
    expected_singles = []
    for i in range(12):
        at = w.T0 + timedelta(hours=i)
        expected_singles.append(
            w.add_reading(engine, citizen, device, peripheral, "spo2", 90 + i % 5, "%", at)
        )
    bp_at = w.T0 + timedelta(hours=20)
    w.add_reading(engine, citizen, device, peripheral, "bp_systolic", 150, "mm[Hg]", bp_at)
    w.add_reading(engine, citizen, device, peripheral, "bp_diastolic", 95, "mm[Hg]", bp_at)
    skipped = w.add_reading(engine, citizen, device, None, "weight", 80, "kg", bp_at)
    w.add_response(engine, citizen, device, bp_at)
    # neither a standalone team's citizen nor an unlinked citizen is sent anywhere
    w.add_reading(engine, other, other_device, other_peripheral, "spo2", 95, "%", bp_at)
    w.add_reading(engine, unlinked, unlinked_device, None, "spo2", 95, "%", bp_at)

    regional.script.extend(
        ["500", "drop", "timeout", "commit-then-500", "503", "commit-then-drop", "500"]
    )
    clock = FrozenClock(w.T0 + timedelta(days=2))
    worker, registry = make_worker(engine, regional, clock)
    drain(worker, clock)

    assert not regional.invalid
    # 12 SpO2 + one blood pressure (one Observation) + one questionnaire response
    assert len(regional.resources) == 14
    # asked to create a resource a second time only where the server's answer was lost
    # (what a server that ignored ifNoneExist would have stored twice)
    assert set(regional.create_attempts) == set(regional.resources)
    asked_twice = {i for i, n in regional.create_attempts.items() if n > 1}
    assert asked_twice <= regional.answer_lost
    # independent of identifiers: no two created resources describe the same measurement
    described = Counter(
        (
            r["resourceType"],
            r["subject"]["reference"],
            r.get("effectiveDateTime", r.get("authored")),
            r.get("code", {}).get("text"),
        )
        for r in regional.resources.values()
    )
    assert set(described.values()) == {1}
    pressure = [r for r in regional.resources.values() if "component" in r]
    assert len(pressure) == 1 and len(pressure[0]["component"]) == 2
    # a resend happens only where nothing was stored: the two commit-then-* failures are
    # found by the search before the resend, the five others are posted once more
    posts = regional.posts_per_identifier()
    assert sum(posts.values()) - len(posts) == 5
    counted = statuses(engine)
    assert counted == Counter({"sent": 14, "merged": 1, "skipped": 1})
    with Session(engine) as s:
        status = bridge_status(s)
        row = s.exec(
            select(OutboxMessage).where(OutboxMessage.dedup_key == f"fhir:reading:{skipped}")
        ).one()
    assert row.last_error == "no ServiceRequest for weight"
    assert status.backlog == 0 and status.dead == []
    assert registry.get_sample_value("pust_bridge_attempts_total", {"outcome": "retry"}) == 7
    assert registry.get_sample_value("pust_bridge_attempts_total", {"outcome": "sent"}) == 14
    assert registry.get_sample_value("pust_bridge_backlog", {"status": "pending"}) == 0


def test_refusal_is_dead_and_shown_to_administrators(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "both")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "pulse", 80, "/min", w.T0)
    regional.script.extend(["400"])
    clock = FrozenClock(w.T0 + timedelta(hours=1))
    worker, registry = make_worker(engine, regional, clock)
    result = worker.cycle(full_scan=True)
    assert result.dead == 1
    with Session(engine) as s:
        status = bridge_status(s)
    assert [d.last_error for d in status.dead] == ["http 400 (business-rule)"]
    assert registry.get_sample_value("pust_bridge_backlog", {"status": "dead"}) == 1


def test_backoff_grows_and_gives_up_after_max_attempts(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    regional.script.extend(["500"] * 10)
    clock = FrozenClock(w.T0 + timedelta(hours=1))
    worker, _ = make_worker(engine, regional, clock, max_attempts=3)
    delays = []
    for _ in range(3):
        worker.cycle(full_scan=True)
        with Session(engine) as s:
            row = s.exec(select(OutboxMessage)).one()
        delays.append((row.available_at - clock.now()).total_seconds())
        clock.set(row.available_at)
    # 1 s then 2 s (jitter in [0.5, 1]); the third failure is the last attempt
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0
    assert row.status == "dead" and row.attempts == 3
    assert len(regional.requests) == 3


def test_a_lone_blood_pressure_half_waits_for_its_partner(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    at = w.T0
    w.add_reading(
        engine, citizen, device, peripheral, "bp_systolic", 140, "mm[Hg]", at, received=at
    )
    clock = FrozenClock(at + timedelta(seconds=5))
    worker, _ = make_worker(engine, regional, clock)
    worker.cycle(full_scan=True)
    assert regional.requests == []
    w.add_reading(
        engine,
        citizen,
        device,
        peripheral,
        "bp_diastolic",
        90,
        "mm[Hg]",
        at,
        received=at + timedelta(seconds=6),
    )
    worker.cycle(full_scan=True)
    assert len(regional.resources) == 1
    (resource,) = regional.resources.values()
    assert len(resource["component"]) == 2


def test_enqueue_twice_inserts_once(engine: Engine, regional: RegionalServer) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    clock = FrozenClock(w.T0 + timedelta(hours=1))
    one, _ = make_worker(engine, regional, clock)
    two, _ = make_worker(engine, regional, clock)
    assert one.enqueue(full_scan=True)[0] == 1
    assert two.enqueue(full_scan=True)[0] == 0
    with session_scope(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
