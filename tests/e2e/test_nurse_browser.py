"""A nurse's day in headless Chromium: log in, be told of a red alert in the worklist
without reloading (and without the rows moving until she asks), open the citizen and the
chart, acknowledge with a note; a nurse of the other team sees none of it. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from pust.config.settings import Settings
from pust.db.tables import Alert, StaffUser
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import free_port
from tests.e2e.browser import ARTIFACTS, browser_page, serve
from tests.integration.api.world import NOW, PASSWORD, World, build_world

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


@pytest.fixture
def world(engine: Engine) -> World:
    built = build_world(engine)
    with Session(engine) as s:
        # the demo's user names
        s.execute(
            update(StaffUser).where(col(StaffUser.username) == "nurse-a").values(username="nurse")
        )
        s.execute(
            update(StaffUser)
            .where(col(StaffUser.username) == "nurse-b")
            .values(username="nurse-syd")
        )
        s.commit()
    return built


@pytest.fixture
def base_url(db_url: str, make_settings: Callable[..., Settings], world: World) -> Iterator[str]:
    app = create_app(
        make_settings(db_url=db_url),
        clock=FrozenClock(NOW),
        api_settings=ApiSettings(live_poll_seconds=0.5, live_stream_seconds=60, insecure_http=True),
    )
    with serve(app, free_port()) as base:
        yield base


def _login(page: object, base: str, username: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/")


def test_nurse_journey(base_url: str, engine: Engine, world: World) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    anna, arne = world.a.citizen_ids
    with browser_page() as page:
        _login(page, base_url, "nurse")
        expect(page.get_by_role("heading", name="Arbejdsliste")).to_be_visible()
        rows = page.locator("#worklist-rows tr")
        expect(rows.first).to_contain_text("Anna Andersen")
        expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=10_000)
        page.evaluate("window.__notReloaded = true")

        # a red alert for Arne arrives (as the alerts service would write it)
        with Session(engine) as s:
            s.add(
                Alert(
                    citizen_id=arne,
                    care_team_id=world.a.team_id,
                    kind="reading",
                    rule_key="spo2.absolute",
                    severity="red",
                    band_order=0,
                    open_key=f"{arne}:spo2.absolute",
                    first_seen_at=NOW - timedelta(hours=3),
                    last_seen_at=NOW,
                    last_value=85.0,
                    reasons=[
                        {
                            "rule": "spo2.absolute",
                            "severity": "red",
                            "value": 85.0,
                            "limit": 88.0,
                            "type": "spo2",
                        }
                    ],
                    updated_at=NOW,
                )
            )
            s.commit()
        # told, not moved: the rows stay as they were until she asks
        refresh = page.locator("#live-refresh")
        expect(refresh).to_have_text("1 nye — opdatér", timeout=10_000)
        expect(page).to_have_title(re.compile(r"^\(2 røde\) Arbejdsliste"))
        expect(rows.first).to_contain_text("Anna Andersen")
        refresh.click()
        arne_row = page.locator("#worklist-rows tr.band-red", has_text="Arne Aagaard")
        expect(arne_row).to_be_visible()
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        # oldest red first: Arne's has waited 3 h, Anna's 2 h
        expect(rows.first).to_contain_text("Arne Aagaard")
        expect(arne_row).to_contain_text("Iltmætning 85 %")
        expect(arne_row).to_contain_text(re.compile(r"Grænse 88(?![,.\d])"))  # not "88,0"
        expect(arne_row).not_to_contain_text("spo2.absolute")
        page.screenshot(path=str(ARTIFACTS / "worklist.png"), full_page=True)

        page.get_by_role("link", name="Anna Andersen").click()
        page.wait_for_url(re.compile(rf".*/citizens/{anna}$"))
        expect(page.locator("svg.chart").first).to_be_visible()
        expect(page.locator("svg.chart rect.band-red").first).to_be_attached()
        page.screenshot(path=str(ARTIFACTS / "citizen.png"), full_page=True)

        red = world.a.alert_ids[0]
        page.locator(f"#ack-note-{red}").fill("Ringet til borgeren, har det bedre")
        page.locator(f"form[action='/ui/alerts/{red}/acknowledge'] button").click()
        expect(page.get_by_role("status").first).to_contain_text("Gemt")
        with Session(engine) as s:
            acknowledged = s.get(Alert, red)
            assert acknowledged is not None
            assert acknowledged.status == "acknowledged"
            assert acknowledged.acknowledge_note == "Ringet til borgeren, har det bedre"

        page.get_by_role("link", name="Arbejdsliste").click()
        expect(page.get_by_role("button", name=re.compile("Kvittér alle grønne"))).to_have_count(0)

        page.get_by_role("button", name="Log ud").click()
        page.wait_for_url(re.compile(r".*/login$"))
        _login(page, base_url, "nurse-syd")
        expect(page.locator("#worklist-rows")).to_contain_text("Bodil")
        assert "Anna" not in page.content()
        assert "Arne" not in page.content()
        response = page.goto(f"{base_url}/citizens/{anna}")
        assert response is not None and response.status == 404
        assert "Anna" not in page.content()
    with Session(engine) as s:
        assert s.exec(select(Alert).where(col(Alert.citizen_id) == arne)).all()
