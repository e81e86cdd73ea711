"""The bridge against the mock regional server made strict like FUT: no conditional create
for Observation (or one that is ignored), codes checked against the IG, validity updates
through ``$set-measurement-validity``, types without a FUT code counted and never sent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.engine import session_scope
from pust.db.tables import OutboxMessage, Plan, Reading
from pust.domain.clock import FrozenClock
from pust.domain.plans import default_plan
from pust.fhir.bridge_status import bridge_status
from services.bridge.metrics import BridgeMetrics
from services.bridge.settings import BridgeSettings
from services.bridge.transport import HttpTransport, TokenContext
from services.bridge.worker import BridgeWorker
from tests.integration.fhir import world as w
from tests.integration.fhir.regional_server import RegionalServer, fut_capability


@pytest.fixture
def regional() -> Iterator[RegionalServer]:
    server = RegionalServer(timeout_sleep=1.0).start()
    yield server
    server.stop()


def _settings(server: RegionalServer, **overrides: Any) -> BridgeSettings:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "allowed_hosts": "127.0.0.1",
        "allow_http": True,
        "timeout_seconds": 0.5,
        "backoff_initial_seconds": 1.0,
        "backoff_max_seconds": 60.0,
        "max_attempts": 8,
        "lease_seconds": 30.0,
        "batch_size": 10,
        "metrics_port": 0,
    }
    values.update(overrides)
    return BridgeSettings(**values)


class ContextTokens:
    """A token source minting one token per patient and episode (what the OAuth seam does
    against FUT's token service); the mock checks the context it names."""

    def token(self, context: TokenContext | None) -> str | None:
        return None if context is None else f"{context.patient} {context.episode_of_care}"


def _context_check(token: str, patient: str, episode: str) -> bool:
    return token == f"{patient} {episode}"


def _worker(
    engine: Engine, server: RegionalServer, clock: FrozenClock, **overrides: Any
) -> tuple[BridgeWorker, CollectorRegistry]:
    settings = _settings(server, **overrides)
    registry = CollectorRegistry()
    worker = BridgeWorker(
        engine=engine,
        transport=HttpTransport(settings, ContextTokens()),
        settings=settings,
        metrics=BridgeMetrics(registry),
        clock=clock,
        rng=random.Random(1),
    )
    return worker, registry


def _drain(worker: BridgeWorker, clock: FrozenClock, rounds: int = 40) -> None:
    for _ in range(rounds):
        worker.cycle(full_scan=True)
        clock.advance(timedelta(seconds=61))


def test_no_duplicate_when_the_server_ignores_if_none_exist(engine: Engine) -> None:
    # the worst case: a server that declares conditional create and then ignores it
    server = RegionalServer(
        timeout_sleep=1.0,
        honour_if_none_exist=False,
        capability=fut_capability({"Observation": True, "QuestionnaireResponse": True}),
        token_check=_context_check,
    ).start()
    try:
        team = w.add_team(engine, "bridged", "bridged")
        citizen, device, peripheral = w.add_citizen(engine, team)
        for i in range(6):
            at = w.T0 + timedelta(hours=i)
            w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", at)
        w.add_response(engine, citizen, device, w.T0 + timedelta(hours=7))
        server.script.extend(["commit-then-drop", "commit-then-500", "timeout", "500"])
        clock = FrozenClock(w.T0 + timedelta(days=1))
        worker, _ = _worker(engine, server, clock)
        assert worker.options.conditional_create == {"Observation", "QuestionnaireResponse"}
        _drain(worker, clock)
    finally:
        server.stop()
    assert not server.invalid and not server.refused
    assert len(server.resources) == 7
    assert set(server.created.values()) == {1}  # every create counted: none twice
    assert server.searches >= 4  # each resend of unknown outcome searched first


def test_fut_mode_no_conditional_create_for_observation_and_strict_codes(
    engine: Engine, regional: RegionalServer
) -> None:
    regional.token_check = _context_check
    regional.honour_if_none_exist = False
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    bp_at = w.T0 + timedelta(hours=1)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    w.add_reading(engine, citizen, device, peripheral, "pulse", 80, "/min", w.T0)
    w.add_reading(engine, citizen, device, peripheral, "bp_systolic", 150, "mm[Hg]", bp_at)
    w.add_reading(engine, citizen, device, peripheral, "bp_diastolic", 95, "mm[Hg]", bp_at)
    w.add_reading(engine, citizen, device, peripheral, "fev6", 2.1, "L", w.T0)
    w.add_reading(engine, citizen, device, None, "crp", 12, "mg/L", w.T0)
    w.add_reading(engine, citizen, device, None, "crp", 14, "mg/L", bp_at)
    regional.script.extend(["commit-then-drop"])
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, registry = _worker(engine, regional, clock)
    assert worker.options.conditional_create == {"QuestionnaireResponse"}  # FUT 8.0.0
    _drain(worker, clock, rounds=5)
    assert not regional.invalid and not regional.refused
    assert set(regional.created.values()) == {1}
    codes = {
        c["code"]
        for r in regional.resources.values()
        for part in [r, *r.get("component", [])]
        for c in part["code"]["coding"]
    }
    assert codes == {"NPU03011", "NPU21692", "ZZ3170", "DNK05472", "DNK05473"}
    with Session(engine) as s:
        status = bridge_status(s)
    assert status.not_sendable == {"fev6": 1, "crp": 2}
    assert registry.get_sample_value("pust_bridge_not_sendable", {"type": "crp"}) == 2


def test_invalidation_before_sending_is_withdrawn_after_sending_reaches_the_server(
    engine: Engine, regional: RegionalServer
) -> None:
    regional.token_check = _context_check
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    early = w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    late = w.add_reading(
        engine, citizen, device, peripheral, "spo2", 70, "%", w.T0 + timedelta(hours=1)
    )
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, _ = _worker(engine, regional, clock)
    worker.enqueue(full_scan=True)
    _invalidate(engine, early, clock)  # owed, not yet sent
    _drain(worker, clock, rounds=2)
    assert len(regional.resources) == 1
    (sent,) = regional.resources.values()
    assert sent["valueQuantity"]["value"] == 70 and sent["status"] == "final"
    with Session(engine) as s:
        row = s.exec(
            select(OutboxMessage).where(OutboxMessage.dedup_key == f"fhir:reading:{early}")
        ).one()
    assert (row.status, row.last_error) == ("skipped", "invalidated before sending")
    assert regional.invalidated == []
    _invalidate(engine, late, clock)  # already at the region
    _drain(worker, clock, rounds=2)
    (server_id,) = regional.ids.values()
    assert regional.invalidated == [f"{regional.base_url}/Observation/{server_id}"]
    assert set(regional.created.values()) == {1}  # never re-sent as a new measurement


def test_a_token_outside_the_patient_context_is_refused(
    engine: Engine, regional: RegionalServer
) -> None:
    regional.token_check = _context_check
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    clock = FrozenClock(w.T0 + timedelta(days=1))
    settings = _settings(regional, bearer_token="one-static-token")
    worker = BridgeWorker(
        engine=engine,
        transport=HttpTransport(settings),  # the static token: no patient/episode context
        settings=settings,
        metrics=BridgeMetrics(CollectorRegistry()),
        clock=clock,
        rng=random.Random(1),
    )
    assert worker.cycle(full_scan=True).dead == 1
    assert regional.resources == {}
    assert regional.refused == ["token outside the patient/episode context"]


def _invalidate(engine: Engine, reading_id: int, clock: FrozenClock) -> None:
    with session_scope(engine) as s:
        reading = s.get(Reading, reading_id)
        assert reading is not None
        reading.valid = False
        reading.invalid_reason = "måling fejlagtig"
        reading.invalidated_at = clock.now()


def test_a_reading_in_a_plan_slot_is_sent_as_resolved(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    plan = default_plan(starts_on=w.T0.date() - timedelta(days=1))  # 08:00 and 18:00 local
    with session_scope(engine) as s:
        s.add(
            Plan(
                citizen_id=citizen,
                version=1,
                schedule=plan.to_json(),
                created_at=w.T0 - timedelta(days=2),
            )
        )
    slot = w.T0  # 07:00Z = 08:00 Copenhagen
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", slot + timedelta(minutes=5))
    w.add_reading(engine, citizen, device, peripheral, "spo2", 94, "%", slot + timedelta(minutes=9))
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, _ = _worker(engine, regional, clock)
    _drain(worker, clock, rounds=2)
    types = {}
    for resource in regional.resources.values():
        (timing,) = [e for e in resource["extension"] if e["url"].endswith("resolved-timing")]
        parts = {p["url"]: p for p in timing["extension"]}
        code = parts["type"]["valueCodeableConcept"]["coding"][0]["code"]
        types[resource["valueQuantity"]["value"]] = (code, parts.get("start"))
        assert parts["serviceRequestVersionId"]["valueId"] == "2"  # .../ServiceRequest/1/_history/2
    assert types[93] == ("Resolved", {"url": "start", "valueDateTime": "2026-11-20T05:00:00.000Z"})
    assert types[94] == ("Adhoc", None)  # the slot was met by the first


def test_one_oximeter_session_is_one_submission(engine: Engine, regional: RegionalServer) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    session_message = "oximeter-session-1"  # SpO2 and pulse of one measurement, one message
    for type_, value, unit in (("spo2", 93, "%"), ("pulse", 80, "/min")):
        w.add_reading(
            engine,
            citizen,
            device,
            peripheral,
            type_,
            value,
            unit,
            w.T0,
            message_id=session_message,
        )
    w.add_reading(engine, citizen, device, peripheral, "spo2", 95, "%", w.T0 + timedelta(hours=3))
    regional.script.extend(["commit-then-drop"])  # the session's answer is lost once
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, _ = _worker(engine, regional, clock)
    _drain(worker, clock, rounds=3)
    assert set(regional.created.values()) == {1} and len(regional.resources) == 3
    # SpO2 and pulse in one Bundle; its lost answer was found by search, not re-sent
    (together,) = [r for r in regional.requests if len(r) == 2]
    assert {"-150456-" in i for i in together} == {True, False}  # one SpO2, one pulse
    assert sorted(len(r) for r in regional.requests) == [1, 2]
