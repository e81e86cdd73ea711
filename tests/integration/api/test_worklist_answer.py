"""The JSON worklist as nurses fetch it again and again (issue 17: the answer is kept per
process while the teams' open alerts are unchanged, services/api/worklist/answer.py) and
its watches apart from the tasks (issue 13). What a nurse would see: a new red in her next
fetch, never another team's citizen, every fetch audited once per citizen shown."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from pust.db.engine import session_scope
from pust.db.tables import Alert, AuditEvent, Citizen, StaffMembership, StaffUser
from tests.integration.api.world import World, _alert

Headers = Callable[[str], dict[str, str]]


def _fetch(client: TestClient, headers: Headers, who: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/worklist", params=params, headers=headers(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _add(engine: Engine, citizen_id: uuid.UUID, **alert: Any) -> uuid.UUID:
    with session_scope(engine) as s:
        citizen = s.get(Citizen, citizen_id)
        assert citizen is not None
        row = _alert(citizen=citizen, **alert)
        s.add(row)
        s.flush()
        return row.id


def _watch(engine: Engine, citizen_id: uuid.UUID) -> uuid.UUID:
    return _add(
        engine,
        citizen_id,
        severity="yellow",
        band=4,
        rule="spo2.absolute.watch",
        value=89.0,
        age=timedelta(hours=5),
        kind="watch",
    )


def _reads(engine: Engine, action: str = "worklist.read") -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_new_red_alert_is_in_the_very_next_fetch(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    anna, arne = world.a.citizen_ids
    first = _fetch(client, headers, "nurse-a")
    assert _fetch(client, headers, "nurse-a") == first  # unchanged: the same answer
    assert [row["citizen_id"] for row in first["items"]] == [str(anna), str(arne)]
    # the alerts service (another process) raises a red for Arne, older than Anna's
    _add(
        engine,
        arne,
        severity="red",
        band=0,
        rule="fev1.absolute",
        value=0.9,
        age=timedelta(hours=3),
    )
    after = _fetch(client, headers, "nurse-a")
    assert [(row["citizen_id"], row["band"]) for row in after["items"]] == [
        (str(arne), "red"),
        (str(anna), "red"),
    ]
    assert after["items"][0]["rule_key"] == "fev1.absolute"


def test_a_changed_alert_or_name_is_in_the_next_fetch_though_nothing_was_added(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    anna = world.a.citizen_ids[0]
    _fetch(client, headers, "nurse-a")
    with session_scope(engine) as s:
        red = s.get(Alert, world.a.alert_ids[0])
        citizen = s.get(Citizen, anna)
        assert red is not None and citizen is not None
        red.last_value = 84.0  # a repeated reading, written without touching any counter
        citizen.family_name = "Andersen-Holm"
    row = _fetch(client, headers, "nurse-a")["items"][0]
    assert (row["last_value"], row["citizen_name"]) == (84.0, "Anna Andersen-Holm")
    claimed = client.post(
        f"/api/v1/alerts/{world.a.alert_ids[0]}/claim",
        json={"expected_version": 1},
        headers=headers("lead-a"),
    )
    assert claimed.status_code == 200, claimed.text
    assert _fetch(client, headers, "nurse-a")["items"][0]["claimed_by"] == "lead-a"


def test_a_nurse_of_team_a_never_sees_team_b(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    team_a, team_b = str(world.a.team_id), str(world.b.team_id)
    for _ in range(2):  # computed, then kept: the same either way
        for who, teams in (
            ("nurse-a", {team_a}),
            ("nurse-b", {team_b}),
            ("admin", {team_a, team_b}),
        ):
            body = _fetch(client, headers, who)
            assert {row["care_team_id"] for row in body["items"]} == teams
            assert body["total"] == 2 * len(teams)
        only_a = _fetch(client, headers, "admin", care_team_id=team_a)
        assert {row["care_team_id"] for row in only_a["items"]} == {team_a}
    # nurse-a moves to team B: her very next fetch is team B's (her teams are read per request)
    with session_scope(engine) as s:
        nurse = s.exec(select(StaffUser).where(StaffUser.username == "nurse-a")).one()
        s.execute(delete(StaffMembership).where(col(StaffMembership.staff_id) == nurse.id))
        s.add(StaffMembership(staff_id=nurse.id, care_team_id=world.b.team_id))
    moved = _fetch(client, headers, "nurse-a")
    assert {row["care_team_id"] for row in moved["items"]} == {team_b}
    refused = client.get(
        "/api/v1/worklist", params={"care_team_id": team_a}, headers=headers("nurse-a")
    )
    assert refused.status_code == 404


def test_every_fetch_is_audited_once_per_citizen_shown(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    anna, arne = world.a.citizen_ids
    _watch(engine, anna)  # Anna has tasks and a watch: in both lists, audited once
    for _ in range(4):  # the first computed, the others kept
        _fetch(client, headers, "nurse-a")
    _fetch(client, headers, "nurse-b")
    events = _reads(engine)
    by_nurse = Counter((e.actor_username, e.citizen_id) for e in events)
    assert by_nurse == {
        ("nurse-a", anna): 4,
        ("nurse-a", arne): 4,
        ("nurse-b", world.b.citizen_ids[0]): 1,
        ("nurse-b", world.b.citizen_ids[1]): 1,
    }
    assert {
        (e.care_team_id, e.resource_type, e.outcome) for e in events if e.citizen_id == anna
    } == {(world.a.team_id, "citizen", "success")}


def test_watches_are_apart_from_the_tasks(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    """Issue 13: a watch is not a task. Arne's only task is settled and he has a watch: he
    is not a task row and not counted; Anna's watch leaves her task row's count alone."""
    anna, arne = world.a.citizen_ids
    with session_scope(engine) as s:
        green = s.get(Alert, world.a.alert_ids[2])
        assert green is not None and green.citizen_id == arne
        green.status, green.open_key = "resolved", None
    _watch(engine, arne)
    _watch(engine, anna)
    body = _fetch(client, headers, "nurse-a")
    assert [row["citizen_id"] for row in body["items"]] == [str(anna)]
    assert body["total"] == 1
    assert body["items"][0]["open_alerts"] == 2  # her red and yellow, not the watch
    assert {row["alert_kind"] for row in body["items"]} == {"reading"}
    assert sorted(row["citizen_id"] for row in body["watches"]) == sorted([str(anna), str(arne)])
    assert {row["alert_kind"] for row in body["watches"]} == {"watch"}
    assert body["watch_total"] == 2
    green_band = _fetch(client, headers, "nurse-a", band="green")
    assert green_band["items"] == [] and green_band["total"] == 0


def test_acknowledge_green_leaves_watches_open(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    watch = _watch(engine, world.a.citizen_ids[0])
    response = client.post(
        "/api/v1/worklist/acknowledge-green",
        json={"care_team_id": str(world.a.team_id)},
        headers=headers("nurse-a"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["alert_ids"] == [str(world.a.alert_ids[2])]
    with Session(engine) as s:
        kept = s.get(Alert, watch)
        assert kept is not None and kept.status == "open"
