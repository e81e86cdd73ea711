"""The nurses' web UI through a browser-like client: login with CSRF, session cookie flags,
worklist page and live rows, citizen page with charts, form actions, language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import Alert, AuditEvent, CitizenNote, LimitSet, OutboxMessage
from tests.integration.api.world import PASSWORD, World


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    home = client.get("/")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
    assert csrf is not None
    return csrf.group(1)


def test_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_login_without_csrf_or_wrong_password_is_refused(client: TestClient) -> None:
    client.get("/login")
    no_csrf = client.post("/login", data={"username": "nurse-a", "password": PASSWORD})
    assert no_csrf.status_code == 400
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    wrong = client.post(
        "/login", data={"username": "nurse-a", "password": "nope", "csrf_token": token.group(1)}
    )
    assert wrong.status_code == 401
    assert "Forkert brugernavn eller adgangskode" in wrong.text


def test_worklist_page_in_danish_and_english(client: TestClient, world: World) -> None:
    login(client, "nurse-a")
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="da">' in page.text
    assert "Arbejdsliste" in page.text
    assert "Anna Andersen" in page.text
    assert "Bodil" not in page.text
    assert page.text.index("Anna Andersen") < page.text.index("Arne Aagaard")  # red first
    english = client.get("/?lang=en")
    assert "Worklist" in english.text
    assert '<html lang="en">' in english.text
    rows = client.get("/ui/worklist/rows")
    assert rows.status_code == 200
    assert rows.headers["x-total-count"] == "2"


def test_form_without_csrf_is_refused(client: TestClient, world: World) -> None:
    login(client, "nurse-a")
    response = client.post(
        f"/ui/alerts/{world.a.alert_ids[0]}/acknowledge", data={"expected_version": "1"}
    )
    assert response.status_code == 403
    api = client.post(
        f"/api/v1/alerts/{world.a.alert_ids[0]}/acknowledge", json={"expected_version": 1}
    )
    assert api.status_code == 403


def test_acknowledge_from_the_worklist(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, "nurse-a")
    response = client.post(
        f"/ui/alerts/{world.a.alert_ids[0]}/acknowledge",
        data={"expected_version": "1", "note": "Ringet", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "done=saved" in response.headers["location"]
    with Session(engine) as s:
        alert = s.get(Alert, world.a.alert_ids[0])
        assert alert is not None and alert.status == "acknowledged"
    again = client.post(
        f"/ui/alerts/{world.a.alert_ids[0]}/acknowledge",
        data={"expected_version": "1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "error=conflict" in again.headers["location"]
    shown = client.get(again.headers["location"])
    assert "En anden har ændret dette imens" in shown.text


def test_citizen_page_has_charts_and_is_audited(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    for days in (14, 30, 90):
        page = client.get(f"/citizens/{citizen}?days={days}")
        assert page.status_code == 200
        assert page.text.count("<svg") == 4  # spo2 and pulse, each wide and narrow
        assert 'class="band-red"' in page.text
        assert 'class="pt-manual"' in page.text
        assert 'class="pt-late"' in page.text
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "citizen.page.read")).all()
    assert len(events) == 3
    assert {e.citizen_id for e in events} == {citizen}
    other = client.get(f"/citizens/{world.b.citizen_ids[0]}")
    assert other.status_code == 404
    assert "Bodil" not in other.text


def test_edit_limits_from_the_page(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    response = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "reason": "Lægen har sagt 87",
            "r.absolute.0.red_low": "87",
            "r.absolute.0.yellow_low": "89",
            "r.absolute.0.yellow_high": "",
            "r.absolute.0.red_high": "",
        },
        follow_redirects=False,
    )
    assert "done=saved_limits" in response.headers["location"], response.headers["location"]
    with Session(engine) as s:
        newest = s.exec(
            select(LimitSet).where(LimitSet.citizen_id == citizen, LimitSet.version == 2)
        ).one()
    spo2 = next(r for r in newest.rules["absolute"] if r["type"] == "spo2")
    assert spo2["red_low"] == 87
    bad = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "2",
            "reason": "forkert",
            "r.absolute.0.red_low": "92",
            "r.absolute.0.yellow_low": "89",
        },
        follow_redirects=False,
    )
    assert bad.status_code == 422  # shown again beside the field: test_citizen_forms.py


def test_bulk_green_and_note_and_message_forms(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    done = client.post(
        "/ui/worklist/acknowledge-green",
        data={"csrf_token": csrf, "care_team_id": str(world.a.team_id)},
        follow_redirects=False,
    )
    assert "done=saved" in done.headers["location"]
    citizen = world.a.citizen_ids[0]
    note = client.post(
        f"/ui/citizens/{citizen}/notes",
        data={"csrf_token": csrf, "text": "Hej"},
        follow_redirects=False,
    )
    assert "done=saved" in note.headers["location"]
    message = client.post(
        f"/ui/citizens/{citizen}/messages",
        data={"csrf_token": csrf, "text": "Husk vægten", "kind": "message"},
        follow_redirects=False,
    )
    assert "done=sent_message" in message.headers["location"]
    # what the redirects claim is what the database holds
    with Session(engine) as s:
        team_alerts = s.exec(select(Alert).where(Alert.care_team_id == world.a.team_id)).all()
        notes = s.exec(select(CitizenNote).where(CitizenNote.citizen_id == citizen)).all()
        sent = s.exec(select(OutboxMessage)).all()
    assert {a.severity: a.status for a in team_alerts if a.severity == "green"} == {
        "green": "acknowledged"
    }
    assert all(a.status == "open" for a in team_alerts if a.severity != "green")
    assert [n.text for n in notes if n.text == "Hej"] == ["Hej"]
    to_tablet = [m for m in sent if world.a.device_ids[0] in m.destination]
    assert len(to_tablet) == 1 and "Husk vægten" in str(to_tablet[0].payload)


def test_admin_page_is_for_administrators(client: TestClient, world: World) -> None:
    login(client, "nurse-a")
    assert client.get("/admin").status_code == 403
    client.cookies.clear()
    login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    assert "tablet-00" in page.text


def test_security_headers_and_no_caching(client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    static = client.get("/static/app.js")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
