"""The nurse's worklist in headless Chromium (issue 14): a colleague's acknowledgement while
she is about to click does not move her target, and her click can be undone for a few
seconds; resolving needs an outcome she chose and, for a red, a note (in the browser and on
the server); a citizen with a red and a yellow shows both, each with its own age; j/k and the
arrow keys move between citizens, Enter opens; at 390 px nothing scrolls sideways; axe-core
finds nothing serious. Screenshots and measurements go to test-artifacts/."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db import alert_repository
from pust.db.tables import Alert, StaffUser
from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.ui_world import log_in, ui_base_url, ui_world
from tests.integration.api.world import NOW, World

__all__ = ["ui_base_url", "ui_world"]  # fixtures used by name below


def _measure(name: str, values: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "worklist-measurements.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known[name] = values
    path.write_text(json.dumps(known, indent=1, sort_keys=True))


def _status(engine: Engine, alert_id: Any) -> tuple[str, str | None]:
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        by = s.get(StaffUser, alert.acknowledged_by) if alert.acknowledged_by else None
        return alert.status, by.username if by else None


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None
    return {"x": round(box["x"]), "y": round(box["y"])}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_colleagues_acknowledgement_does_not_move_the_target_and_a_click_can_be_undone(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    arne = ui_world.a.citizen_ids[1]
    anna_red, anna_yellow, arne_green = ui_world.a.alert_ids
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=10_000)
        rows = page.locator("#worklist-rows tr[data-citizen]")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Anna Andersen")
        arne_row = page.locator(f"#worklist-rows tr[data-citizen='{arne}']")
        arne_row.locator("details.settle summary").click()
        acknowledge = arne_row.get_by_role("button", name=re.compile("^Kvittér alle"))
        expect(acknowledge).to_be_visible()
        acknowledge.hover()
        before = _box(acknowledge)

        # a colleague acknowledges both of Anna's alerts: her row would leave the queue and
        # Arne's would move up under the pointer, were the list re-rendered
        with Session(engine) as s:
            lead = s.exec(select(StaffUser).where(StaffUser.username == "lead-a")).one()
            for alert_id in (anna_red, anna_yellow):
                alert_repository.acknowledge_alert(
                    s, alert_id=alert_id, actor_id=lead.id, now=NOW, expected_version=1
                )
            s.commit()
        refresh = page.locator("#live-refresh")
        expect(refresh).to_be_visible(timeout=10_000)
        expect(refresh).to_have_text("Listen er ændret — opdatér")
        assert _box(acknowledge) == before, "the button moved under the pointer"
        expect(rows.first).to_contain_text("Anna Andersen")
        focused_row = page.evaluate(
            "document.activeElement.closest('tr') && "
            "document.activeElement.closest('tr').getAttribute('data-citizen')"
        )
        assert focused_row == str(arne), "keyboard focus left the nurse's row"
        page.screenshot(path=str(ARTIFACTS / "worklist-pending-change.png"), full_page=True)

        # her click is Arne's, and she can take it back
        acknowledge.click()
        pending = arne_row.locator(".pending")
        expect(pending).to_contain_text("Kvitterer for Arne Aagaard om")
        page.screenshot(path=str(ARTIFACTS / "worklist-undo.png"), full_page=True)
        pending.get_by_role("button", name="Fortryd").click()
        expect(arne_row).to_contain_text("Fortrudt — intet er gemt.")
        assert _status(engine, arne_green) == ("open", None)

        acknowledge.click()
        page.wait_for_url(re.compile(r".*done=acknowledged_all"), timeout=15_000)
        expect(page.get_by_role("status").first).to_contain_text("Kvitteret.")
    assert _status(engine, arne_green) == ("acknowledged", "nurse-a")
    assert _status(engine, anna_red) == ("acknowledged", "lead-a")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_resolving_needs_an_outcome_she_chose_and_a_note_for_a_red(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    anna = ui_world.a.citizen_ids[0]
    anna_red, anna_yellow, _ = ui_world.a.alert_ids
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        row = page.locator(f"#worklist-rows tr[data-citizen='{anna}']")
        row.locator("details.settle summary").click()
        outcome = row.get_by_label(re.compile("^Udfald"))
        note = row.get_by_label(re.compile("^Note"))
        resolve = row.get_by_role("button", name=re.compile("^Afslut alle"))
        assert outcome.input_value() == "", "an outcome was chosen for the nurse"
        note.fill("Ringet op")
        resolve.click()
        assert outcome.evaluate("el => el.validity.valueMissing")
        expect(row.locator(".pending")).to_have_count(0)
        outcome.select_option("contacted_citizen")
        note.fill("")
        resolve.click()
        assert note.evaluate("el => el.validity.valueMissing")
        expect(row.locator(".pending")).to_have_count(0)
        assert _status(engine, anna_red)[0] == "open"

        # the server refuses too (a form without the browser's checks)
        outcome.select_option("")
        note.fill("Ringet op")
        page.evaluate(
            "document.querySelectorAll('form.settle-form [required]')"
            ".forEach(el => el.removeAttribute('required'))"
        )
        resolve.click()
        page.wait_for_url(re.compile(r".*error=outcome_required"), timeout=15_000)
        expect(page.get_by_role("alert")).to_contain_text("Udfald: vælg hvad der blev gjort")
        assert _status(engine, anna_red)[0] == "open"
        assert _status(engine, anna_yellow)[0] == "open"

        row = page.locator(f"#worklist-rows tr[data-citizen='{anna}']")
        row.locator("details.settle summary").click()
        row.get_by_label(re.compile("^Udfald")).select_option("contacted_citizen")
        row.get_by_label(re.compile("^Note")).fill("Ringet op, har det bedre")
        row.get_by_role("button", name=re.compile("^Afslut alle")).click()
        page.wait_for_url(re.compile(r".*done=resolved_all"), timeout=15_000)
    with Session(engine) as s:
        for alert_id in (anna_red, anna_yellow):
            alert = s.get(Alert, alert_id)
            assert alert is not None
            assert (alert.status, alert.outcome, alert.resolve_note) == (
                "resolved",
                "contacted_citizen",
                "Ringet op, har det bedre",
            )


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_both_severities_keyboard_narrow_layout_and_axe(ui_base_url: str, ui_world: World) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna, arne = ui_world.a.citizen_ids
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        row = page.locator(f"#worklist-rows tr[data-citizen='{anna}']")
        reasons = row.locator("ul.reasons li")
        expect(reasons).to_have_count(2)
        expect(reasons.nth(0).locator(".badge")).to_have_text("Rød")
        expect(reasons.nth(0)).to_contain_text("Iltmætning 86 %")
        expect(reasons.nth(0).locator("time")).to_have_text("2 t")
        expect(reasons.nth(1).locator(".badge")).to_have_text("Gul")
        expect(reasons.nth(1).locator("time")).to_have_text("5 t")
        expect(page).to_have_title(re.compile(r"^\(1 røde\) Arbejdsliste"))

        # keyboard first
        page.locator(f"tr[data-citizen='{anna}'] a.row-link").focus()
        page.keyboard.press("j")
        expect(page.locator(f"tr[data-citizen='{arne}'] a.row-link")).to_be_focused()
        page.keyboard.press("k")
        expect(page.locator(f"tr[data-citizen='{anna}'] a.row-link")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(page.locator(f"tr[data-citizen='{arne}'] a.row-link")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf".*/citizens/{arne}$"))
        page.go_back()

        violations = axe_violations(page)
        assert not violations, describe(violations)
        page.set_viewport_size({"width": 1024, "height": 768})
        first = page.locator("#worklist-rows tr[data-citizen]").first
        box = first.bounding_box()
        assert box is not None
        fits = (768 - box["y"]) / box["height"]
        page.screenshot(path=str(ARTIFACTS / "worklist-1024.png"))

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{ui_base_url}/")
        row = page.locator(f"#worklist-rows tr[data-citizen='{anna}']")
        row.locator("details.settle summary").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / "worklist-390.png"), full_page=True)
        assert width <= 390, f"the page is {width} px wide at 390 px"
        button = row.get_by_role("button", name=re.compile("^Afslut alle"))
        button_box = button.bounding_box()
        assert button_box is not None and button_box["x"] + button_box["width"] <= 390
        violations = axe_violations(page)
        assert not violations, describe(violations)
    _measure(
        "worklist",
        {"row_height_1024": round(box["height"]), "rows_fit_1024x768": round(fits, 1)},
    )
    _measure("page_width_390", {"scroll_width": width})


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_overview_finds_a_citizen_who_phones_in(ui_base_url: str, ui_world: World) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna = ui_world.a.citizen_ids[0]
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.get_by_role("link", name="Borgere").click()
        page.wait_for_url(re.compile(r".*/borgere$"))
        rows = page.locator("table.citizens tbody tr[data-citizen]")
        expect(rows).to_have_count(2)
        expect(page.locator("table.citizens")).not_to_contain_text("Bodil")
        anna_row = page.locator(f"tr[data-citizen='{anna}']")
        expect(anna_row.locator(".badge").first).to_have_text("Rød")
        expect(anna_row).to_contain_text("Iltmætning")
        page.screenshot(path=str(ARTIFACTS / "citizens-1280.png"), full_page=True)
        violations = axe_violations(page)
        assert not violations, describe(violations)

        search = page.get_by_role("searchbox", name="Søg borger (navn eller CPR)")
        search.fill("010100-1234")
        search.press("Enter")
        page.wait_for_url(re.compile(r".*q=010100-1234"))
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Anna Andersen")
        search = page.get_by_role("searchbox", name="Søg borger (navn eller CPR)")
        search.fill("aagaard")
        search.press("Enter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Arne Aagaard")

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{ui_base_url}/borgere")
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / "citizens-390.png"), full_page=True)
        assert width <= 390, f"the overview is {width} px wide at 390 px"
        violations = axe_violations(page)
        assert not violations, describe(violations)

        missing = page.goto(f"{ui_base_url}/citizens/not-a-page/at-all")
        assert missing is not None and missing.status == 404
        expect(page.get_by_role("alert")).to_have_text("Siden findes ikke.")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_all_of_a_citizens_alerts_from_her_page_with_undo(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    anna = ui_world.a.citizen_ids[0]
    anna_red, anna_yellow, _ = ui_world.a.alert_ids
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}")
        settle = page.locator("details.settle-all")
        settle.locator("summary").click()
        settle.get_by_label(re.compile("^Note")).fill("Set, ringer i eftermiddag")  # a red
        settle.get_by_role("button", name="Kvittér alle").click()
        pending = settle.locator(".pending")
        expect(pending).to_contain_text("Kvitterer for Anna Andersen om")
        pending.get_by_role("button", name="Fortryd").click()
        expect(settle).to_contain_text("Fortrudt — intet er gemt.")
        assert _status(engine, anna_red)[0] == "open"
        settle.get_by_role("button", name="Kvittér alle").click()
        page.wait_for_url(re.compile(r".*done=acknowledged_all"), timeout=15_000)
        expect(page.locator("section.summary")).to_contain_text("kvitteret")
        expect(page.locator("section.summary")).to_contain_text("af Nurse-A")
    assert _status(engine, anna_red) == ("acknowledged", "nurse-a")
    assert _status(engine, anna_yellow) == ("acknowledged", "nurse-a")
