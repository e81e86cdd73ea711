"""The deploy Mosquitto configuration with its real password file and ACL: a tablet cannot
publish as another tablet, and ingest stops (exit 78) when its credentials are refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import QuarantinedMessage, Reading
from pust.domain.clock import SystemClock
from pust.messaging.topics import DeviceChannel
from services.ingest.main import EXIT_BAD_CREDENTIALS, run
from services.ingest.settings import IngestSettings
from tests.conftest import TEST_SERVICE_PASSWORD, TEST_SERVICE_USER
from tests.integration.ingest.mosquitto_process import MosquittoProcess
from tests.integration.ingest.test_backlog import LocalBroker
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

# the ACL template names the production topic root; this broker is ours alone
ROOT = "pust/v1"


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], MosquittoProcess]]:
    started: list[MosquittoProcess] = []

    def start(users: dict[str, str]) -> MosquittoProcess:
        broker = MosquittoProcess(tmp_path, {TEST_SERVICE_USER: TEST_SERVICE_PASSWORD, **users})
        started.append(broker.start())
        return broker

    yield start
    for broker in started:
        broker.stop()


def _count(engine: Engine, table: type) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one()[0])  # type: ignore[call-overload]


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_tablet_can_only_publish_as_itself(engine: Engine, secured_broker, start_ingest) -> None:
    world = seed_devices(engine, 2)
    own, other = world.device_ids
    mosquitto = secured_broker({own: "tablet-password", other: "tablet-password"})
    start_ingest(
        clock=SystemClock(), settings_overrides={"mqtt_url": mosquitto.url, "topic_root": ROOT}
    )
    tablet = TestTablet(LocalBroker(mosquitto.url, ROOT), own).start()
    now = datetime.now(UTC) - timedelta(minutes=1)
    _, forged = measurement_payload(measured_at=now, value=91)
    # publishing on the other tablet's topic: the broker's ACL drops it
    tablet.connection.publish(
        f"{ROOT}/devices/{other}/measurements", forged, qos=1
    ).wait_for_publish(10)
    own_id, payload = measurement_payload(measured_at=now, value=92)
    tablet.publish(DeviceChannel.MEASUREMENTS, payload)
    # the broker handles one client's packets in order: had the forged message passed the
    # ACL, ingest would have had it before the tablet's own, whose receipt is here
    assert tablet.wait_for_receipt(own_id)["outcome"] == "accepted"
    with session_scope(engine) as session:
        devices = [r[0] for r in session.exec(select(Reading.device_id)).all()]  # type: ignore[call-overload]
    assert devices == [own]
    assert _count(engine, QuarantinedMessage) == 0
    tablet.stop()


@pytest.mark.timeout(60)
@pytest.mark.expect_error_logs("mqtt.auth_failed")  # ingest is refused
@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_ingest_stops_when_the_broker_refuses_its_credentials(
    db_url: str, secured_broker, make_settings
) -> None:
    mosquitto = secured_broker({})
    settings = make_settings(
        db_url=db_url,
        mqtt_url=mosquitto.url,
        topic_root=ROOT,
        service_mqtt_password="not-the-password",
    )
    # it gives up (mqtt.auth_failed, asserted by the marker) instead of retrying for ever:
    # the test's timeout is what would catch a retry loop, not a stopwatch
    with pytest.raises(SystemExit) as stopped:
        run(settings, IngestSettings(instance="refused", metrics_port=0))
    assert stopped.value.code == EXIT_BAD_CREDENTIALS
