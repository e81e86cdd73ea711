"""The team lead's what-if page in headless Chromium (issue 13.5): the team's current limits
are in the field; a proposal with the SpO2 yellow limit at 92 shows which of the team's
citizens would get alarms, never another team's; a contradicting document is answered with
every problem; a nurse of the team is refused; the look-up is audited; axe finds nothing
serious."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent
from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.ui_world import log_in, ui_base_url, ui_world
from tests.integration.api.world import SECRET_NAMES_B, World

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
__all__ = ["ui_base_url", "ui_world"]  # fixtures used by name below


def _with_spo2_yellow(document: dict[str, object], value: float) -> str:
    absolute = document["absolute"]
    assert isinstance(absolute, list)
    for rule in absolute:
        if rule["type"] == "spo2":
            rule["yellow_low"] = value
    return json.dumps(document, indent=2)


def test_a_team_lead_compares_a_proposal_on_the_teams_history(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        log_in(page, ui_base_url, "lead-a")
        page.get_by_role("link", name="Hvad nu hvis").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Sygeplejeklinikken Nord")
        field = page.get_by_label("Foreslåede grænser (JSON)")
        current = json.loads(field.input_value())
        assert any(r["type"] == "spo2" for r in current["absolute"])

        # a document that contradicts itself: every problem listed, the input kept
        broken = json.loads(field.input_value())
        for rule in broken["absolute"]:
            if rule["type"] in ("spo2", "pulse"):
                rule["yellow_low"] = 10  # below the red limit
        field.fill(json.dumps(broken))
        page.get_by_role("button", name="Sammenlign").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Forslaget kan ikke bruges")
        expect(alert.locator("li")).to_have_count(2)
        assert json.loads(field.input_value()) == broken

        field.fill(_with_spo2_yellow(current, 92))
        page.get_by_label("Periode").select_option("28")
        page.get_by_role("button", name="Sammenlign").click()
        result = page.get_by_role("region", name="Sammenligning")
        expect(result).to_be_visible()
        changed = result.get_by_role("table").nth(1)
        expect(changed.get_by_role("row", name="Anna Andersen")).to_contain_text("+")
        expect(changed.get_by_role("row", name="Arne Aagaard")).to_contain_text("Iltmætning")
        body = page.content()
        assert not any(name in body for name in SECRET_NAMES_B)
        serious = axe_violations(page)
        page.screenshot(path=str(ARTIFACTS / "what-if.png"), full_page=True)
        assert not serious, describe(serious)

        # Anna's access report shows the look-up among what was opened, not as a change
        page.goto(f"{ui_base_url}/citizens/{ui_world.a.citizen_ids[0]}/access-report")
        person = page.locator("section.access-person", has_text="lead-a").first
        expect(person).to_contain_text("Hvad-nu-hvis-sammenligning")
        expect(person).to_contain_text("Åbnede")
        expect(person).not_to_contain_text("Ændrede")
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "evaluation.what_if.read")
        ).all()
    assert {e.actor_username for e in events} == {"lead-a"}
    assert {e.care_team_id for e in events} == {ui_world.a.team_id}
    assert {e.citizen_id for e in events if e.citizen_id} == set(ui_world.a.citizen_ids)


def test_a_nurse_or_another_teams_lead_cannot_open_it(ui_base_url: str, ui_world: World) -> None:
    from playwright.sync_api import expect

    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        expect(page.get_by_role("link", name="Hvad nu hvis")).to_have_count(0)
        response = page.goto(f"{ui_base_url}/hvad-nu-hvis?team={ui_world.a.team_id}")
        assert response is not None and response.status == 403
        response = page.goto(f"{ui_base_url}/hvad-nu-hvis?team={ui_world.b.team_id}")
        assert response is not None and response.status == 404
