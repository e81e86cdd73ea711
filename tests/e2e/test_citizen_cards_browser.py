"""The citizen page's open alerts and watches in headless Chromium (issue 13): one item
markup for both, so a watch looks and works like an alert except that it cannot be
acknowledged; each "Afslut…" disclosure is named by the reason it closes (a screen reader
hears which one); a watch is resolved from its card and leaves it; axe finds nothing
serious."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import Alert, Citizen
from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.ui_world import log_in, ui_base_url, ui_world
from tests.integration.api.world import NOW, World

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
__all__ = ["ui_base_url", "ui_world"]  # fixtures used by name below

WATCH_REASON = "SpO2 89 % < gul grænse 90 %"


def _watch(engine: Engine, citizen_id: object) -> None:
    with session_scope(engine) as s:
        citizen = s.get(Citizen, citizen_id)
        assert citizen is not None
        s.add(
            Alert(
                citizen_id=citizen.id,
                care_team_id=citizen.care_team_id,
                kind="watch",
                rule_key="spo2.absolute.watch",
                severity="yellow",
                band_order=4,
                open_key=f"{citizen.id}:spo2.absolute.watch",
                first_seen_at=NOW - timedelta(hours=5),
                last_seen_at=NOW - timedelta(hours=1),
                count=2,
                reasons=[{"rule": "spo2.absolute", "severity": "yellow", "text_da": WATCH_REASON}],
                updated_at=NOW - timedelta(hours=5),
            )
        )


def test_alert_and_watch_items_are_one_markup_and_each_resolve_names_its_reason(
    ui_base_url: str, ui_world: World, engine: Engine
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna = ui_world.a.citizen_ids[0]
    _watch(engine, anna)
    with browser_page() as page:
        log_in(page, ui_base_url, "nurse-a")
        page.goto(f"{ui_base_url}/citizens/{anna}")
        alerts = page.locator(".card-alerts li")
        watches = page.locator(".card-watches li")
        expect(alerts).to_have_count(2)
        expect(watches).to_have_count(1)
        item_parts = "span.badge, span.why, span.alert-meta, details.act > summary"
        for item in [alerts.nth(0), alerts.nth(1), watches.nth(0)]:
            expect(item.locator(item_parts)).to_have_count(4)
            why = item.locator("span.why").inner_text()
            summary = item.locator("details.act > summary")
            # the disclosure's visible text is "Afslut…"; its name says which reason
            expect(summary).to_contain_text("Afslut…")
            assert why and why in summary.text_content(), (why, summary.text_content())
        expect(alerts.first.get_by_role("button", name="Kvittér")).to_have_count(1)
        watch = watches.first
        expect(watch.locator(".badge")).to_have_text("Hold øje")
        expect(watch).to_contain_text("set 2 gange siden")
        expect(watch.get_by_role("button", name=re.compile("^Kvittér"))).to_have_count(0)
        violations = axe_violations(page)
        assert not violations, describe(violations)
        page.screenshot(path=str(ARTIFACTS / "citizen-alert-and-watch-cards.png"), full_page=True)

        # resolving the watch from its card: the card is empty afterwards, the alerts stay
        watch.locator("details.act > summary").click()
        watch.get_by_label("Udfald").select_option(index=1)
        watch.get_by_role("button", name="Afslut").click()
        page.wait_for_url(re.compile(rf".*/citizens/{anna}.*"))
        expect(page.locator(".card-watches li")).to_have_count(0)
        expect(page.locator(".card-watches")).to_contain_text("Der holdes ikke øje med nogen.")
        expect(page.locator(".card-alerts li")).to_have_count(2)
