"""The nurses' web UI through a browser-like client: login with CSRF, session cookie flags,
worklist page and live rows, citizen page with charts, form actions, language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import Alert, AuditEvent, CitizenNote, LimitSet
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
        data={"expected_version": "1", "note": "Ringet igen", "csrf_token": csrf},
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


def test_one_decision_for_all_of_a_citizens_alerts(
    client: TestClient, engine: Engine, world: World
) -> None:
    """Anna has a red and a yellow: one form for both; no outcome is filled in for the
    nurse, and a red is resolved only with a note."""
    csrf = login(client, "nurse-a")
    anna = world.a.citizen_ids[0]
    red, yellow = world.a.alert_ids[0], world.a.alert_ids[1]
    page = client.get("/")
    assert 'name="decision" value="resolve"' in page.text
    assert "Kvittér alle grønne" not in page.text
    assert "Regel" not in page.text and "spo2.absolute" not in page.text
    seen = [f"{red}:1", f"{yellow}:1"]

    def settle(**fields: str) -> str:
        data: dict[str, str | list[str]] = {"csrf_token": csrf, "alert": seen, "next": "/"}
        response = client.post(
            f"/ui/worklist/citizens/{anna}/settle",
            data={**data, **fields},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return str(response.headers["location"])

    def statuses() -> list[str | None]:
        with Session(engine) as s:
            return [getattr(s.get(Alert, a), "status", None) for a in (red, yellow)]

    assert "error=outcome_required" in settle(decision="resolve", note="Ringet op")
    assert "error=note_required_red" in settle(decision="resolve", outcome="contacted_citizen")
    assert statuses() == ["open", "open"]
    shown = client.get("/?error=note_required_red")
    assert "en rød alarm afsluttes kun med en note" in shown.text

    # a red is acknowledged only with a note: refused, nothing written (the yellow neither)
    assert "error=note_required_red_ack" in settle(decision="acknowledge", note="  ")
    assert statuses() == ["open", "open"]
    refused = client.get("/?error=note_required_red_ack")
    assert "en rød alarm kvitteres kun med en note" in refused.text
    assert "done=acknowledged_all" in settle(decision="acknowledge", note="Set, ringer i morgen")
    assert statuses() == ["acknowledged", "acknowledged"]
    in_progress = client.get("/")
    assert "I gang (kvitteret, ikke afsluttet) (1)" in in_progress.text
    assert "Kvitteret af" in in_progress.text

    # what the screen showed is now stale: refused, nothing written
    assert "error=conflict" in settle(decision="resolve", outcome="other", note="x")
    seen[:] = [f"{red}:2", f"{yellow}:2"]
    assert "done=resolved_all" in settle(
        decision="resolve", outcome="contacted_citizen", note="Ringet op, har det bedre"
    )
    assert statuses() == ["resolved", "resolved"]
    with Session(engine) as s:
        done = s.get(Alert, red)
        assert done is not None
        assert done.outcome == "contacted_citizen"
        assert done.resolve_note == "Ringet op, har det bedre"


def test_note_and_message_forms(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    note = client.post(
        f"/ui/citizens/{citizen}/notes",
        data={"csrf_token": csrf, "text": "Hej"},
        follow_redirects=False,
    )
    assert "done=saved" in note.headers["location"]
    with Session(engine) as s:  # the redirect's claim, in the database
        notes = s.exec(select(CitizenNote).where(CitizenNote.citizen_id == citizen)).all()
    assert [n.text for n in notes].count("Hej") == 1
    message = client.post(
        f"/ui/citizens/{citizen}/messages",
        data={"csrf_token": csrf, "text": "Husk vægten", "kind": "message"},
        follow_redirects=False,
    )
    assert "done=sent_message" in message.headers["location"]
    page = client.get(f"/citizens/{citizen}")
    sent = page.text[page.text.index("Sendte beskeder til tabletten") :]
    assert "Husk vægten" in sent
    assert "Nurse-A" in sent  # who sent it, by name


def test_who_and_when_on_every_decision_and_reopen(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    anna = world.a.citizen_ids[0]
    yellow = world.a.alert_ids[1]
    for path, data in (
        ("acknowledge", {"note": "Set"}),
        ("resolve", {"outcome": "no_action_needed", "note": "Ingen ændring"}),
    ):
        with Session(engine) as s:
            version = s.get(Alert, yellow).lock_version  # type: ignore[union-attr]
        done = client.post(
            f"/ui/alerts/{yellow}/{path}",
            data={"csrf_token": csrf, "expected_version": str(version), **data},
            follow_redirects=False,
        )
        assert "done=saved" in done.headers["location"]
    page = client.get(f"/citizens/{anna}?open=alerts").text
    history = page[page.index('id="alerts-h"') :]
    assert "Kvitteret" in history and "Afsluttet" in history
    assert history.count("af Nurse-A") >= 2
    assert "Ingen handling nødvendig: Ingen ændring" in history
    with Session(engine) as s:
        version = s.get(Alert, yellow).lock_version  # type: ignore[union-attr]
    reopened = client.post(
        f"/ui/alerts/{yellow}/reopen",
        data={"csrf_token": csrf, "expected_version": str(version), "reason": "For tidligt"},
        follow_redirects=False,
    )
    assert "done=reopened" in reopened.headers["location"]
    with Session(engine) as s:
        assert s.get(Alert, yellow).status == "open"  # type: ignore[union-attr]


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


def test_citizen_overview_finds_by_name_and_cpr_in_the_nurses_teams_only(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "nurse-a")
    everyone = client.get("/borgere")
    assert everyone.status_code == 200
    assert "Anna Andersen" in everyone.text and "Arne Aagaard" in everyone.text
    assert "Bodil" not in everyone.text and "Bent" not in everyone.text
    assert '<a href="/borgere" aria-current="page">Borgere</a>' in everyone.text
    anna_row = everyone.text[everyone.text.index(f'data-citizen="{world.a.citizen_ids[0]}"') :]
    assert "Rød" in anna_row.split("</tr>")[0]  # her worst unresolved alert
    by_name = client.get("/borgere", params={"q": "aRnE"})
    assert "Arne Aagaard" in by_name.text and "Anna Andersen" not in by_name.text
    by_cpr = client.get("/borgere", params={"q": "020200-2345"})
    assert "Arne Aagaard" in by_cpr.text and "Anna Andersen" not in by_cpr.text
    by_birth = client.get("/borgere", params={"q": "010100"})
    assert "Anna Andersen" in by_birth.text and "Arne" not in by_birth.text
    other_team = client.get("/borgere", params={"q": "030300-3456"})  # Bodil's CPR
    assert "Bodil" not in other_team.text and "Ingen borgere fundet." in other_team.text
    with Session(engine) as s:
        shown = s.exec(select(AuditEvent).where(AuditEvent.action == "citizen.overview.read")).all()
    assert {e.citizen_id for e in shown} == set(world.a.citizen_ids)


def test_web_paths_answer_in_danish_html_and_api_paths_in_json(client: TestClient) -> None:
    login(client, "nurse-a")
    moved = client.get("/citizens", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/borgere"
    missing = client.get("/ingen-side")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Siden findes ikke." in missing.text and "Not Found" not in missing.text
    api = client.get("/api/v1/ingen-side")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_a_blue_row_tells_of_the_tablet_and_offers_no_receipt_and_a_pause_is_marked(
    client: TestClient, engine: Engine, world: World
) -> None:
    from datetime import timedelta

    from pust.db.tables import Device, PausePeriod
    from tests.integration.api.world import NOW

    arne = world.a.citizen_ids[1]
    with Session(engine) as s:
        green = s.get(Alert, world.a.alert_ids[2])
        assert green is not None
        green.kind, green.rule_key, green.band_order = "missed_measurement", "plan.missed", 2
        green.severity = "yellow"
        green.reasons = [{"rule": "plan.missed", "severity": "yellow", "text_da": "Ingen måling"}]
        device = s.get(Device, world.a.device_ids[1])
        assert device is not None
        device.last_seen_at, device.online = NOW - timedelta(hours=20), False
        s.add(PausePeriod(citizen_id=arne, starts_at=NOW - timedelta(days=1), reason="Indlagt"))
        s.commit()
    login(client, "nurse-a")
    page = client.get("/").text
    row = page[page.index(f'<tr class="band-blue" data-citizen="{arne}"') :].split("</tr>")[0]
    assert "Ingen måling" in row
    assert "Tablet: Offline · sidst hørt" in row and "(20 t siden)" in row
    assert "Send kvittering" not in row  # "have seen your measurements": not for a missed one
    assert "Skriv til borgeren" in row
    assert "På pause" in row
