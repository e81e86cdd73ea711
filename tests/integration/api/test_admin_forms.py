"""Administration forms: CPR checked (a date that does not exist refused beside the field),
staff need a password and a team, teams are created and edited, deactivation is confirmed
first, and the quarantine shows the rejected message with health values masked."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import CareTeam, Citizen, QuarantinedMessage, StaffUser
from tests.integration.api.test_citizen_forms import _error_beside, _value_of
from tests.integration.api.test_web import login
from tests.integration.api.world import World


def test_cpr_with_day_32_is_refused_beside_the_field(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "admin")
    form = {
        "csrf_token": csrf,
        "care_team_id": str(world.a.team_id),
        "cpr": "320299-1234",
        "given_name": "Karl",
        "family_name": "Kvist",
    }
    response = client.post("/ui/citizens", data=form)
    assert response.status_code == 422
    assert _error_beside(response.text, "c-cpr") == "De første seks cifre er ikke en dato (DDMMÅÅ)."
    assert _value_of(response.text, "c-cpr") == "320299-1234"
    assert _value_of(response.text, "c-given") == "Karl"

    # a real date whose check digit fails: confirmed by a person, never refused outright
    typo = client.post("/ui/citizens", data={**form, "cpr": "070761-4286"})
    assert typo.status_code == 422
    assert "Kontrolcifret passer ikke (modulus 11)" in _error_beside(typo.text, "c-cpr")
    assert 'name="cpr_confirmed"' in typo.text
    confirmed = client.post(
        "/ui/citizens",
        data={**form, "cpr": "070761-4286", "cpr_confirmed": "1"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    # 1 January: the CPR office issues numbers without the check since 2007: accepted
    january = client.post(
        "/ui/citizens",
        data={**form, "cpr": "010165-1230", "given_name": "Jens"},
        follow_redirects=False,
    )
    assert january.status_code == 303, january.text
    with Session(engine) as s:
        names = {c.given_name for c in s.exec(select(Citizen)).all()}
    assert "Karl" in names and "Jens" in names
    taken = client.post("/ui/citizens", data={**form, "cpr": "010165-1230"})
    assert taken.status_code == 422
    assert (
        _error_beside(taken.text, "c-cpr") == "Der findes allerede en borger med dette CPR-nummer."
    )


def test_staff_need_a_password_and_a_team(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, "admin")
    bare = client.post(
        "/ui/staff",
        data={"csrf_token": csrf, "username": "ny-syg", "display_name": "Ny", "role": "nurse"},
    )
    assert bare.status_code == 422
    assert _error_beside(bare.text, "s-pw") == "Skriv en adgangskode på mindst 10 tegn."
    assert "Vælg mindst ét team." in bare.text
    assert _value_of(bare.text, "s-user") == "ny-syg"
    made = client.post(
        "/ui/staff",
        data={
            "csrf_token": csrf,
            "username": "ny-syg",
            "display_name": "Ny Sygeplejerske",
            "role": "nurse",
            "password": "et langt kodeord",
            "care_team_ids": str(world.a.team_id),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "ny-syg")).one()
        user_id = user.id
        assert user.password_hash

    # deactivation asks first; only the confirmation deactivates
    first = client.post(
        f"/ui/staff/{user_id}/status",
        data={"csrf_token": csrf, "change": "deactivate"},
        follow_redirects=False,
    )
    assert first.status_code == 303
    confirm_page = client.get(first.headers["location"])
    assert "Vil du deaktivere Ny Sygeplejerske (ny-syg)?" in confirm_page.text
    with Session(engine) as s:
        still = s.get(StaffUser, user_id)
        assert still is not None and still.active
    client.post(
        f"/ui/staff/{user_id}/status",
        data={"csrf_token": csrf, "change": "deactivate", "confirm": "1"},
    )
    with Session(engine) as s:
        gone = s.get(StaffUser, user_id)
        assert gone is not None and not gone.active


def test_teams_are_created_and_edited(client: TestClient, engine: Engine, world: World) -> None:
    csrf = login(client, "admin")
    made = client.post(
        "/ui/care-teams",
        data={"csrf_token": csrf, "name": "Klinikken Vest", "timezone": "Europe/Copenhagen"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    bad = client.post(
        "/ui/care-teams",
        data={"csrf_token": csrf, "name": "Klinikken Vest", "timezone": "Europe/Kobenhavn"},
    )
    assert bad.status_code == 422
    assert "Ukendt tidszone." in bad.text
    taken = client.post(
        "/ui/care-teams",
        data={"csrf_token": csrf, "name": "Klinikken Vest", "timezone": "Europe/Copenhagen"},
    )
    assert "Der findes allerede et team med dette navn." in taken.text
    with Session(engine) as s:
        team = s.exec(select(CareTeam).where(CareTeam.name == "Klinikken Vest")).one()
    edited = client.post(
        f"/ui/care-teams/{team.id}",
        data={"csrf_token": csrf, "name": "Klinikken Vestjylland", "timezone": "Europe/Copenhagen"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    page = client.get("/admin")
    assert "Klinikken Vestjylland" in page.text


def test_quarantine_shows_the_message_without_health_values(
    client: TestClient, engine: Engine, world: World
) -> None:
    with Session(engine) as s:
        message = s.get(QuarantinedMessage, world.quarantine_id)
        assert message is not None
        message.payload = (
            b'{"schema": "pust.readings/1", "readings": [{"type": "spo2", "value": 83.5}]}'
        )
        s.add(message)
        s.commit()
    login(client, "admin")
    page = client.get("/admin")
    shown = re.search(r'<pre class="message"[^>]*>(.*?)</pre>', page.text, re.S)
    assert shown is not None
    assert "spo2" in shown.group(1) and "pust.readings/1" in shown.group(1)
    assert "83.5" not in page.text and "83,5" not in page.text
    assert "•••" in shown.group(1)


def test_missed_measurement_policy_is_shown_edited_and_versioned(
    client: TestClient, engine: Engine, world: World
) -> None:
    from pust.db.tables import MissedMeasurementPolicyVersion

    csrf = login(client, "admin")
    team = world.a.team_id
    page = client.get("/admin")
    assert "Opgave efter 3 målinger eller 2 dage i træk" in page.text  # the default
    form = {
        "csrf_token": csrf,
        "task_after_slots": "tre",
        "task_after_days": "15",
        "recent_alert_hours": "48",
        "reason": "",
    }
    bad = client.post(f"/ui/care-teams/{team}/missed-policy", data=form)
    assert bad.status_code == 422
    assert _error_beside(bad.text, f"mp-slots-{team}") == (
        "Antal udeblevne målinger: skriv et helt tal"
    )
    assert _error_beside(bad.text, f"mp-days-{team}") == (
        "Antal dage uden måling: skal være mellem 0 og 14"
    )
    assert _error_beside(bad.text, f"mp-reason-{team}") == "Skriv hvorfor reglen ændres"
    assert _value_of(bad.text, f"mp-hours-{team}") == "48"  # what was typed is kept
    for slots in ("4", "2"):
        saved = client.post(
            f"/ui/care-teams/{team}/missed-policy",
            data={**form, "task_after_slots": slots, "task_after_days": "0", "reason": "test"},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
    page = client.get("/admin")
    assert "Opgave efter 2 målinger eller 0 dage i træk" in page.text
    assert "(version 2)" in page.text
    with Session(engine) as s:
        versions = s.exec(
            select(MissedMeasurementPolicyVersion).where(
                MissedMeasurementPolicyVersion.care_team_id == team
            )
        ).all()
    assert sorted((v.version, v.policy["task_after_slots"]) for v in versions) == [(1, 4), (2, 2)]
