"""The whole pipeline in Chromium: a tablet publishes a red SpO2 reading over MQTT, the real
ingest stores it, the real alerts service triages it, and the nurse's open worklist page
shows it without a reload; on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MqttTestBroker
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.system import RunningSystem, running_system
from tests.e2e.tablet import Tablet

# demo-tablet-01 belongs to the first demo citizen, of Sygeplejeklinikken Nord
CITIZEN = "Inger Mikkelsen"
# the triage's own words for the row, exactly: "88 %" must not pass as "88,0 %" or "880 %"
REASON = re.compile(r"(^|\s)SpO2 84 % < rød grænse 88 %(\s|$)")


@pytest.fixture
def system(db_url: str, mqtt: MqttTestBroker, tmp_path: Path) -> Iterator[RunningSystem]:
    with running_system(db_url=db_url, mqtt=mqtt, work_dir=tmp_path) as running:
        yield running


def test_a_red_reading_from_a_tablet_appears_in_the_open_worklist(
    system: RunningSystem, db_backend: str
) -> None:
    from playwright.sync_api import expect

    tablet = Tablet(system.mqtt, "demo-tablet-01")
    try:
        with browser_page() as page:
            page.goto(f"{system.base_url}/login")
            page.get_by_label("Brugernavn").fill("nurse")
            page.get_by_label("Adgangskode").fill("demo")
            page.get_by_role("button", name="Log ind").click()
            page.wait_for_url(f"{system.base_url}/")
            expect(page.get_by_role("heading", name="Arbejdsliste")).to_be_visible()
            # the page listens to the live stream before anything is sent
            expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=20_000)
            red_rows = page.locator("#worklist-rows tr.band-red")
            expect(red_rows).to_have_count(0)
            page.evaluate("window.__notReloaded = true")

            sent = tablet.measure(type="spo2", value=84, unit="%")
            assert tablet.receipt(sent["message_id"])["outcome"] == "accepted"

            row = page.locator("#worklist-rows tr.band-red", has_text=CITIZEN)
            # the live page either swaps the row in, or offers it ("… nye — opdatér") and
            # swaps it in on a click; neither is a reload
            refresh = page.locator("#live-refresh")
            expect(row.or_(refresh)).to_be_visible(timeout=30_000)
            if not row.is_visible():
                refresh.click()
            expect(row).to_be_visible()
            expect(row).to_contain_text(REASON)
            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"pipeline-{db_backend}.png"), full_page=True)
    finally:
        tablet.close()
