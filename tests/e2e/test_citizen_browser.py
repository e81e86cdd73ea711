"""The citizen page in headless Chromium, as a nurse uses it: the summary first, chart
tooltips in the clinic's local time on hover and on keyboard focus, the limits editor (a
contradiction answered beside the field with the input kept; a baseline and a change rule
saved), a plan time that does not exist, the access report page; axe-core finds nothing
serious at 1280 and 390 px. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.tables import LimitSet, Reading
from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.ui_world import log_in, open_every_fold, page_height, ui_base_url, ui_world
from tests.integration.api.world import NOW, World

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
__all__ = ["ui_base_url", "ui_world"]  # fixtures used by name below

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _heights(name: str, heights: dict[str, int]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "page-heights.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known[name] = heights
    path.write_text(json.dumps(known, indent=1, sort_keys=True))


def test_summary_charts_tooltips_in_local_time_and_axe(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna = ui_world.a.citizen_ids[0]
    with Session(engine) as s:
        spo2 = s.exec(
            select(Reading)
            .where(
                Reading.citizen_id == anna,
                Reading.type == "spo2",
                col(Reading.measured_at) >= NOW - timedelta(days=14),  # the chart's period
            )
            .order_by(col(Reading.measured_at))
        ).all()
    first, second = spo2[0], spo2[1]
    heights: dict[str, int] = {}
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}")
        summary = page.locator("section.summary")
        expect(summary.get_by_text("Seneste målinger")).to_be_visible()
        expect(summary.locator(".latest-item", has_text="Iltmætning")).to_contain_text("%")
        # the charts are open on the first screen, the history folded away
        expect(page.locator("#fig-spo2 .chart-wide svg")).to_be_visible()
        expect(page.locator("#sec-readings")).not_to_have_attribute("open", "")

        # hover: the tooltip says the local time (CET in November), as the table does
        point = page.locator("#fig-spo2 .chart-wide .pt").first
        point.hover()
        tip = page.locator("#chart-tip")
        expect(tip).to_be_visible()
        local = first.measured_at.astimezone(COPENHAGEN)
        utc = first.measured_at.astimezone(ZoneInfo("UTC"))
        assert local.hour != utc.hour
        expect(tip).to_contain_text(f"{local:%d.%m.%Y %H.%M}")
        expect(tip).not_to_contain_text(f"{utc:%H.%M}")
        expect(tip).to_contain_text("%")
        page.screenshot(path=str(ARTIFACTS / "citizen-tooltip-hover.png"))

        # keyboard: focus the first point, arrow to the next; the tooltip follows
        page.mouse.move(0, 0)
        point.focus()
        expect(tip).to_contain_text(f"{local:%H.%M}")
        page.keyboard.press("ArrowRight")
        nxt = second.measured_at.astimezone(COPENHAGEN)
        expect(tip).to_contain_text(f"{nxt:%d.%m.%Y %H.%M}")
        page.locator("#fig-spo2").screenshot(path=str(ARTIFACTS / "citizen-tooltip-focus.png"))

        # the table alternative has the same local time
        page.locator("#fig-spo2 .chart-table summary").click()
        expect(page.locator("#fig-spo2 .chart-table")).to_contain_text(f"{local:%d.%m.%Y %H.%M}")

        heights["1280"] = page_height(page)
        page.screenshot(path=str(ARTIFACTS / "citizen-1280.png"), full_page=True)
        open_every_fold(page)
        serious = axe_violations(page)
        assert not serious, describe(serious)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{ui_base_url}/citizens/{anna}")
        expect(page.locator("#fig-spo2 .chart-narrow svg")).to_be_visible()
        expect(page.locator("#fig-spo2 .chart-wide svg")).to_be_hidden()
        # axis text stays legible: at least 10 CSS px when the chart fills the phone
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector("
            "'#fig-spo2 .chart-narrow .tick')).fontSize) * "
            "document.querySelector('#fig-spo2 .chart-narrow svg').getBoundingClientRect().width"
            " / 360"
        )
        assert size >= 10, size
        heights["390"] = page_height(page)
        page.screenshot(path=str(ARTIFACTS / "citizen-390.png"), full_page=True)
        open_every_fold(page)
        serious = axe_violations(page)
        assert not serious, describe(serious)
    _heights("citizen", heights)


def test_limits_editor_answers_in_danish_and_saves_baseline_and_change_rules(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna = ui_world.a.citizen_ids[0]
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}?open=limits")
        fixed = page.locator("#rules-absolute")
        expect(fixed).to_contain_text("Faste grænser")
        page.get_by_label("Iltmætning: Rød under").fill("92")
        page.get_by_label("Iltmætning: Gul under").fill("90")
        page.get_by_label("Begrundelse (fx lægens ordination)").fill("Lægen har ringet")
        page.get_by_role("button", name="Gem").first.click()
        yellow = page.get_by_label("Iltmætning: Gul under")
        expect(yellow).to_have_attribute("aria-invalid", "true")
        error = page.locator("#lim-absolute-0-yellow_low-err")
        expect(error).to_have_text("Gul under (90) skal være højere end rød under (92).")
        expect(page.get_by_label("Iltmætning: Rød under")).to_have_value("92")
        expect(page.get_by_label("Begrundelse (fx lægens ordination)")).to_have_value(
            "Lægen har ringet"
        )
        page.locator("#rules-absolute").screenshot(path=str(ARTIFACTS / "limits-error.png"))

        # a baseline rule (FEV1 % of baseline) and a change rule (weight over days)
        page.get_by_label("Iltmætning: Rød under").fill("88")
        page.get_by_label("FEV1: Gul", exact=True).fill("75")
        page.get_by_label("FEV1: Rød", exact=True).fill("55")
        page.get_by_label("Vægt: Vindue (dage)").fill("5")
        page.get_by_label("Vægt: Gul", exact=True).fill("1,5")
        page.get_by_label("Vægt: Rød", exact=True).fill("2,5")
        page.get_by_role("button", name="Gem").first.click()
        expect(page.get_by_role("status").first).to_contain_text("Grænseværdierne er gemt.")
        expect(page.get_by_label("Vægt: Gul", exact=True)).to_have_value("1,5")
        history = page.locator("ol.history")
        expect(history).to_contain_text("Lægen har ringet")
        expect(history).to_contain_text("Version 2")
        page.locator("#sec-limits").screenshot(path=str(ARTIFACTS / "limits-saved.png"))
    with Session(engine) as s:
        newest = s.exec(
            select(LimitSet).where(LimitSet.citizen_id == anna, LimitSet.version == 2)
        ).one()
    fev1 = next(r for r in newest.rules["baseline"] if r["type"] == "fev1")
    weight = next(r for r in newest.rules["change"] if r["type"] == "weight")
    assert (fev1["yellow"], fev1["red"]) == (75, 55)
    assert (weight["window_days"], weight["yellow"], weight["red"]) == (5, 1.5, 2.5)


def test_a_plan_time_that_does_not_exist_is_answered_beside_the_field(
    ui_base_url: str, ui_world: World
) -> None:
    from playwright.sync_api import expect

    anna = ui_world.a.citizen_ids[0]
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}?open=plan")
        expect(page.locator("#sec-plan")).to_contain_text("mandag")
        times = page.get_by_label("Tidspunkter (TT:MM, kommasepareret)")
        times.fill("08:00, 25:00")
        page.locator("#plan-reason").fill("Ny rytme")
        page.locator("form.plan-form button[type=submit]").click()
        times = page.get_by_label("Tidspunkter (TT:MM, kommasepareret)")
        expect(times).to_have_value("08:00, 25:00")
        expect(times).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#plan-times-err")).to_have_text(
            "Tidspunktet 25:00 findes ikke; brug 00:00–23:59."
        )
        expect(page.locator("#plan-reason")).to_have_value("Ny rytme")
        page.locator("form.plan-form").screenshot(path=str(ARTIFACTS / "plan-error.png"))


def test_the_access_report_page(ui_base_url: str, ui_world: World) -> None:
    from playwright.sync_api import expect

    anna = ui_world.a.citizen_ids[0]
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}?open=notes")
        page.locator("#note-text").fill("Ringet til Anna")
        page.get_by_role("button", name="Gem").first.click()
        expect(page.get_by_role("status").first).to_contain_text("Noten er gemt.")
        page.get_by_role("button", name="Log ud").click()
        page.wait_for_url(re.compile(r".*/login$"))
        log_in(page, ui_base_url, "lead-a")
        page.goto(f"{ui_base_url}/citizens/{anna}")
        page.get_by_role("link", name="Se hvem der har set borgerens data").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hvem har set borgerens data")
        nurse = page.get_by_role("region", name=re.compile(r"^nurse-a, "))
        expect(nurse).to_contain_text("Skrev en note")
        expect(nurse).to_contain_text("Åbnede borgerens side")
        expect(nurse).to_contain_text("Så borgeren i en liste")
        expect(page.locator("main")).not_to_contain_text("citizen.page.read")
        page.screenshot(path=str(ARTIFACTS / "access-report.png"), full_page=True)
        serious = axe_violations(page)
        assert not serious, describe(serious)
