"""Tablets on Mosquitto with dynamic security, provisioned from the registry through the
outbox: what a tablet can and cannot do, in MQTT 5 and 3.1.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlmodel import select

from pust.db.broker_registry import last_reconcile_run
from pust.db.engine import session_scope
from pust.db.tables import (
    Citizen,
    Device,
    DeviceAssignment,
    OutboxMessage,
    StaffMembership,
    StaffUser,
)
from pust.domain.clock import SystemClock
from pust.messaging.topics import DeviceChannel
from pust_cli.broker_provision import provision
from services.alerts.metrics import AlertsMetrics
from services.alerts.service import AlertsService
from services.alerts.settings import AlertsSettings
from services.api.app import create_app
from services.api.auth.passwords import hash_password
from tests.integration.broker.conftest import (
    ALERTS_INSTANCE,
    INGEST_INSTANCE,
    OBSERVER,
    ROOT,
    BrokerWorld,
)
from tests.integration.broker.tablet import RawTablet
from tests.integration.ingest.world import measurement_payload

pytestmark = pytest.mark.timeout(60)


def _paired(world: BrokerWorld) -> tuple[str, str]:
    device_id = world.enrol()
    password = world.issue_password(device_id)
    world.deliver()
    return device_id, password


def _connected(world: BrokerWorld, device_id: str, password: str) -> RawTablet:
    tablet = world.tablet(device_id, password)
    code = tablet.connect()
    assert not code.is_failure, code
    return tablet


def test_an_enrolled_and_paired_tablet_publishes_and_gets_its_receipt(
    broker_world: BrokerWorld, start_ingest
) -> None:
    start_ingest(
        clock=SystemClock(),
        instance=INGEST_INSTANCE,
        settings_overrides={"mqtt_url": broker_world.mosquitto.url(), "topic_root": ROOT},
    )
    device_id = broker_world.enrol()
    broker_world.deliver()
    # enrolled, not paired: the broker knows the tablet but it cannot log in yet
    refused = broker_world.tablet(device_id, "guessed-password")
    assert refused.connect().is_failure
    password = broker_world.issue_password(device_id)
    broker_world.deliver()
    tablet = _connected(broker_world, device_id, password)
    receipts = broker_world.topics.device(device_id, DeviceChannel.RECEIPTS)
    assert tablet.subscribe(receipts)
    message_id, payload = measurement_payload(measured_at=datetime.now(UTC) - timedelta(minutes=1))
    tablet.publish(broker_world.topics.device(device_id, DeviceChannel.MEASUREMENTS), payload)
    receipt = json.loads(tablet.wait_message(receipts, timeout=15).payload)
    assert (receipt["message_id"], receipt["outcome"]) == (message_id, "accepted")
    with session_scope(broker_world.engine) as session:
        device = session.get(Device, device_id)
        assert device is not None and device.broker_state == "enabled"


def test_a_revoked_tablet_is_disconnected_at_once_and_cannot_come_back(
    broker_world: BrokerWorld,
) -> None:
    device_id, password = _paired(broker_world)
    tablet = _connected(broker_world, device_id, password)
    broker_world.revoke(device_id)
    broker_world.deliver()
    tablet.disconnected.wait(timeout=2)
    again = broker_world.tablet(device_id, password)
    assert again.connect().is_failure


def test_after_rotation_the_old_password_is_refused(broker_world: BrokerWorld) -> None:
    device_id, old = _paired(broker_world)
    new = broker_world.issue_password(device_id)
    broker_world.deliver()
    assert broker_world.tablet(device_id, old).connect().is_failure
    _connected(broker_world, device_id, new)


def test_a_tablet_cannot_touch_another_tablets_topics(broker_world: BrokerWorld) -> None:
    a, a_password = _paired(broker_world)
    b, _ = _paired(broker_world)
    observer = broker_world.observer()
    tablet = _connected(broker_world, a, a_password)
    topics = broker_world.topics
    forged = topics.device(b, DeviceChannel.MEASUREMENTS)
    own = topics.device(a, DeviceChannel.MEASUREMENTS)
    tablet.publish(forged, b'{"forged": true}')
    tablet.publish(own, b'{"own": true}')
    # the broker handles one client's messages in order: once the own message is through,
    # an accepted forged one would be there before it
    observer.wait_message(own)
    assert [m.topic for m in observer.messages] == [own]
    for refused in (
        topics.device(b, DeviceChannel.RECEIPTS),
        topics.device(b, DeviceChannel.PLAN),
        "#",
        f"{ROOT}/#",
        f"{ROOT}/devices/+/receipts",
        "$SYS/#",
        f"$share/ingest/{ROOT}/devices/+/measurements",
        f"$share/mine/{topics.device(a, DeviceChannel.RECEIPTS)}",
    ):
        assert not tablet.subscribe(refused), refused
    for channel in (DeviceChannel.RECEIPTS, DeviceChannel.PLAN, DeviceChannel.NOTICES):
        assert tablet.subscribe(topics.device(a, channel))


def test_a_tablet_cannot_connect_with_another_client_id(broker_world: BrokerWorld) -> None:
    a, a_password = _paired(broker_world)
    b, _ = _paired(broker_world)
    for client_id in (b, f"pust-ingest-{INGEST_INSTANCE}", "pust-alerts-anything"):
        assert broker_world.tablet(a, a_password, client_id=client_id).connect().is_failure
    _connected(broker_world, a, a_password)


def test_the_reconcile_job_repairs_a_client_deleted_behind_its_back(
    broker_world: BrokerWorld,
) -> None:
    device_id, password = _paired(broker_world)
    broker_world.dynsec.delete_client(device_id)
    assert broker_world.tablet(device_id, password).connect().is_failure
    drift = broker_world.reconciler.run_once()
    assert drift["missing"] == 1
    _connected(broker_world, device_id, password)
    assert broker_world.reconciler.run_once()["missing"] == 0
    with session_scope(broker_world.engine) as session:
        run = last_reconcile_run(session)
        assert run is not None and run.ok and run.drift["missing"] == 0
        states = session.exec(select(Device.broker_state)).all()
    assert set(states) == {"enabled"}


def test_enrolments_made_while_the_broker_is_down_reach_it_later(
    broker_world: BrokerWorld,
) -> None:
    broker_world.mosquitto.stop()
    device_id = broker_world.enrol()
    password = broker_world.issue_password(device_id)
    assert broker_world.relay.run_once() == 2
    with session_scope(broker_world.engine) as session:
        waiting = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "broker")).all()
        assert {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
        assert all("not connected" in (m.last_error or "") for m in waiting)
    broker_world.mosquitto.start()
    broker_world.dynsec.wait_connected(15)
    broker_world.clock.advance(timedelta(minutes=1))  # past the outbox's back-off
    broker_world.deliver()
    _connected(broker_world, device_id, password)


@pytest.mark.expect_error_logs("mqtt.auth_failed")
@pytest.mark.parametrize("db_backend", ["sqlite"])
@pytest.mark.parametrize("tablet_protocol", ["5"])
def test_ingest_stops_when_the_broker_refuses_its_credentials(
    broker_world: BrokerWorld, make_settings
) -> None:
    from services.ingest.main import EXIT_BAD_CREDENTIALS, run
    from services.ingest.settings import IngestSettings

    settings = broker_world.settings.model_copy(
        update={"service_mqtt_password": SecretStr("not-the-password")}
    )
    with pytest.raises(SystemExit) as stopped:
        run(settings, IngestSettings(instance=INGEST_INSTANCE, metrics_port=0))
    assert stopped.value.code == EXIT_BAD_CREDENTIALS


def test_a_tablet_paired_over_the_api_logs_in_to_mosquitto(broker_world: BrokerWorld) -> None:
    device_id = broker_world.enrol()
    with session_scope(broker_world.engine) as session:
        assignment = session.exec(
            select(DeviceAssignment).where(DeviceAssignment.device_id == device_id)
        ).one()
        citizen = session.get(Citizen, assignment.citizen_id)
        assert citizen is not None
        admin = StaffUser(
            username="broker-admin-staff",
            display_name="Admin",
            role="administrator",
            password_hash=hash_password("staff-password"),
        )
        session.add(admin)
        session.flush()
        session.add(StaffMembership(staff_id=admin.id, care_team_id=citizen.care_team_id))
        citizen_id = str(citizen.id)
    with TestClient(create_app(broker_world.settings)) as client:
        token = client.post(
            "/api/v1/auth/token",
            data={"username": "broker-admin-staff", "password": "staff-password"},
        ).json()["access_token"]
        code = client.post(
            "/api/v1/pairing-codes",
            json={"citizen_id": citizen_id},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["code"]
        credentials = client.post(
            "/api/v1/enrolment/pair", json={"code": code, "device_id": device_id}
        ).json()
    broker_world.deliver()
    tablet = broker_world.tablet(
        credentials["mqtt_username"],
        credentials["mqtt_password"],
        client_id=credentials["mqtt_client_id"],
    )
    assert not tablet.connect().is_failure
    assert tablet.subscribe(broker_world.topics.device(device_id, DeviceChannel.PLAN))


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_provisioning_again_changes_nothing_and_repairs_a_service_login(
    broker_world: BrokerWorld,
) -> None:
    device_id, password = _paired(broker_world)
    extra = [f"pust-ingest-{INGEST_INSTANCE}", OBSERVER]
    assert provision(broker_world.settings, extra) == []
    login = broker_world.settings.service_mqtt_login(OBSERVER)
    broker_world.dynsec.set_client_id(login, None)  # someone unbinds it
    assert provision(broker_world.settings, extra) == [f"client {login}: client_id"]
    _connected(broker_world, device_id, password)


@pytest.mark.parametrize("db_backend", ["sqlite"])
@pytest.mark.parametrize("tablet_protocol", ["5"])
def test_the_alerts_service_applies_the_broker_channel_and_reconciles(
    broker_world: BrokerWorld,
) -> None:
    """The composition: the alerts service's relay serves ``broker`` rows and its scheduler
    runs the reconcile job (at start, then every 300 s)."""
    registry = CollectorRegistry()
    service = AlertsService(
        settings=broker_world.settings,
        alerts=AlertsSettings(
            instance=ALERTS_INSTANCE,
            outbox_poll_seconds=0.2,
            escalation_sweep_seconds=3600,
            missed_sweep_seconds=3600,
            silent_sweep_seconds=3600,
        ),
        engine=broker_world.engine,
        clock=SystemClock(),
        metrics=AlertsMetrics(registry),
    )
    device_id = broker_world.enrol()
    password = broker_world.issue_password(device_id)
    service.start(wait_seconds=10)
    try:
        deadline = time.monotonic() + 15
        # the relay polls every 0.2 s and the reconcile job runs once at start: nothing to
        # await but their rows
        while not _settled(broker_world) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _settled(broker_world)
        _connected(broker_world, device_id, password)
        assert registry.get_sample_value("pust_broker_drift_devices", {"kind": "role"}) is not None
    finally:
        service.stop()


def _settled(world: BrokerWorld) -> bool:
    """No broker row owed any more, and a reconcile run recorded."""
    with session_scope(world.engine) as session:
        owed = session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.channel == "broker", OutboxMessage.status == "pending"
            )
        ).first()
        return owed is None and last_reconcile_run(session) is not None
