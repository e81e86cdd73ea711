"""Object-level authorization, route by route: a team A user given team B's ids gets 403 or
404 and not a byte of B's data. Routes are taken from the app's route table, so a new route
with an id cannot escape: it fails here until it has a request body listed below."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent
from tests.integration.api.routes import all_routes
from tests.integration.api.world import NOW, SECRET_NAMES_B, World

Headers = Callable[[str], dict[str, str]]

# a valid body for every state-changing route with an id (so validation cannot answer first)
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/alerts/{alert_id}/claim"): {"expected_version": 1},
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): {"expected_version": 1, "note": "x"},
    ("POST", "/api/v1/worklist/citizens/{citizen_id}/settle"): {
        # the other team's citizen is refused before any alert is looked at
        "alert_versions": {"00000000-0000-0000-0000-000000000001": 1},
    },
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): {
        "expected_version": 1,
        "outcome": "no_action_needed",
    },
    ("POST", "/api/v1/alerts/{alert_id}/reopen"): {"expected_version": 1, "reason": "igen"},
    ("PATCH", "/api/v1/citizens/{citizen_id}"): {"expected_version": 1, "phone": "12345678"},
    ("POST", "/api/v1/readings/{reading_id}/invalidate"): {"reason": "wrong finger"},
    ("POST", "/api/v1/citizens/{citizen_id}/notes"): {"text": "hello"},
    ("PUT", "/api/v1/citizens/{citizen_id}/limits"): {
        "expected_version": 1,
        "rules": {},
        "reason": "because",
    },
    ("PUT", "/api/v1/citizens/{citizen_id}/plan"): {
        "expected_version": 1,
        "reason": "because",
        "plan": {
            "starts_on": "2026-11-23",
            "measurements": ["spo2"],
            "schedule": {"weekdays": ["mon"], "times": ["09:00"]},
        },
    },
    ("POST", "/api/v1/citizens/{citizen_id}/pauses"): {
        "starts_at": NOW.isoformat(),
        "reason": "indlagt",
    },
    ("POST", "/api/v1/citizens/{citizen_id}/pauses/{pause_id}/end"): {},
    ("POST", "/api/v1/citizens/{citizen_id}/messages"): {"text": "Ring til os"},
    ("POST", "/api/v1/devices/{device_id}/assign"): {"citizen_id": "{citizen_id}"},
    ("POST", "/api/v1/devices/{device_id}/unassign"): {},
    ("POST", "/api/v1/devices/{device_id}/revoke"): {},
    ("POST", "/api/v1/devices/{device_id}/rotate"): {},
    ("PATCH", "/api/v1/staff/{staff_id}"): {"display_name": "X"},
    ("PATCH", "/api/v1/care-teams/{team_id}"): {"name": "Nyt navn"},
}

# the web UI's form actions: a valid form for each (sent with a bearer token, so no CSRF)
FORMS: dict[str, dict[str, str]] = {
    "/ui/alerts/{alert_id}/claim": {"expected_version": "1"},
    "/ui/alerts/{alert_id}/acknowledge": {"expected_version": "1", "note": "x"},
    "/ui/alerts/{alert_id}/resolve": {"expected_version": "1", "outcome": "other"},
    "/ui/alerts/{alert_id}/reopen": {"expected_version": "1", "reason": "igen"},
    "/ui/worklist/citizens/{citizen_id}/settle": {
        "alert": "00000000-0000-0000-0000-000000000001:1",
        "decision": "acknowledge",
    },
    "/ui/citizens/{citizen_id}/notes": {"text": "hello"},
    "/ui/readings/{reading_id}/invalidate": {"reason": "wrong finger"},
    "/ui/citizens/{citizen_id}/limits": {
        "expected_version": "1",
        "reason": "because",
        "spo2.red_low": "85",
    },
    "/ui/citizens/{citizen_id}/plan": {
        "expected_version": "1",
        "reason": "because",
        "times": "09:00",
        "weekdays": "mon",
        "measurements": "spo2",
    },
    "/ui/citizens/{citizen_id}/pauses": {"starts_on": "2026-11-24", "reason": "ferie"},
    "/ui/citizens/{citizen_id}/pauses/{pause_id}/end": {},
    "/ui/citizens/{citizen_id}/messages": {"text": "Ring til os", "kind": "message"},
    "/ui/devices/{device_id}/assign": {"citizen_id": "{citizen_id}"},
    "/ui/devices/{device_id}/unassign": {},
    "/ui/devices/{device_id}/revoke": {"confirm": "1"},
    "/ui/devices/{device_id}/rotate": {},
    "/ui/care-teams/{team_id}": {"name": "Nyt navn", "timezone": "Europe/Copenhagen"},
    "/ui/care-teams/{team_id}/missed-policy": {
        "task_after_slots": "3",
        "task_after_days": "2",
        "recent_alert_hours": "72",
        "reason": "ændret",
    },
    "/ui/staff/{staff_id}": {"display_name": "X", "role": "nurse", "care_team_ids": "{team_id}"},
    "/ui/staff/{staff_id}/status": {"change": "unlock"},
}

# ids that are not team-scoped objects (covered by role checks instead)
ROLE_GUARDED = {"staff_id", "message_id"}


def _ids_of_b(world: World) -> dict[str, str]:
    return {
        "citizen_id": str(world.b.citizen_ids[0]),
        "alert_id": str(world.b.alert_ids[0]),
        "reading_id": str(world.b.reading_ids[0]),
        "response_id": str(world.b.response_ids[0]),
        "note_id": str(world.b.note_ids[0]),
        "pause_id": str(world.b.pause_ids[0]),
        "device_id": world.b.device_ids[0],
        "message_id": str(world.quarantine_id),
        "staff_id": "00000000-0000-0000-0000-000000000001",
        "team_id": str(world.b.team_id),
    }


def routes_with_ids(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    found = []
    for route in all_routes(app):
        params = re.findall(r"{(\w+)}", route.path)
        if params:
            found.append((route.method, route.path, params))
    return found


def test_every_route_with_an_id_refuses_other_teams_objects(
    app: FastAPI, client: TestClient, headers: Headers, world: World, engine: Engine
) -> None:
    ids = _ids_of_b(world)
    forbidden_text = [
        *SECRET_NAMES_B,
        *(str(c) for c in world.b.citizen_ids),
        "0303003456",
        "030300-3456",
        "0404004567",
    ]
    checked = 0
    routes = routes_with_ids(app)
    assert len(routes) >= 20, "the route table looks too small"
    for method, path, params in routes:
        if path.startswith("/fhir"):
            continue  # the FHIR API has its own scoping tests
        unknown = [p for p in params if p not in ids]
        assert not unknown, f"{method} {path}: no team B object for {unknown}; add one"
        url = path
        for name in params:
            url = url.replace("{" + name + "}", ids[name])
        kwargs: dict[str, Any] = {"headers": headers("nurse-a")}
        if method == "POST" and path.startswith("/ui/"):
            assert path in FORMS, f"{method} {path}: list a valid form in FORMS"
            kwargs["data"] = {
                k: (ids[v[1:-1]] if v.startswith("{") else v) for k, v in FORMS[path].items()
            }
        elif method in ("POST", "PUT", "PATCH"):
            assert (method, path) in BODIES, f"{method} {path}: list a valid body in BODIES"
            body = {
                k: (ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v)
                for k, v in BODIES[(method, path)].items()
            }
            kwargs["json"] = body
        response = client.request(method, url, follow_redirects=False, **kwargs)
        expected = {403} if set(params) & ROLE_GUARDED else {403, 404}
        assert response.status_code in expected, (
            method,
            path,
            response.status_code,
            response.text[:300],
        )
        for text in forbidden_text:
            assert text not in response.text, (method, path, text)
        checked += 1
    assert checked >= 20
    # every probe left a trace in the audit log
    with Session(engine) as s:
        denied = s.exec(
            select(AuditEvent).where(
                AuditEvent.actor_username == "nurse-a", AuditEvent.outcome == "denied"
            )
        ).all()
    assert len(denied) == checked


def test_same_requests_work_for_own_team(
    client: TestClient, headers: Headers, world: World
) -> None:
    """The control: the BOLA refusals above are about teams, not broken routes."""
    citizen = world.a.citizen_ids[0]
    for url in (
        f"/api/v1/citizens/{citizen}",
        f"/api/v1/citizens/{citizen}/readings",
        f"/api/v1/alerts/{world.a.alert_ids[0]}",
        f"/api/v1/readings/{world.a.reading_ids[0]}",
        f"/api/v1/citizens/{citizen}/notes/{world.a.note_ids[0]}",
        f"/api/v1/devices/{world.a.device_ids[0]}",
    ):
        response = client.get(url, headers=headers("nurse-a"))
        assert response.status_code == 200, (url, response.text)
