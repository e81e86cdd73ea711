"""The whole system, as a tablet and a nurse see it: a red reading published over MQTT is
acknowledged to the tablet after commit and appears in the nurse's worklist within
seconds; the other team's nurse never sees it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MqttTestBroker
from tests.e2e.system import RunningSystem, running_system
from tests.e2e.tablet import Tablet

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive


@pytest.fixture
def db_backend(postgres_server_url: str | None) -> str:
    # the whole system on the production database when there is one, else on SQLite
    return "postgresql" if postgres_server_url else "sqlite"


@pytest.fixture
def system(db_url: str, mqtt: MqttTestBroker, tmp_path: Path) -> Iterator[RunningSystem]:
    with running_system(db_url=db_url, mqtt=mqtt, work_dir=tmp_path) as running:
        yield running


def _token(system: RunningSystem, username: str) -> str:
    response = httpx.post(
        f"{system.base_url}/api/v1/auth/token",
        data={"username": username, "password": "demo"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _worklist(system: RunningSystem, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{system.base_url}/api/v1/worklist",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["items"])


@contextmanager
def worklist_changes(system: RunningSystem, token: str) -> Iterator[Callable[[], str]]:
    """The worklist's server-sent events, once the stream is ``ready``: ``next_event()``
    blocks until the next event and returns its name (a read timeout fails the test)."""
    with httpx.stream(
        "GET",
        f"{system.base_url}/api/v1/worklist/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(10.0, read=60.0),
    ) as response:
        response.raise_for_status()
        lines = response.iter_lines()

        def next_event() -> str:
            for line in lines:
                if line.startswith("event: "):
                    return line.removeprefix("event: ")
            raise AssertionError("the worklist's event stream ended")

        assert next_event() == "ready"
        yield next_event


def test_red_reading_over_mqtt_reaches_the_right_nurse(system: RunningSystem) -> None:
    tablet = Tablet(system.mqtt, "demo-tablet-01")  # a Nord citizen
    try:
        nurse = _token(system, "nurse")
        nurse_syd = _token(system, "nurse-syd")
        # the seeded citizens have a plan and no readings yet: blue (missed) rows only
        assert not [r for r in _worklist(system, nurse) if r["band"] == "red"]

        # await the worklist's own live event (what the nurse's page listens to), no polling
        with worklist_changes(system, nurse) as next_event:
            sent = tablet.measure(type="spo2", value=84, unit="%")
            assert tablet.receipt(sent["message_id"])["outcome"] == "accepted"
            rows: list[dict[str, Any]] = []
            while not rows:
                assert next_event() == "changed", system.logs()
                rows = [r for r in _worklist(system, nurse) if r["band"] == "red"]
        assert rows[0]["rule_key"].startswith("spo2")
        assert rows[0]["last_value"] == 84

        # the same message again (the tablet re-sends after a reconnect): a duplicate, and
        # the same reading under a new message id is one too
        tablet.receipts.clear()
        tablet.send(sent)
        assert tablet.receipt(sent["message_id"])["outcome"] == "duplicate"
        resent = {**sent, "message_id": str(uuid.uuid4())}
        tablet.send(resent)
        assert tablet.receipt(resent["message_id"])["outcome"] == "duplicate"
        red = [r for r in _worklist(system, nurse) if r["band"] == "red"]
        assert len(red) == 1

        # the other team's nurse sees none of it
        nord_citizen = red[0]["citizen_id"]
        assert all(r["citizen_id"] != nord_citizen for r in _worklist(system, nurse_syd))
        assert all(r["band"] != "red" for r in _worklist(system, nurse_syd))
    finally:
        tablet.close()


def test_bad_input_gets_a_rejected_receipt(system: RunningSystem) -> None:
    tablet = Tablet(system.mqtt, "demo-tablet-07")
    try:
        sent = tablet.measure(type="spo2", value=5.2, unit="mmol/L")
        receipt = tablet.receipt(sent["message_id"])
        assert receipt["outcome"] == "rejected"
        assert receipt["errors"][0]["code"] == "unit_not_supported"
    finally:
        tablet.close()
