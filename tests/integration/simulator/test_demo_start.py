"""The demo's worklist at its start, whatever the time of day (issue 13): the citizen who
stopped measuring (05, Birthe Holm) has missed the days the citizen-first policy asks for,
was reminded on her tablet at the time, and is a blue row saying so; the nurse's page is
read on a clock at the demo's start (no real clock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.config.settings import Settings
from pust.db.tables import ExpectedMeasurement, OutboxMessage
from pust.domain.clock import FrozenClock
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.demo_history import import_demo_history
from pust_cli.demo_seed import DEMO_PASSWORD, HISTORY_DAYS, seed_demo_into
from pust_cli.simulator.demo import NOT_MEASURING
from services.api.app import create_app
from services.api.settings import ApiSettings

TOPICS = Topics("t")
NOT_MEASURING_NAME = "Birthe Holm"
REMINDED = re.compile(r"Påmindet (\d+) gange? på tabletten")


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "csrf_token": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _task_rows(html: str) -> list[str]:
    tasks = html.split('id="worklist-rows"', 1)[1].split("</tbody>", 1)[0]
    return tasks.split("<tr ")[1:]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 3, 5, 0, tzinfo=UTC),  # 06:00 Copenhagen, before the morning slot
        datetime(2026, 12, 3, 8, 38, tzinfo=UTC),  # 09:38: today's slot still in its grace
        datetime(2026, 12, 6, 13, 0, tzinfo=UTC),  # Sunday afternoon
        datetime(2027, 7, 1, 21, 30, tzinfo=UTC),  # 23:30 summer time
    ],
    ids=["early-morning", "in-the-slots-grace", "sunday-afternoon", "late-summer-evening"],
)
def test_the_demo_worklist_shows_the_blue_citizen_at_start(
    engine: Engine, db_url: str, make_settings: Callable[..., Settings], now: datetime
) -> None:
    clock = FrozenClock(now)
    assert seed_demo_into(engine, timezone="Europe/Copenhagen", topics=TOPICS, clock=clock)
    import_demo_history(engine, topics=TOPICS, now=now, days=HISTORY_DAYS)

    app = create_app(
        make_settings(db_url=db_url),
        clock=clock,
        api_settings=ApiSettings(live_stream_seconds=3, insecure_http=True),
    )
    with TestClient(app) as client:
        _login(client, "nurse")
        page = client.get("/")
    assert page.status_code == 200
    [row] = [r for r in _task_rows(page.text) if NOT_MEASURING_NAME in r]
    assert 'class="band-blue"' in row
    assert "Manglende måling" in row
    reminded = REMINDED.search(row)
    assert reminded is not None, row
    times = int(reminded.group(1))

    # the reminders were the tablet's at the time: one per missed slot, delivered (the
    # tablet still reports), not sent again at the start
    with Session(engine) as s:
        slots = s.exec(
            select(ExpectedMeasurement).where(col(ExpectedMeasurement.reminded_at).is_not(None))
        ).all()
        to_her_tablet = s.exec(
            select(OutboxMessage).where(
                OutboxMessage.destination == TOPICS.device(NOT_MEASURING, DeviceChannel.NOTICES)
            )
        ).all()
    reminders = [n for n in to_her_tablet if "mangler at måle" in str(n.payload.get("text"))]
    assert times >= 2 and all(slot.reminded_at < now for slot in slots if slot.reminded_at)
    assert len(reminders) == times
    assert all(n.status == "sent" and n.sent_at is not None for n in reminders)
