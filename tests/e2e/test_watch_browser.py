"""A watch in the whole system, as the nurse sees it in Chromium (issue 13): a tablet's SpO2
89 under a rule set whose yellow is a watch goes through the real ingest and alerts into the
worklist's lower band ("Holdes øje med"), not among the tasks and with no acknowledge or
settle control; the citizen's page shows it with its Danish reason and how often and since
when it was seen; a red SpO2 84 of the same citizen then is a task at the top of the list.
axe-core finds nothing serious on either page. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from pust.db.engine import build_engine, session_scope
from pust.db.tables import Citizen, Device, DeviceAssignment, LimitSet, Plan
from pust.domain.limits import AbsoluteLimit, RuleSet
from pust.domain.measurement_types import MeasurementType
from pust_cli.demo_seed import seed_demo_into
from tests.conftest import MqttTestBroker
from tests.e2e.axe import axe_violations, describe
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.e2e.system import RunningSystem, running_system
from tests.e2e.tablet import Tablet

# The services run on the real clock, as in test_pipeline_browser.py; what is asserted does
# not depend on the date or hour (Inger is enrolled at the test's start: no slot of hers can be
# missed before it ends). Not marked clock_sensitive: Chromium does not load a page under
# libfaketime (Page.goto times out), so .ci/run's faked-clock step could not run it.

DEVICE = "demo-tablet-01"
CITIZEN = "Inger Mikkelsen"
# the rule set this test is about (not the default's thresholds): below 90 a watch, below 88
# red, nothing else
WATCH_RULES = RuleSet(
    absolute=(
        AbsoluteLimit(
            type=MeasurementType.SPO2, unit="%", red_low=88, yellow_low=90, yellow_is_watch=True
        ),
    )
)
WATCH_REASON = re.compile(r"(^|\s)SpO2 89 % < gul grænse 90 %(\s|$)")
RED_REASON = re.compile(r"(^|\s)SpO2 84 % < rød grænse 88 %(\s|$)")


@pytest.fixture
def db_backend(postgres_server_url: str | None) -> str:
    # the whole system on the production database when there is one, else on SQLite
    return "postgresql" if postgres_server_url else "sqlite"


def _enrolled_today_with_watch_rules(db_url: str, mqtt: MqttTestBroker) -> uuid.UUID:
    """The demo's people without their history; Inger is enrolled today (so no missed
    measurement or silent tablet of the empty history stands beside her alerts) and her
    team set her limits to :data:`WATCH_RULES`."""
    engine = build_engine(db_url)
    now = datetime.now(UTC)
    try:
        seed_demo_into(engine, timezone="Europe/Copenhagen", topics=mqtt.topics)
        with session_scope(engine) as s:
            assignment = s.exec(
                select(DeviceAssignment).where(DeviceAssignment.device_id == DEVICE)
            ).one()
            citizen = s.get(Citizen, assignment.citizen_id)
            device = s.get(Device, DEVICE)
            assert citizen is not None and device is not None
            citizen.monitoring_started_at = assignment.valid_from = device.enrolled_at = now
            for plan in s.exec(select(Plan).where(Plan.citizen_id == citizen.id)).all():
                plan.created_at = now
            s.add(
                LimitSet(
                    citizen_id=citizen.id,
                    version=2,
                    rules=WATCH_RULES.to_json(),
                    reason="Gul SpO2 er kun 'hold øje'",
                )
            )
            return citizen.id
    finally:
        engine.dispose()


@pytest.fixture
def system(
    db_url: str, mqtt: MqttTestBroker, tmp_path: Path
) -> Iterator[tuple[RunningSystem, uuid.UUID]]:
    citizen = _enrolled_today_with_watch_rules(db_url, mqtt)
    with running_system(db_url=db_url, mqtt=mqtt, work_dir=tmp_path) as running:
        yield running, citizen


def _log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill("nurse")
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/")


def _measure(tablet: Tablet, value: int) -> None:
    sent = tablet.measure(type="spo2", value=value, unit="%")
    assert tablet.receipt(sent["message_id"])["outcome"] == "accepted"


def _until_shown(page: Any, locator: Any) -> None:
    """The live page offers the change ("Listen er ændret — opdatér") or shows it; a click
    on the offer swaps the rows in (no reload)."""
    from playwright.sync_api import expect

    refresh = page.locator("#live-refresh")
    expect(locator.or_(refresh)).to_be_visible(timeout=30_000)
    if not locator.is_visible():
        refresh.click()
    expect(locator).to_be_visible()


def test_a_watch_is_in_the_lower_band_and_on_the_citizens_page_and_a_red_is_a_task_on_top(
    system: tuple[RunningSystem, uuid.UUID],
) -> None:
    from playwright.sync_api import expect

    running, citizen = system
    base = running.base_url
    ARTIFACTS.mkdir(exist_ok=True)
    tablet = Tablet(running.mqtt, DEVICE)
    try:
        with browser_page() as page:
            _log_in(page, base)
            expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=20_000)
            tasks = page.locator(f"#worklist-rows tr[data-citizen='{citizen}']")
            watch = page.locator(f"#watch-rows tr[data-citizen='{citizen}']")
            expect(tasks).to_have_count(0)
            expect(watch).to_have_count(0)

            _measure(tablet, 89)
            _until_shown(page, watch)
            expect(
                page.get_by_role("heading", name=re.compile(r"^Holdes øje med \(1\)"))
            ).to_be_visible()
            expect(watch).to_contain_text(CITIZEN)
            expect(watch.locator(".badge")).to_have_text("Hold øje")
            expect(watch).to_contain_text(WATCH_REASON)
            expect(watch).to_contain_text("set én gang")
            expect(watch).not_to_contain_text("spo2.")  # no rule keys on the screen
            # not a task: not in the task list, nothing to acknowledge, settle or escalate
            expect(tasks).to_have_count(0)
            expect(watch.locator("form, button, details, select, textarea")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "worklist-watch.png"), full_page=True)
            violations = axe_violations(page)
            assert not violations, describe(violations)

            # her page: the watch with its reason, in its own card, not among the alerts
            watch.get_by_role("link", name=CITIZEN).click()
            page.wait_for_url(re.compile(rf".*/citizens/{citizen}"))
            card = page.locator(".card-watches")
            expect(card.get_by_role("heading")).to_have_text("Holdes øje med (1)")
            expect(card).to_contain_text(WATCH_REASON)
            expect(card).to_contain_text("Hold øje")
            expect(card).to_contain_text("set én gang")
            expect(card.get_by_role("button", name=re.compile("^Kvittér"))).to_have_count(0)
            alerts = page.locator(".card-alerts")
            expect(alerts.get_by_role("heading")).to_have_text("Åbne alarmer (0)")
            card.locator("details summary").click()  # closing it is the nurse's choice
            expect(card.get_by_role("button", name="Afslut")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "citizen-watch.png"), full_page=True)
            violations = axe_violations(page)
            assert not violations, describe(violations)

            # a red reading of the same citizen is a task, at the top
            page.goto(f"{base}/")
            expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=20_000)
            _measure(tablet, 84)
            red = page.locator(f"#worklist-rows tr.band-red[data-citizen='{citizen}']")
            _until_shown(page, red)
            top = page.locator("#worklist-rows tr[data-citizen]").first
            expect(top).to_have_attribute("data-citizen", str(citizen))
            expect(top.locator(".badge").first).to_have_text("Rød")
            expect(top).to_contain_text(RED_REASON)
            expect(top).not_to_contain_text(WATCH_REASON)  # the watch stays in its band
            expect(top.locator("details.settle")).to_have_count(1)
            expect(watch).to_contain_text(WATCH_REASON)
            expect(watch).to_contain_text("har også en opgave ovenfor")
            page.screenshot(path=str(ARTIFACTS / "worklist-watch-and-red.png"), full_page=True)
    finally:
        tablet.close()
