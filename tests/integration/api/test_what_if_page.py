"""The what-if page's scoping over HTTP (issue 13.5): a team lead of two teams is offered
both and sees only the chosen team's citizens; a nurse is refused; another team is
answered like one that does not exist; a contradicting proposal lists every problem."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.tables import StaffMembership, StaffUser
from pust.domain.limits import default_rule_set
from tests.integration.api.world import SECRET_NAMES_B, World

Headers = Callable[[str], dict[str, str]]


def _proposal(yellow_low: float) -> str:
    document = default_rule_set().to_json()
    for rule in document["absolute"]:
        if rule["type"] == "spo2":
            rule["yellow_low"] = yellow_low
    return json.dumps(document)


def test_a_lead_of_two_teams_picks_one_and_sees_only_its_citizens(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    with session_scope(engine) as session:
        lead = session.exec(select(StaffUser).where(StaffUser.username == "lead-a")).one()
        session.add(StaffMembership(staff_id=lead.id, care_team_id=world.b.team_id))

    page = client.get("/hvad-nu-hvis", headers=headers("lead-a"))
    assert page.status_code == 200
    assert "Sygeplejeklinikken Nord" in page.text and "Sygeplejeklinikken Syd" in page.text

    answer = client.post(
        "/hvad-nu-hvis",
        headers=headers("lead-a"),
        data={"team": str(world.a.team_id), "days": "28", "rules": _proposal(92)},
    )
    assert answer.status_code == 200
    assert "Anna Andersen" in answer.text and "Arne Aagaard" in answer.text
    assert not any(name in answer.text for name in SECRET_NAMES_B)


def test_nurses_other_teams_and_bad_proposals(
    client: TestClient, headers: Headers, world: World
) -> None:
    form = {"team": str(world.a.team_id), "days": "28", "rules": _proposal(92)}
    assert client.post("/hvad-nu-hvis", headers=headers("nurse-a"), data=form).status_code == 403
    other = {**form, "team": str(world.b.team_id)}
    assert client.post("/hvad-nu-hvis", headers=headers("lead-a"), data=other).status_code == 404
    odd_period = {**form, "days": "3"}
    assert (
        client.post("/hvad-nu-hvis", headers=headers("lead-a"), data=odd_period).status_code == 404
    )

    broken = default_rule_set().to_json()
    for rule in broken["absolute"]:
        if rule["type"] in ("spo2", "pulse"):
            rule["yellow_low"] = 10
    answer = client.post(
        "/hvad-nu-hvis",
        headers=headers("lead-a"),
        data={**form, "rules": json.dumps(broken)},
    )
    assert answer.status_code == 422
    assert answer.text.count("<li>absolute.") == 2
    not_json = client.post("/hvad-nu-hvis", headers=headers("lead-a"), data={**form, "rules": "{"})
    assert not_json.status_code == 422 and "not valid JSON" in not_json.text
