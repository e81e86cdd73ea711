"""Tablet enrolment by one-time pairing code, revocation and rotation over the API: what an
administrator, a nurse and a tablet see (problems for wrong, used and expired codes), and
that the credentials handed over are the ones the broker accepts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select

from pust.db.device_credentials import MqttCredentialCheck
from pust.db.engine import session_scope
from pust.db.tables import AuditEvent, Citizen, OutboxMessage, PairingCode
from pust.domain.clock import FrozenClock
from pust.domain.cpr import Cpr
from tests.conftest import TEST_SERVICE_PASSWORD, TEST_SERVICE_USER
from tests.integration.api.conftest import problem
from tests.integration.api.world import World

Headers = Callable[[str], dict[str, str]]


def _new_citizen(engine: Engine, world: World) -> uuid.UUID:
    with session_scope(engine) as session:
        citizen = Citizen(
            care_team_id=world.a.team_id,
            cpr=Cpr("0505005678"),
            given_name="Test",
            family_name="Parring",
        )
        session.add(citizen)
        session.flush()
        return citizen.id


def _code(client: TestClient, headers: Headers, citizen_id: uuid.UUID, who: str = "admin") -> str:
    response = client.post(
        "/api/v1/pairing-codes", json={"citizen_id": str(citizen_id)}, headers=headers(who)
    )
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def _broker_accepts(engine: Engine, username: str, password: str) -> bool:
    check = MqttCredentialCheck(
        engine=engine, service_username=TEST_SERVICE_USER, service_password=TEST_SERVICE_PASSWORD
    )
    return check(username, password)


def test_a_new_tablet_pairs_once_with_a_code_and_gets_credentials_the_broker_accepts(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    citizen_id = _new_citizen(engine, world)
    code = _code(client, headers, citizen_id)
    paired = client.post("/api/v1/enrolment/pair", json={"code": code, "device_id": "ipad-new-1"})
    assert paired.status_code == 200, paired.text
    credentials = paired.json()
    assert credentials["mqtt_username"] == credentials["mqtt_client_id"] == "ipad-new-1"
    assert _broker_accepts(engine, "ipad-new-1", credentials["mqtt_password"])
    again = client.post("/api/v1/enrolment/pair", json={"code": code, "device_id": "ipad-new-2"})
    assert again.status_code == 400
    assert problem(again)["type"].endswith("/pairing-code-not-accepted")
    with session_scope(engine) as session:
        stored = session.exec(select(PairingCode)).one()
        assert code.replace("-", "") not in stored.code_hash
        assert stored.device_id == "ipad-new-1"
        # the broker channel of the outbox is told (Mosquitto follows the registry)
        queued = session.exec(
            select(OutboxMessage.destination).where(OutboxMessage.channel == "broker")
        ).all()
        assert "ipad-new-1" in queued
        actions = set(session.exec(select(AuditEvent.action)).all())
    assert {"device.pairing_code", "device.pair"} <= actions
    shown = client.get("/api/v1/devices/ipad-new-1", headers=headers("nurse-a"))
    assert shown.status_code == 200 and shown.json()["citizen_id"] == str(citizen_id)


def test_a_wrong_or_expired_code_is_refused_with_a_problem(
    client: TestClient, headers: Headers, engine: Engine, world: World, clock: FrozenClock
) -> None:
    citizen_id = _new_citizen(engine, world)
    wrong = client.post(
        "/api/v1/enrolment/pair", json={"code": "AAAA-BBBB", "device_id": "ipad-guess"}
    )
    assert wrong.status_code == 400 and problem(wrong)["status"] == 400
    code = _code(client, headers, citizen_id)
    clock.advance(timedelta(minutes=16))
    expired = client.post("/api/v1/enrolment/pair", json={"code": code, "device_id": "ipad-late"})
    assert expired.status_code == 400
    assert problem(expired)["type"].endswith("/pairing-code-not-accepted")


def test_a_tablet_of_another_citizen_cannot_be_paired_away(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    code = _code(client, headers, _new_citizen(engine, world))
    taken = client.post(
        "/api/v1/enrolment/pair", json={"code": code, "device_id": world.a.device_ids[0]}
    )
    assert taken.status_code == 409 and problem(taken)["status"] == 409


def test_nurses_may_not_create_codes_unless_allowed_and_never_for_other_teams(
    client: TestClient, headers: Headers, world: World
) -> None:
    own = client.post(
        "/api/v1/pairing-codes",
        json={"citizen_id": str(world.a.citizen_ids[0])},
        headers=headers("nurse-a"),
    )
    assert own.status_code == 403 and problem(own)["status"] == 403
    other = client.post(
        "/api/v1/pairing-codes",
        json={"citizen_id": str(world.a.citizen_ids[0])},
        headers=headers("nurse-b"),
    )
    assert other.status_code == 404


def test_pairing_attempts_are_rate_limited(client: TestClient) -> None:
    answers = [
        client.post("/api/v1/enrolment/pair", json={"code": "AAAA-BBBB", "device_id": "ipad-x"})
        for _ in range(11)
    ]
    assert [a.status_code for a in answers[:10]] == [400] * 10
    assert answers[10].status_code == 429
    assert int(answers[10].headers["Retry-After"]) >= 1
    assert problem(answers[10])["type"].endswith("/too-many-attempts")


def test_revoke_and_rotate_change_what_the_broker_accepts(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    device_id = world.a.device_ids[0]
    code = _code(client, headers, world.a.citizen_ids[0])
    old = client.post("/api/v1/enrolment/pair", json={"code": code, "device_id": device_id})
    old_password = old.json()["mqtt_password"]
    rotated = client.post(f"/api/v1/devices/{device_id}/rotate", headers=headers("admin"))
    assert rotated.status_code == 200
    new_password = rotated.json()["mqtt_password"]
    assert not _broker_accepts(engine, device_id, old_password)
    assert _broker_accepts(engine, device_id, new_password)
    refused = client.post(f"/api/v1/devices/{device_id}/revoke", headers=headers("nurse-a"))
    assert refused.status_code == 403
    revoked = client.post(f"/api/v1/devices/{device_id}/revoke", headers=headers("admin"))
    assert revoked.status_code == 204
    assert not _broker_accepts(engine, device_id, new_password)
    with session_scope(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.resource_id) == device_id)
        ).all()
    assert {"device.rotate", "device.revoke"} <= set(actions)
