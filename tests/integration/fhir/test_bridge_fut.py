"""The bridge against the mock regional server made strict like FUT: no conditional create
for Observation (or one that is ignored), codes checked against the IG, validity updates
through ``$set-measurement-validity``, types without a FUT code counted and never sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.engine import session_scope
from pust.db.tables import (
    OutboxMessage,
    Peripheral,
    Plan,
    QuestionnaireResponse,
    Reading,
    RegionalDevice,
    RegionalLink,
)
from pust.domain.clock import FrozenClock
from pust.domain.plans import default_plan
from pust.fhir import urls
from pust.fhir.bridge_status import bridge_status
from services.bridge.transport import StaticToken
from tests.integration.fhir import regional_server as r
from tests.integration.fhir import world as w
from tests.integration.fhir.bridge_world import drain, make_worker
from tests.integration.fhir.regional_server import RegionalServer, fut_capability


def test_no_duplicate_when_the_server_ignores_if_none_exist(engine: Engine) -> None:
    # the worst case: a server that declares conditional create and then ignores it
    server = RegionalServer(
        timeout_sleep=1.0,
        honour_if_none_exist=False,
        capability=fut_capability({"Observation": True, "QuestionnaireResponse": True}),
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
        worker, _ = make_worker(engine, server, clock)
        assert worker.options.conditional_create == {"Observation", "QuestionnaireResponse"}
        drain(worker, clock)
    finally:
        server.stop()
    assert not server.invalid and not server.refused
    assert len(server.resources) == 7
    assert set(server.created.values()) == {1}  # every create counted: none twice
    assert server.searches >= 4  # each resend of unknown outcome searched first


def test_fut_mode_no_conditional_create_for_observation_and_strict_codes(
    engine: Engine, regional: RegionalServer
) -> None:
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
    worker, registry = make_worker(engine, regional, clock)
    assert worker.options.conditional_create == {"QuestionnaireResponse"}  # FUT 8.0.0
    drain(worker, clock, rounds=5)
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
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    early = w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    late = w.add_reading(
        engine, citizen, device, peripheral, "spo2", 70, "%", w.T0 + timedelta(hours=1)
    )
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, _ = make_worker(engine, regional, clock)
    worker.enqueue(full_scan=True)
    _invalidate(engine, early, clock)  # owed, not yet sent
    drain(worker, clock, rounds=2)
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
    drain(worker, clock, rounds=2)
    (server_id,) = regional.ids.values()
    assert regional.invalidated == [f"{regional.base_url}/Observation/{server_id}"]
    assert set(regional.created.values()) == {1}  # never re-sent as a new measurement


def test_a_token_outside_the_patient_context_is_refused(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    clock = FrozenClock(w.T0 + timedelta(days=1))
    assert regional.oauth is not None
    status, login = regional.oauth.grant(
        {**_client_form(), "grant_type": "password", "scope": "openid practitioner"}
    )
    assert status == 200  # a real token of the realm, but without patient/episode context
    worker, _ = make_worker(engine, regional, clock, tokens=StaticToken(login["access_token"]))
    assert worker.cycle(full_scan=True).dead == 1
    assert regional.resources == {}
    assert regional.refused == ["token outside the patient/episode context"] * 2  # 401, once more


def test_an_answer_invalidated_after_sending_reaches_the_server(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    in_session = w.add_response(engine, citizen, device, w.T0 + timedelta(minutes=1))
    alone = w.add_response(engine, citizen, device, w.T0 + timedelta(hours=5))
    never_sent = w.add_response(engine, citizen, device, w.T0 + timedelta(hours=9))
    clock = FrozenClock(w.T0 + timedelta(days=1))
    worker, _ = make_worker(engine, regional, clock)
    worker.enqueue(full_scan=True)
    _invalidate_response(engine, never_sent)  # owed, not yet sent: withdrawn
    drain(worker, clock, rounds=2)
    assert len(regional.resources) == 3  # SpO2 + its session's answer, the lone answer
    _invalidate_response(engine, in_session)
    _invalidate_response(engine, alone)
    drain(worker, clock, rounds=2)
    answers = {
        f"{regional.base_url}/QuestionnaireResponse/{regional.ids[k]}"
        for k, r in regional.resources.items()
        if r["resourceType"] == "QuestionnaireResponse"
    }
    assert sorted(regional.invalidated) == sorted(answers) and len(answers) == 2
    assert set(regional.created.values()) == {1} and not regional.refused
    with Session(engine) as s:
        row = s.exec(
            select(OutboxMessage).where(OutboxMessage.dedup_key == f"fhir:response:{never_sent}")
        ).one()
    assert (row.status, row.last_error) == ("skipped", "invalidated before sending")


def _invalidate_response(engine: Engine, response_id: int) -> None:
    with session_scope(engine) as s:
        response = s.get(QuestionnaireResponse, response_id)
        assert response is not None
        response.valid = False
        response.invalid_reason = "forkert besvaret"


def test_a_device_is_learned_once_then_referenced_literally(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    for i in range(3):
        at = w.T0 + timedelta(hours=i)
        w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", at)
    w.add_reading(engine, citizen, device, None, "weight", 80, "kg", w.T0)  # typed on the tablet
    known_elsewhere = f"{urls.PHD_SYSTEM_ID}|00-1B-DC-0F-00-00-FF-01"
    regional.devices[known_elsewhere] = "d-existing"  # FUT knew this one already
    other, other_device, other_peripheral = w.add_citizen(engine, team)
    with session_scope(engine) as s:
        row = s.get(Peripheral, other_peripheral)
        assert row is not None
        row.system_id = known_elsewhere.split("|")[1]
    w.add_reading(engine, other, other_device, other_peripheral, "spo2", 95, "%", w.T0)
    clock = FrozenClock(w.T0 + timedelta(days=1))
    link = dict(w.SERVICE_REQUESTS, weight=f"{w.REGION}/ServiceRequest/5/_history/1")
    with session_scope(engine) as s:
        stored = s.get(RegionalLink, citizen)
        assert stored is not None
        stored.service_requests = link
    worker, _ = make_worker(engine, regional, clock)
    drain(worker, clock, rounds=2)
    assert not regional.refused and len(regional.resources) == 5
    # the oximeter and the tablet created (conditionally: two lanes meeting a new device
    # at once still make one Device); the one FUT knew found, not created
    assert len(regional.devices) == 3 and set(regional.device_creates) == set(regional.devices) - {
        known_elsewhere
    }
    references = {r["device"]["reference"] for r in regional.resources.values()}
    assert references == {f"{regional.base_url}/Device/{i}" for i in regional.devices.values()}
    with Session(engine) as s:
        learned = s.exec(select(RegionalDevice)).all()
    assert len(learned) == 3
    # a second bridge (a restart) uses what is kept: no lookup, no create
    w.add_reading(engine, citizen, device, peripheral, "spo2", 91, "%", w.T0 + timedelta(hours=9))
    searches = regional.device_searches  # 3, or more where two lanes met a new device at once
    creates = sum(regional.device_creates.values())
    again, _ = make_worker(engine, regional, clock)
    drain(again, clock, rounds=1)
    assert len(regional.resources) == 6 and regional.device_searches == searches
    assert sum(regional.device_creates.values()) == creates


def _client_form() -> dict[str, str]:
    return {
        "client_id": r.CLIENT_ID,
        "client_secret": r.CLIENT_SECRET,
        "username": r.USERNAME,
        "password": r.PASSWORD,
    }


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
    worker, _ = make_worker(engine, regional, clock)
    drain(worker, clock, rounds=2)
    types = {}
    for resource in regional.resources.values():
        (timing,) = [e for e in resource["extension"] if e["url"].endswith("resolved-timing")]
        parts = {p["url"]: p for p in timing["extension"]}
        code = parts["type"]["valueCodeableConcept"]["coding"][0]["code"]
        types[resource["valueQuantity"]["value"]] = (code, parts.get("start"))
        assert parts["serviceRequestVersionId"]["valueId"] == "2"  # .../ServiceRequest/1/_history/2
    assert types[93] == ("Resolved", {"url": "start", "valueDateTime": "2026-11-20T05:00:00.000Z"})
    assert types[94] == ("Adhoc", None)  # the slot was met by the first


def test_one_device_session_is_one_submission(engine: Engine, regional: RegionalServer) -> None:
    """SpO2 and pulse of one oximeter measurement (one message) and the questionnaire the
    citizen answered on the same tablet two minutes later (its own message) go in one
    ``$submit-measurement`` Bundle; exactly once even when its answer is lost."""
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    session_message = "oximeter-session-1"
    for type_, value, unit in (("spo2", 93, "%"), ("pulse", 80, "/min")):
        w.add_reading(
            engine, citizen, device, peripheral, type_, value, unit, w.T0,
            message_id=session_message,
        )  # fmt: skip
    clock = FrozenClock(w.T0 + timedelta(seconds=30))
    worker, _ = make_worker(engine, regional, clock)
    worker.cycle(full_scan=True)
    assert regional.requests == []  # the session's window is open: the answer may follow
    w.add_response(engine, citizen, device, w.T0 + timedelta(minutes=2))
    w.add_response(engine, citizen, device, w.T0 + timedelta(hours=2))  # another session
    w.add_reading(engine, citizen, device, peripheral, "spo2", 95, "%", w.T0 + timedelta(hours=3))
    regional.script.extend(["commit-then-drop"])  # the session's answer is lost once
    clock.set(w.T0 + timedelta(days=1))
    drain(worker, clock, rounds=3)
    assert not regional.refused and not regional.invalid
    assert set(regional.created.values()) == {1} and len(regional.resources) == 5
    # SpO2, pulse and the answer in one Bundle; its lost answer was found by search
    (together,) = [r for r in regional.requests if len(r) == 3]
    kinds = sorted(regional.resources[i]["resourceType"] for i in together)
    assert kinds == ["Observation", "Observation", "QuestionnaireResponse"]
    assert sorted(len(r) for r in regional.requests) == [1, 1, 3]
    with Session(engine) as s:
        merged = s.exec(select(OutboxMessage).where(OutboxMessage.status == "merged")).all()
    assert sorted(m.dedup_key.split(":")[1] for m in merged) == ["reading", "response"]


def test_an_answer_alone_waits_out_its_window_then_goes_alone(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, _ = w.add_citizen(engine, team)
    w.add_response(engine, citizen, device, w.T0)
    clock = FrozenClock(w.T0 + timedelta(seconds=60))
    worker, _ = make_worker(engine, regional, clock)
    worker.cycle(full_scan=True)
    assert regional.requests == []
    clock.advance(timedelta(seconds=worker.settings.session_window_seconds))
    worker.cycle(full_scan=True)
    assert [len(r) for r in regional.requests] == [1]


def _episode(resource: dict[str, Any]) -> str:
    (episode,) = [
        e["valueReference"]["reference"]
        for e in resource["extension"]
        if e["url"].endswith("workflow-episodeOfCare")
    ]
    return str(episode)


def test_one_token_per_patient_and_episode_cached_until_expiry_then_refreshed(
    engine: Engine, regional: RegionalServer
) -> None:
    clock = FrozenClock(w.T0 + timedelta(days=1))
    oauth = regional.oauth
    assert oauth is not None
    oauth.now = lambda: clock.now().timestamp()  # the realm's clock is the test's
    team = w.add_team(engine, "bridged", "bridged")
    citizens = [w.add_citizen(engine, team) for _ in range(2)]
    for i in range(6):
        citizen, device, peripheral = citizens[i % 2]
        at = w.T0 + timedelta(hours=i)
        w.add_reading(engine, citizen, device, peripheral, "spo2", 90 + i, "%", at)
    worker, _ = make_worker(engine, regional, clock, concurrency=1, session_window_seconds=0)
    worker.cycle(full_scan=True)
    assert len(regional.resources) == 6 and not regional.refused
    # one login, one context-scoped token per citizen (patient + episode), reused for all
    assert oauth.grants == {"password": 1, "refresh_token": 2}
    sent_in = {(r["subject"]["reference"], _episode(r)) for r in regional.resources.values()}
    assert set(oauth.contexts) == sent_in and len(sent_in) == 2

    citizen, device, peripheral = citizens[0]
    clock.advance(timedelta(seconds=oauth.lifetime + 1))  # the scoped token has expired
    w.add_reading(engine, citizen, device, peripheral, "spo2", 97, "%", clock.now())
    worker.cycle(full_scan=True)
    assert len(regional.resources) == 7 and not regional.refused
    assert oauth.grants == {"password": 1, "refresh_token": 3}  # refreshed, no new login

    clock.advance(timedelta(seconds=oauth.session_lifetime + 1))  # the login has expired
    w.add_reading(engine, citizen, device, peripheral, "spo2", 96, "%", clock.now())
    worker.cycle(full_scan=True)
    assert len(regional.resources) == 8 and not regional.refused
    assert oauth.grants == {"password": 2, "refresh_token": 4}  # refresh refused: logged in


def test_a_refused_login_is_retried_and_named_never_dead(
    engine: Engine, regional: RegionalServer
) -> None:
    team = w.add_team(engine, "bridged", "bridged")
    citizen, device, peripheral = w.add_citizen(engine, team)
    w.add_reading(engine, citizen, device, peripheral, "spo2", 93, "%", w.T0)
    clock = FrozenClock(w.T0 + timedelta(days=1))
    wrong = {"client_secret": "not-the-secret"}
    worker, _ = make_worker(engine, regional, clock, **wrong)
    result = worker.cycle(full_scan=True)
    assert (result.retried, result.dead) == (1, 0) and regional.resources == {}
    with Session(engine) as s:
        (row,) = s.exec(select(OutboxMessage)).all()
    assert row.last_error == "device search: token: login http 401"
