"""Every route that reads a citizen's data or changes anything writes an audit event with
who, role, team, citizen and outcome. The routes come from the app's route table: a new
route fails here until it is either called below or listed as carrying no citizen data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from pust.db.tables import Alert, AuditEvent, Citizen, LimitSet, Plan
from tests.integration.api.routes import all_routes
from tests.integration.api.world import NOW, World

Headers = Callable[[str], dict[str, str]]

# routes that neither show a citizen's data nor change anything
NO_CITIZEN_DATA = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("POST", "/api/v1/auth/token"),  # audited as auth.login/auth.token, tested in test_auth
    ("GET", "/api/v1/auth/me"),
    ("GET", "/auth/oidc/login"),
    ("GET", "/auth/oidc/callback"),
    ("GET", "/api/v1/worklist/events"),  # carries a version number only
    ("GET", "/citizens"),  # a redirect to /borgere
    ("GET", "/api/v1/care-teams"),
    ("GET", "/api/v1/staff"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    # the tablet itself is the actor (device.pair, naming the citizen): tested in test_pairing
    ("POST", "/api/v1/enrolment/pair"),
    ("GET", "/hvad-nu-hvis"),  # the what-if form with the team's limits; POST is audited
}


@dataclass
class Step:
    method: str
    path: str
    user: str
    params: dict[str, str] = field(default_factory=dict)
    json: Callable[[Engine], dict[str, Any]] | None = None
    form: Callable[[Engine], dict[str, str]] | None = None
    citizen: bool = True  # the event must name a citizen


def _alert_version(engine: Engine, alert_id: Any) -> int:
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        return alert.lock_version


def _citizen_version(engine: Engine, citizen_id: Any) -> int:
    with Session(engine) as s:
        citizen = s.get(Citizen, citizen_id)
        assert citizen is not None
        return citizen.lock_version


def _limits(engine: Engine, citizen_id: Any) -> tuple[int, dict[str, Any]]:
    with Session(engine) as s:
        row = s.exec(
            select(LimitSet)
            .where(LimitSet.citizen_id == citizen_id)
            .order_by(col(LimitSet.version).desc())
        ).first()
        assert row is not None
        return row.version, dict(row.rules)


def _plan(engine: Engine, citizen_id: Any) -> tuple[int, dict[str, Any]]:
    with Session(engine) as s:
        row = s.exec(
            select(Plan).where(Plan.citizen_id == citizen_id).order_by(col(Plan.version).desc())
        ).first()
        assert row is not None
        return row.version, dict(row.schedule)


def steps(world: World) -> list[Step]:
    a = world.a
    c0, c1 = str(a.citizen_ids[0]), str(a.citizen_ids[1])
    al0, al1, al2 = a.alert_ids
    cit = {"citizen_id": c0}
    return [
        Step("GET", "/", "nurse-a"),
        Step("GET", "/ui/worklist/rows", "nurse-a"),
        Step("GET", "/borgere", "nurse-a"),
        Step("GET", "/api/v1/worklist", "nurse-a"),
        Step("GET", "/api/v1/citizens", "nurse-a"),
        Step("GET", "/api/v1/citizens/{citizen_id}", "nurse-a", cit),
        Step("GET", "/citizens/{citizen_id}", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/readings", "nurse-a", cit),
        Step(
            "GET", "/api/v1/readings/{reading_id}", "nurse-a", {"reading_id": str(a.reading_ids[0])}
        ),
        Step("GET", "/api/v1/citizens/{citizen_id}/questionnaire-responses", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/alerts", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/notes", "nurse-a", cit),
        Step(
            "GET",
            "/api/v1/citizens/{citizen_id}/notes/{note_id}",
            "nurse-a",
            {**cit, "note_id": str(a.note_ids[0])},
        ),
        Step("GET", "/api/v1/citizens/{citizen_id}/limits", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/limits/versions", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/plan", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/pauses", "nurse-a", cit),
        Step("GET", "/api/v1/citizens/{citizen_id}/access-report", "lead-a", cit),
        Step("GET", "/citizens/{citizen_id}/access-report", "lead-a", cit),
        Step("GET", "/api/v1/alerts/{alert_id}", "nurse-a", {"alert_id": str(al0)}),
        Step("GET", "/api/v1/alerts/{alert_id}/events", "nurse-a", {"alert_id": str(al0)}),
        Step("GET", "/api/v1/devices", "nurse-a"),
        Step("GET", "/api/v1/devices/{device_id}", "nurse-a", {"device_id": a.device_ids[0]}),
        Step("GET", "/admin", "admin"),
        Step("GET", "/api/v1/quarantine", "admin", citizen=False),
        Step(
            "GET",
            "/api/v1/quarantine/{message_id}",
            "admin",
            {"message_id": str(world.quarantine_id)},
            citizen=False,
        ),
        # actions
        Step(
            "POST",
            "/api/v1/alerts/{alert_id}/claim",
            "nurse-a",
            {"alert_id": str(al1)},
            json=lambda e: {"expected_version": _alert_version(e, al1)},
        ),
        Step(
            "POST",
            "/api/v1/alerts/{alert_id}/acknowledge",
            "nurse-a",
            {"alert_id": str(al0)},
            json=lambda e: {"expected_version": _alert_version(e, al0), "note": "ok"},
        ),
        Step(
            "POST",
            "/api/v1/alerts/{alert_id}/resolve",
            "nurse-a",
            {"alert_id": str(al1)},
            json=lambda e: {
                "expected_version": _alert_version(e, al1),
                "outcome": "contacted_citizen",
            },
        ),
        Step(
            "POST",
            "/ui/alerts/{alert_id}/claim",
            "nurse-a",
            {"alert_id": str(al2)},
            form=lambda e: {"expected_version": "1"},
        ),
        Step(
            "POST",
            "/ui/alerts/{alert_id}/acknowledge",
            "nurse-a",
            {"alert_id": str(al2)},
            form=lambda e: {"expected_version": str(_alert_version(e, al2))},
        ),
        Step(
            "POST",
            "/api/v1/alerts/{alert_id}/reopen",
            "nurse-a",
            {"alert_id": str(al1)},
            json=lambda e: {"expected_version": _alert_version(e, al1), "reason": "igen"},
        ),
        Step(
            "POST",
            "/api/v1/worklist/acknowledge-green",
            "nurse-a",
            json=lambda e: {"care_team_id": str(a.team_id)},
            citizen=False,
        ),
        Step(
            "POST",
            "/ui/alerts/{alert_id}/resolve",
            "nurse-a",
            {"alert_id": str(al0)},
            form=lambda e: {
                "expected_version": str(_alert_version(e, al0)),
                "outcome": "other",
                "note": "Talt med borgeren",
            },
        ),
        Step(
            "POST",
            "/ui/worklist/citizens/{citizen_id}/settle",
            "nurse-a",
            cit,
            form=lambda e: {"alert": f"{al1}:{_alert_version(e, al1)}", "decision": "acknowledge"},
        ),
        Step(
            "POST",
            "/api/v1/worklist/citizens/{citizen_id}/settle",
            "nurse-a",
            cit,
            json=lambda e: {
                "resolve": True,
                "alert_versions": {str(al1): _alert_version(e, al1)},
                "outcome": "no_action_needed",
            },
        ),
        Step(
            "POST",
            "/ui/alerts/{alert_id}/reopen",
            "nurse-a",
            {"alert_id": str(al1)},
            form=lambda e: {"expected_version": str(_alert_version(e, al1)), "reason": "igen"},
        ),
        Step(
            "PATCH",
            "/api/v1/citizens/{citizen_id}",
            "nurse-a",
            cit,
            json=lambda e: {
                "expected_version": _citizen_version(e, a.citizen_ids[0]),
                "phone": "7070",
            },
        ),
        Step(
            "POST",
            "/api/v1/readings/{reading_id}/invalidate",
            "nurse-a",
            {"reading_id": str(a.reading_ids[0])},
            json=lambda e: {"reason": "kold finger"},
        ),
        Step(
            "POST",
            "/ui/readings/{reading_id}/invalidate",
            "nurse-a",
            {"reading_id": str(a.reading_ids[1])},
            form=lambda e: {"reason": "kold finger"},
        ),
        Step(
            "POST",
            "/api/v1/citizens/{citizen_id}/notes",
            "nurse-a",
            cit,
            json=lambda e: {"text": "note"},
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/notes",
            "nurse-a",
            cit,
            form=lambda e: {"text": "note"},
        ),
        Step(
            "PUT",
            "/api/v1/citizens/{citizen_id}/limits",
            "nurse-a",
            cit,
            json=lambda e: {
                "expected_version": _limits(e, a.citizen_ids[0])[0],
                "rules": _limits(e, a.citizen_ids[0])[1],
                "reason": "samme",
            },
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/limits",
            "nurse-a",
            cit,
            form=lambda e: {
                "expected_version": str(_limits(e, a.citizen_ids[0])[0]),
                "reason": "igen",
                "spo2.red_low": "87",
                "spo2.yellow_low": "90",
            },
        ),
        Step(
            "PUT",
            "/api/v1/citizens/{citizen_id}/plan",
            "nurse-a",
            cit,
            json=lambda e: {
                "expected_version": _plan(e, a.citizen_ids[0])[0],
                "plan": _plan(e, a.citizen_ids[0])[1],
                "reason": "samme",
            },
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/plan",
            "nurse-a",
            cit,
            form=lambda e: {
                "expected_version": str(_plan(e, a.citizen_ids[0])[0]),
                "reason": "igen",
                "times": "09:00",
                "weekdays": "mon",
                "measurements": "spo2",
            },
        ),
        Step(
            "POST",
            "/api/v1/citizens/{citizen_id}/pauses",
            "nurse-a",
            cit,
            json=lambda e: {"starts_at": NOW.isoformat(), "reason": "indlagt"},
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/pauses",
            "nurse-a",
            cit,
            form=lambda e: {"starts_on": "2026-12-24", "ends_on": "2026-12-26", "reason": "jul"},
        ),
        Step(
            "POST",
            "/api/v1/citizens/{citizen_id}/pauses/{pause_id}/end",
            "nurse-a",
            {**cit, "pause_id": str(a.pause_ids[0])},
            json=lambda e: {},
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/pauses/{pause_id}/end",
            "nurse-a",
            {"citizen_id": c1, "pause_id": str(a.pause_ids[1])},
            form=lambda e: {},
        ),
        Step(
            "POST",
            "/api/v1/citizens/{citizen_id}/messages",
            "nurse-a",
            cit,
            json=lambda e: {"text": "Hej"},
        ),
        Step(
            "POST",
            "/ui/citizens/{citizen_id}/messages",
            "nurse-a",
            cit,
            form=lambda e: {"text": "Hej", "kind": "contact_clinic"},
        ),
        Step(
            "POST",
            "/api/v1/citizens",
            "lead-a",
            json=lambda e: {
                "care_team_id": str(a.team_id),
                "cpr": "0909091234",
                "given_name": "Ny",
                "family_name": "Borger",
            },
        ),
        Step(
            "POST",
            "/ui/citizens",
            "admin",
            form=lambda e: {
                "care_team_id": str(a.team_id),
                "cpr": "0808081234",
                "cpr_confirmed": "1",  # fictitious: fails modulus 11, confirmed by hand
                "given_name": "Ny",
                "family_name": "Borger",
            },
        ),
        Step(
            "POST",
            "/api/v1/devices/{device_id}/unassign",
            "admin",
            {"device_id": a.device_ids[0]},
            json=lambda e: {},
        ),
        Step(
            "POST",
            "/api/v1/devices/{device_id}/assign",
            "admin",
            {"device_id": a.device_ids[0]},
            json=lambda e: {"citizen_id": c0},
        ),
        Step(
            "POST",
            "/ui/devices/{device_id}/unassign",
            "admin",
            {"device_id": a.device_ids[0]},
            form=lambda e: {},
        ),
        Step(
            "POST",
            "/ui/devices/{device_id}/assign",
            "admin",
            {"device_id": a.device_ids[0]},
            form=lambda e: {"citizen_id": c0},
        ),
        Step(
            "POST",
            "/api/v1/devices",
            "admin",
            citizen=False,
            json=lambda e: {"device_id": "tablet-x1", "mqtt_password": "long-enough-pw"},
        ),
        Step(
            "POST",
            "/ui/devices",
            "admin",
            citizen=False,
            form=lambda e: {"device_id": "tablet-x2", "mqtt_password": "long-enough-pw"},
        ),
        Step(
            "POST",
            "/api/v1/care-teams",
            "admin",
            citizen=False,
            json=lambda e: {"name": "Sygeplejeklinikken Øst"},
        ),
        Step(
            "POST",
            "/api/v1/staff",
            "admin",
            citizen=False,
            json=lambda e: {
                "username": "ny-sygeplejerske",
                "display_name": "Ny",
                "role": "nurse",
                "care_team_ids": [str(a.team_id)],
            },
        ),
        Step(
            "POST",
            "/ui/staff",
            "admin",
            citizen=False,
            form=lambda e: {
                "username": "ny-to",
                "display_name": "Ny 2",
                "role": "nurse",
                "password": "long enough password",
                "care_team_ids": str(a.team_id),
            },
        ),
        Step(
            "POST",
            "/ui/staff/{staff_id}",
            "admin",
            {"staff_id": "__nurse-a__"},
            citizen=False,
            form=lambda e: {
                "display_name": "Anne A",
                "role": "nurse",
                "care_team_ids": str(a.team_id),
            },
        ),
        Step(
            "POST",
            "/ui/staff/{staff_id}/status",
            "admin",
            {"staff_id": "__lead-a__"},
            citizen=False,
            form=lambda e: {"change": "unlock"},
        ),
        Step(
            "PATCH",
            "/api/v1/care-teams/{team_id}",
            "admin",
            {"team_id": str(a.team_id)},
            citizen=False,
            json=lambda e: {"timezone": "Europe/Copenhagen"},
        ),
        Step(
            "POST",
            "/ui/care-teams",
            "admin",
            citizen=False,
            form=lambda e: {"name": "Sygeplejeklinikken Vest", "timezone": "Europe/Copenhagen"},
        ),
        Step(
            "POST",
            "/ui/care-teams/{team_id}",
            "admin",
            {"team_id": str(a.team_id)},
            citizen=False,
            form=lambda e: {"name": "Sygeplejeklinikken Nord", "timezone": "Europe/Copenhagen"},
        ),
        Step(
            "POST",
            "/ui/care-teams/{team_id}/missed-policy",
            "admin",
            {"team_id": str(a.team_id)},
            citizen=False,
            form=lambda e: {
                "task_after_slots": "3",
                "task_after_days": "2",
                "recent_alert_hours": "72",
                "reason": "standard",
            },
        ),
        Step(
            "PATCH",
            "/api/v1/staff/{staff_id}",
            "admin",
            {"staff_id": "__nurse-a__"},
            citizen=False,
            json=lambda e: {"display_name": "Anne"},
        ),
        Step(
            "POST",
            "/api/v1/pairing-codes",
            "admin",
            json=lambda e: {"citizen_id": c0},
        ),
        Step("POST", "/ui/pairing-codes", "admin", form=lambda e: {"citizen_id": c0}),
        Step(
            "POST",
            "/api/v1/devices/{device_id}/rotate",
            "admin",
            {"device_id": a.device_ids[1]},
            citizen=False,
        ),
        Step(
            "POST",
            "/ui/devices/{device_id}/rotate",
            "admin",
            {"device_id": a.device_ids[1]},
            citizen=False,
            form=lambda e: {},
        ),
        Step(
            "POST",
            "/api/v1/devices/{device_id}/revoke",
            "admin",
            {"device_id": a.device_ids[1]},
            citizen=False,
        ),
        Step(
            "POST",
            "/ui/devices/{device_id}/revoke",
            "admin",
            {"device_id": a.device_ids[0]},
            citizen=False,
            form=lambda e: {"confirm": "1"},
        ),
        Step(  # the team lead's what-if: one event for the team, one per citizen read
            "POST",
            "/hvad-nu-hvis",
            "lead-a",
            form=lambda e: {"team": str(a.team_id), "days": "28", "rules": _team_rules()},
        ),
    ]


def _team_rules() -> str:
    import json

    from pust.domain.limits import default_rule_set

    return json.dumps(default_rule_set().to_json())


def _staff_id(engine: Engine, username: str) -> str:
    from pust.db.tables import StaffUser

    with Session(engine) as s:
        return str(s.exec(select(StaffUser.id).where(StaffUser.username == username)).one())


def test_every_patient_data_route_and_action_is_audited(
    app: FastAPI, client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    plan = steps(world)
    covered = {(s.method, s.path) for s in plan}
    for route in all_routes(app):
        key = (route.method, route.path)
        if key in NO_CITIZEN_DATA or route.path.startswith(("/fhir", "/static")):
            continue
        assert key in covered, f"{key} is neither audited below nor listed as NO_CITIZEN_DATA"
    for step in plan:
        url = step.path
        for name, given in step.params.items():
            value = _staff_id(engine, given.strip("_")) if given.startswith("__") else given
            url = url.replace("{" + name + "}", value)
        with Session(engine) as s:
            before = s.exec(select(func.max(AuditEvent.id))).one() or 0
        kwargs: dict[str, Any] = {"headers": headers(step.user), "follow_redirects": False}
        if step.json is not None:
            kwargs["json"] = step.json(engine)
        if step.form is not None:
            kwargs["data"] = step.form(engine)
        response = client.request(step.method, url, **kwargs)
        assert response.status_code < 400, (step.method, step.path, response.text[:300])
        if response.status_code == 303:
            assert "error=" not in response.headers["location"], (
                step.path,
                response.headers["location"],
            )
        with Session(engine) as s:
            events = s.exec(select(AuditEvent).where(col(AuditEvent.id) > before)).all()
        mine = [e for e in events if e.actor_username == step.user and e.outcome == "success"]
        assert mine, f"{step.method} {step.path} wrote no audit event"
        assert all(e.actor_role and e.at for e in mine)
        if step.citizen:
            assert any(e.citizen_id is not None and e.care_team_id is not None for e in mine), (
                f"{step.method} {step.path}: no event names the citizen and team"
            )
