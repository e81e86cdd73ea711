"""The administration page in headless Chromium: a CPR number with day 32 is refused in
Danish beside the field with what was typed kept; staff deactivation asks first; axe-core
finds nothing serious at 1280 and 390 px. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.test_citizen_browser import _heights
from tests.e2e.ui_world import log_in, open_every_fold, page_height, ui_base_url, ui_world
from tests.integration.api.world import World

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
__all__ = ["ui_base_url", "ui_world"]  # fixtures used by name below


def test_cpr_with_day_32_is_refused_and_the_page_passes_axe(
    ui_base_url: str, ui_world: World
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    heights: dict[str, int] = {}
    with browser_page() as page:
        log_in(page, ui_base_url, "admin")
        page.goto(f"{ui_base_url}/admin")
        form = page.locator("form[action='/ui/citizens']")
        form.get_by_label("CPR").fill("320299-1234")
        form.get_by_label("Fornavn").fill("Karl")
        form.get_by_label("Efternavn").fill("Kvist")
        form.get_by_role("button", name="Opret borger").click()
        cpr = page.locator("#c-cpr")
        expect(cpr).to_have_value("320299-1234")
        expect(cpr).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#c-cpr-err")).to_have_text(
            "De første seks cifre er ikke en dato (DDMMÅÅ)."
        )
        expect(page.locator("#c-given")).to_have_value("Karl")
        page.locator("form[action='/ui/citizens']").screenshot(
            path=str(ARTIFACTS / "admin-cpr-day-32.png")
        )

        # deactivating an account asks first
        page.goto(f"{ui_base_url}/admin#staff-h")
        page.get_by_role("button", name="Deaktivér nurse-a").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("Vil du deaktivere Nurse-A (nurse-a)?")
        dialog.screenshot(path=str(ARTIFACTS / "admin-confirm-deactivate.png"))
        page.get_by_role("link", name="Fortryd").click()

        page.goto(f"{ui_base_url}/admin")
        heights["1280"] = page_height(page)
        page.screenshot(path=str(ARTIFACTS / "admin-1280.png"), full_page=True)
        open_every_fold(page)
        serious = axe_violations(page)
        assert not serious, describe(serious)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{ui_base_url}/admin")
        heights["390"] = page_height(page)
        page.screenshot(path=str(ARTIFACTS / "admin-390.png"), full_page=True)
        open_every_fold(page)
        serious = axe_violations(page)
        assert not serious, describe(serious)
    _heights("admin", heights)
