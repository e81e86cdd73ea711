"""Citizen endpoints: read, limits and plan versions, invalid readings, pauses, messages,
notes, the access report, enrolment, and devices."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import Device, DeviceAssignment, OutboxMessage, Reading
from pust.domain.limits import default_rule_set
from tests.integration.api.conftest import problem
from tests.integration.api.world import NOW, World

Headers = Callable[[str], dict[str, str]]


def test_read_citizen_shows_formatted_cpr_device_and_pause(
    client: TestClient, headers: Headers, world: World
) -> None:
    body = client.get(f"/api/v1/citizens/{world.a.citizen_ids[0]}", headers=headers("nurse-a"))
    assert body.status_code == 200
    data = body.json()
    assert data["cpr"] == "010100-1234"
    assert data["device_id"] == world.a.device_ids[0]
    assert data["paused"] is False


def test_list_is_scoped_and_searchable(client: TestClient, headers: Headers) -> None:
    page = client.get("/api/v1/citizens", headers=headers("nurse-a")).json()
    assert page["total"] == 2
    assert {c["given_name"] for c in page["items"]} == {"Anna", "Arne"}
    found = client.get("/api/v1/citizens", params={"q": "arn"}, headers=headers("nurse-a")).json()
    assert [c["given_name"] for c in found["items"]] == ["Arne"]


def test_limits_edit_makes_a_new_version_and_stale_edit_is_409(
    client: TestClient, headers: Headers, world: World
) -> None:
    url = f"/api/v1/citizens/{world.a.citizen_ids[0]}/limits"
    rules = default_rule_set().to_json()
    rules["absolute"][0]["yellow_low"] = 89
    first = client.put(
        url,
        json={"expected_version": 1, "rules": rules, "reason": "Lægen"},
        headers=headers("nurse-a"),
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    stale = client.put(
        url,
        json={"expected_version": 1, "rules": rules, "reason": "Også mig"},
        headers=headers("lead-a"),
    )
    assert problem(stale)["status"] == 409
    history = client.get(url + "/versions", headers=headers("nurse-a")).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert history["items"][0]["reason"] == "Lægen"


def test_invalid_limits_are_422_with_the_reason(
    client: TestClient, headers: Headers, world: World
) -> None:
    rules = default_rule_set().to_json()
    rules["absolute"][0]["yellow_low"] = 80  # below red low 88
    response = client.put(
        f"/api/v1/citizens/{world.a.citizen_ids[0]}/limits",
        json={"expected_version": 1, "rules": rules, "reason": "test"},
        headers=headers("nurse-a"),
    )
    assert problem(response)["status"] == 422
    assert "yellow low" in response.json()["detail"]


def test_plan_change_queues_a_retained_plan_for_the_tablet(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    url = f"/api/v1/citizens/{world.a.citizen_ids[0]}/plan"
    plan = {
        "starts_on": "2026-11-23",
        "measurements": ["spo2", "pulse"],
        "schedule": {"weekdays": ["mon", "thu"], "times": ["09:00"]},
    }
    response = client.put(
        url,
        json={"expected_version": 1, "plan": plan, "reason": "Færre"},
        headers=headers("nurse-a"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage)).all()
    assert len(rows) == 1
    assert rows[0].retain is True
    assert rows[0].destination.endswith(f"/devices/{world.a.device_ids[0]}/plan")
    assert rows[0].payload["version"] == 2
    stale = client.put(
        url,
        json={"expected_version": 1, "plan": plan, "reason": "igen"},
        headers=headers("nurse-a"),
    )
    assert stale.status_code == 409


def test_invalidate_reading_keeps_it_with_reason(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    reading_id = world.a.reading_ids[0]
    response = client.post(
        f"/api/v1/readings/{reading_id}/invalidate",
        json={"reason": "Målt på kold finger"},
        headers=headers("nurse-a"),
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False
    with Session(engine) as s:
        reading = s.get(Reading, reading_id)
        assert reading is not None and reading.invalid_reason == "Målt på kold finger"
    again = client.post(
        f"/api/v1/readings/{reading_id}/invalidate",
        json={"reason": "igen igen"},
        headers=headers("nurse-a"),
    )
    assert again.status_code == 409


def test_pause_message_note_and_access_report(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    citizen = world.a.citizen_ids[0]
    pause = client.post(
        f"/api/v1/citizens/{citizen}/pauses",
        json={"starts_at": NOW.isoformat(), "reason": "Indlagt"},
        headers=headers("nurse-a"),
    )
    assert pause.status_code == 201
    assert client.get(f"/api/v1/citizens/{citizen}", headers=headers("nurse-a")).json()["paused"]
    message = client.post(
        f"/api/v1/citizens/{citizen}/messages",
        json={"text": "Husk at måle i morgen"},
        headers=headers("nurse-a"),
    )
    assert message.status_code == 202
    with Session(engine) as s:
        notice = s.exec(select(OutboxMessage)).one()
    assert notice.payload["kind"] == "message"
    assert notice.payload["text"] == "Husk at måle i morgen"
    note = client.post(
        f"/api/v1/citizens/{citizen}/notes", json={"text": "Ringede"}, headers=headers("nurse-a")
    )
    assert note.status_code == 201
    assert (
        client.get(
            f"/api/v1/citizens/{citizen}/access-report", headers=headers("nurse-a")
        ).status_code
        == 403
    )
    report = client.get(
        f"/api/v1/citizens/{citizen}/access-report", headers=headers("lead-a")
    ).json()
    actions = {(e["actor_username"], e["action"]) for e in report["items"]}
    assert ("nurse-a", "citizen.read") in actions
    assert ("nurse-a", "note.create") in actions


def test_enrol_citizen_gets_default_limits_and_plan(
    client: TestClient, headers: Headers, world: World
) -> None:
    body = {
        "care_team_id": str(world.a.team_id),
        "cpr": "050505-1111",
        "given_name": "Carl",
        "family_name": "Carlsen",
    }
    assert client.post("/api/v1/citizens", json=body, headers=headers("nurse-a")).status_code == 403
    created = client.post("/api/v1/citizens", json=body, headers=headers("lead-a"))
    assert created.status_code == 201, created.text
    citizen_id = created.json()["id"]
    assert (
        client.get(f"/api/v1/citizens/{citizen_id}/limits", headers=headers("nurse-a")).json()[
            "version"
        ]
        == 1
    )
    assert (
        client.get(f"/api/v1/citizens/{citizen_id}/plan", headers=headers("nurse-a")).json()[
            "version"
        ]
        == 1
    )
    again = client.post("/api/v1/citizens", json=body, headers=headers("lead-a"))
    assert again.status_code == 409
    bad = client.post("/api/v1/citizens", json={**body, "cpr": "12"}, headers=headers("lead-a"))
    assert problem(bad)["status"] == 422


def test_enrol_assign_and_unassign_a_device(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    admin = headers("admin")
    created = client.post(
        "/api/v1/devices",
        json={"device_id": "tablet-new", "mqtt_password": "long-enough-secret"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    with Session(engine) as s:
        device = s.get(Device, "tablet-new")
        assert device is not None and device.mqtt_password_hash is not None
        assert device.mqtt_password_hash.startswith("$argon2")
    busy = client.post(
        "/api/v1/devices/tablet-new/assign",
        json={"citizen_id": str(world.a.citizen_ids[0])},
        headers=admin,
    )
    assert busy.status_code == 409  # the citizen has a tablet already
    unassigned = client.post(f"/api/v1/devices/{world.a.device_ids[0]}/unassign", headers=admin)
    assert unassigned.status_code == 200, unassigned.text
    with Session(engine) as s:
        old_tablet = s.exec(
            select(DeviceAssignment).where(DeviceAssignment.device_id == world.a.device_ids[0])
        ).all()
    assert old_tablet and all(a.valid_to is not None for a in old_tablet)  # ended
    assigned = client.post(
        "/api/v1/devices/tablet-new/assign",
        json={"citizen_id": str(world.a.citizen_ids[0])},
        headers=admin,
    )
    assert assigned.status_code == 200
    assert assigned.json()["citizen_id"] == str(world.a.citizen_ids[0])
    with Session(engine) as s:
        plans = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "mqtt")).all()
    assert [p.destination.rsplit("/", 2)[-2] for p in plans] == ["tablet-new"]
    nurse_view = client.get("/api/v1/devices", headers=headers("nurse-b")).json()
    assert {d["id"] for d in nurse_view["items"]} == set(world.b.device_ids)


def test_quarantine_is_for_administrators(
    client: TestClient, headers: Headers, world: World
) -> None:
    assert client.get("/api/v1/quarantine", headers=headers("nurse-a")).status_code == 403
    page = client.get("/api/v1/quarantine", headers=headers("admin")).json()
    assert page["total"] == 1
    one = client.get(f"/api/v1/quarantine/{world.quarantine_id}", headers=headers("admin"))
    assert one.json()["payload_text"] == "{}"
