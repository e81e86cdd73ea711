"""The worklist API: order, why, age, filters, scoping, audit, actions and concurrency."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.tables import Alert, AuditEvent, OutboxMessage
from tests.integration.api.conftest import problem
from tests.integration.api.world import World

Headers = Callable[[str], dict[str, str]]


def test_rows_are_ordered_worst_then_oldest_with_why_and_age(
    client: TestClient, headers: Headers, world: World
) -> None:
    response = client.get("/api/v1/worklist", headers=headers("nurse-a"))
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 2
    first, second = page["items"]
    assert first["citizen_id"] == str(world.a.citizen_ids[0])
    assert first["band"] == "red"
    assert first["open_alerts"] == 2
    assert first["reasons"][0]["rule"] == "spo2.absolute"
    assert first["reasons"][0]["limit"] == 88.0
    assert first["last_value"] == 86.0
    assert first["age_seconds"] == 2 * 3600
    assert second["band"] == "green"
    assert {row["care_team_id"] for row in page["items"]} == {str(world.a.team_id)}


def test_band_filter_and_team_filter(client: TestClient, headers: Headers, world: World) -> None:
    green = client.get("/api/v1/worklist", params={"band": "green"}, headers=headers("admin"))
    assert green.json()["total"] == 2
    only_b = client.get(
        "/api/v1/worklist", params={"care_team_id": str(world.b.team_id)}, headers=headers("admin")
    ).json()
    assert {row["care_team_id"] for row in only_b["items"]} == {str(world.b.team_id)}
    denied = client.get(
        "/api/v1/worklist",
        params={"care_team_id": str(world.b.team_id)},
        headers=headers("nurse-a"),
    )
    assert problem(denied)["status"] == 404


def test_pagination_totals_never_count_other_teams(client: TestClient, headers: Headers) -> None:
    page = client.get(
        "/api/v1/worklist", params={"limit": 1, "offset": 5}, headers=headers("nurse-a")
    ).json()
    assert page["items"] == []
    assert page["total"] == 2


def test_each_citizen_in_the_list_is_audited(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    client.get("/api/v1/worklist", headers=headers("nurse-a"))
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "worklist.read")).all()
    assert sorted(str(e.citizen_id) for e in events) == sorted(str(c) for c in world.a.citizen_ids)
    assert {e.actor_username for e in events} == {"nurse-a"}


def test_acknowledge_with_note_and_notice_then_stale_is_409(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    alert_id = world.a.alert_ids[0]
    body = {"expected_version": 1, "note": "Ringet op", "notify_citizen": True}
    first = client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json=body, headers=headers("nurse-a")
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "acknowledged"
    assert first.json()["acknowledge_note"] == "Ringet op"
    second = client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json=body, headers=headers("lead-a")
    )
    assert problem(second)["status"] == 409
    with Session(engine) as s:
        notices = s.exec(select(OutboxMessage)).all()
    assert len(notices) == 1
    assert notices[0].destination.endswith(f"/devices/{world.a.device_ids[0]}/notices")
    assert notices[0].payload["kind"] == "acknowledged"
    assert notices[0].channel == "mqtt"


def test_a_red_acknowledged_with_an_empty_note_is_refused_with_a_danish_field_error(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    red = world.a.alert_ids[0]
    for note in ({}, {"note": ""}, {"note": "   "}):
        response = client.post(
            f"/api/v1/alerts/{red}/acknowledge",
            json={"expected_version": 1, "notify_citizen": True, **note},
            headers=headers("nurse-a"),
        )
        body = problem(response)
        assert body["status"] == 422
        assert body["errors"] == [
            {
                "loc": ["body", "note"],
                "msg": "En rød alarm kvitteres kun med en note",
                "type": "note_required_red_ack",
            }
        ]
    with Session(engine) as s:
        alert = s.get(Alert, red)
        assert alert is not None and (alert.status, alert.lock_version) == ("open", 1)
        assert s.exec(select(OutboxMessage)).all() == []  # no "seen" notice either


def test_claim_then_resolve(client: TestClient, headers: Headers, world: World) -> None:
    alert_id = world.a.alert_ids[1]
    claimed = client.post(
        f"/api/v1/alerts/{alert_id}/claim", json={"expected_version": 1}, headers=headers("nurse-a")
    )
    assert claimed.status_code == 200
    row = client.get("/api/v1/worklist", headers=headers("lead-a")).json()["items"]
    assert claimed.json()["lock_version"] == 2
    taken = client.post(
        f"/api/v1/alerts/{alert_id}/claim", json={"expected_version": 2}, headers=headers("lead-a")
    )
    assert problem(taken)["status"] == 409
    resolved = client.post(
        f"/api/v1/alerts/{alert_id}/resolve",
        json={"expected_version": 2, "outcome": "contacted_citizen", "note": "OK"},
        headers=headers("nurse-a"),
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert row  # the worklist was readable while claimed
    events = client.get(f"/api/v1/alerts/{alert_id}/events", headers=headers("nurse-a")).json()
    assert [e["kind"] for e in events] == ["claimed", "resolved"]
    reopened = client.post(
        f"/api/v1/alerts/{alert_id}/reopen",
        json={"expected_version": resolved.json()["lock_version"], "reason": "Ringede igen"},
        headers=headers("nurse-a"),
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "open"


def test_bulk_acknowledge_green_only_touches_green_of_that_team(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    response = client.post(
        "/api/v1/worklist/acknowledge-green",
        json={"care_team_id": str(world.a.team_id)},
        headers=headers("nurse-a"),
    )
    assert response.status_code == 200
    assert response.json()["acknowledged"] == 1
    with Session(engine) as s:
        open_ids = set(s.exec(select(Alert.id).where(col(Alert.status) == "open")).all())
    assert world.a.alert_ids[2] not in open_ids
    assert world.a.alert_ids[0] in open_ids  # red stays
    assert world.b.alert_ids[2] in open_ids  # the other team's green stays
    other = client.post(
        "/api/v1/worklist/acknowledge-green",
        json={"care_team_id": str(world.b.team_id)},
        headers=headers("nurse-a"),
    )
    assert problem(other)["status"] == 404


def test_integrator_may_read_but_not_act(
    client: TestClient, headers: Headers, world: World
) -> None:
    assert client.get("/api/v1/worklist", headers=headers("integrator")).status_code == 200
    response = client.post(
        f"/api/v1/alerts/{world.a.alert_ids[0]}/acknowledge",
        json={"expected_version": 1},
        headers=headers("integrator"),
    )
    assert problem(response)["status"] == 403


def test_live_events_announce_a_new_alert(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    from datetime import timedelta

    from tests.integration.api.world import NOW

    with client.stream("GET", "/api/v1/worklist/events", headers=headers("nurse-a")) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 1000"
        assert next(lines) == "event: ready"
        next(lines)
        next(lines)
        with Session(engine) as s:
            alert = s.get(Alert, world.a.alert_ids[2])
            assert alert is not None
            alert.count += 1
            alert.updated_at = NOW + timedelta(seconds=5)
            s.add(alert)
            s.commit()
        seen = [next(lines) for _ in range(2)]
    assert seen[0] == "event: changed"


def test_the_live_streams_of_many_nurses_share_one_poll(
    app: FastAPI, client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    """Issue 17: one grouped fingerprint query per round for every open stream of the
    process (not one per nurse); the change still reaches the team's nurse."""
    from datetime import timedelta

    from sqlalchemy import event

    from tests.integration.api.world import NOW

    polls: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_args: object) -> None:
        if "GROUP BY alert.care_team_id" in statement:
            polls.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        with (
            client.stream("GET", "/api/v1/worklist/events", headers=headers("nurse-a")) as a,
            client.stream("GET", "/api/v1/worklist/events", headers=headers("nurse-b")) as b,
            client.stream("GET", "/api/v1/worklist/events", headers=headers("admin")) as c,
        ):
            streams = [s.iter_lines() for s in (a, b, c)]
            for lines in streams:
                assert [next(lines) for _ in range(4)][:2] == ["retry: 1000", "event: ready"]
            with Session(engine) as s:
                alert = s.get(Alert, world.a.alert_ids[2])
                assert alert is not None
                alert.count += 1
                alert.updated_at = NOW + timedelta(seconds=5)
                s.add(alert)
                s.commit()
            assert next(streams[0]) == "event: changed"
            _, pulse = app.state.worklist_pulse
            rounds = pulse.rounds
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)
    assert rounds >= 1
    # the streams' first reads (one per team not yet watched: A and B), one per round, and
    # at most one round in flight; a poll per stream would be 3 per round
    assert 2 + rounds <= len(polls) <= 2 + rounds + 1
