"""Fixtures of the citizen-page and administration browser tests: the api's small known
world (tests/integration/api/world.py) served by uvicorn on the frozen clock, and a login."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import free_port
from tests.e2e.browser import serve
from tests.integration.api.world import NOW, PASSWORD, World, build_world


@pytest.fixture
def ui_world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def ui_base_url(
    db_url: str, make_settings: Callable[..., Settings], ui_world: World
) -> Iterator[str]:
    app = create_app(
        make_settings(db_url=db_url),
        clock=FrozenClock(NOW),
        api_settings=ApiSettings(live_poll_seconds=0.5, live_stream_seconds=60, insecure_http=True),
    )
    with serve(app, free_port()) as base:
        yield base


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/")


def page_height(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def open_every_fold(page: Any) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
