"""The embedded broker (demo default): authentication, per-device topic ACL, persistent
sessions. Runs its own broker on a free port with the real database-backed credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pust.db.device_credentials import MqttCredentialCheck, hash_device_password
from pust.db.engine import session_scope
from pust.db.tables import Device
from pust.messaging.embedded_broker import BrokerPolicy, EmbeddedBroker
from pust.messaging.mqtt_client import (
    BrokerAddress,
    MqttAuthenticationFailed,
    MqttConnection,
    ReceivedMessage,
)
from pust.messaging.topics import DeviceChannel, Topics
from tests.conftest import free_port

SERVICE = ("pust-service", "service-secret")


@pytest.fixture
def broker(engine: Engine) -> Iterator[int]:
    with session_scope(engine) as session:
        session.add(Device(id="demo-tablet-01", mqtt_password_hash=hash_device_password("demo")))
        session.add(Device(id="demo-tablet-02", mqtt_password_hash=hash_device_password("demo")))
        session.add(
            Device(
                id="retired-tablet",
                status="retired",
                mqtt_password_hash=hash_device_password("demo"),
            )
        )
    policy = BrokerPolicy(
        check_credentials=MqttCredentialCheck(
            engine=engine, service_username=SERVICE[0], service_password=SERVICE[1]
        ),
        service_usernames=frozenset({SERVICE[0]}),
        topics=Topics(),
    )
    port = free_port()
    server = EmbeddedBroker("127.0.0.1", port, policy)
    server.start()
    yield port
    server.stop()


def _connect(port: int, user: str, password: str, **kwargs: object) -> MqttConnection:
    address = BrokerAddress.parse(f"mqtt://127.0.0.1:{port}?protocol=3.1.1")
    address = BrokerAddress(address.host, address.port, user, password, address.protocol)
    connection = MqttConnection(address=address, client_id=user, **kwargs)  # type: ignore[arg-type]
    connection.start(wait_seconds=10)
    return connection


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.expect_error_logs("mqtt.auth_failed")  # each refused login
def test_device_password_is_checked(broker: int) -> None:
    _connect(broker, "demo-tablet-01", "demo").stop()
    for user, password in (
        ("demo-tablet-01", "wrong"),
        ("retired-tablet", "demo"),
        ("unknown-tablet", "demo"),
        (SERVICE[0], "wrong"),
    ):
        with pytest.raises(MqttAuthenticationFailed):
            _connect(broker, user, password)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_tablet_publishes_only_as_itself_and_backlog_survives(broker: int) -> None:
    topics = Topics()
    received: list[ReceivedMessage] = []
    subscription = [(topics.inbound_filter(DeviceChannel.MEASUREMENTS), 1)]
    service = _connect(
        broker,
        *SERVICE,
        subscriptions=subscription,
        on_message=received.append,
        persistent_session=True,
    )
    service.stop()  # offline: the broker keeps its session and queues for it

    tablet = _connect(broker, "demo-tablet-01", "demo")
    for i in range(200):
        tablet.publish(
            topics.device("demo-tablet-01", DeviceChannel.MEASUREMENTS), f"{i}".encode()
        ).wait_for_publish(5)
    tablet.publish(
        topics.device("demo-tablet-02", DeviceChannel.MEASUREMENTS), b"spoofed"
    ).wait_for_publish(5)
    tablet.stop()

    service = _connect(
        broker,
        *SERVICE,
        subscriptions=subscription,
        on_message=received.append,
        persistent_session=True,
    )
    deadline = time.monotonic() + 10
    while len(received) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    service.stop()
    assert sorted(int(m.payload) for m in received) == list(range(200))
    assert {m.topic for m in received} == {
        topics.device("demo-tablet-01", DeviceChannel.MEASUREMENTS)
    }


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_tablet_never_gets_another_tablets_retained_messages(broker: int) -> None:
    from tests.integration.broker.tablet import RawTablet

    topics = Topics()
    first_plan = topics.device("demo-tablet-01", DeviceChannel.PLAN)
    second_plan = topics.device("demo-tablet-02", DeviceChannel.PLAN)
    first = _connect(broker, "demo-tablet-01", "demo", subscriptions=[(first_plan, 1)])
    service = _connect(broker, *SERVICE)
    service.publish(first_plan, b'{"plan": 1}', qos=1, retain=True).wait_for_publish(10)
    service.publish(
        topics.device("demo-tablet-01", DeviceChannel.PRESENCE), b"online", qos=1, retain=True
    ).wait_for_publish(10)
    second = RawTablet(
        broker,
        username="demo-tablet-02",
        password="demo",
        client_id="demo-tablet-02",
        protocol="3.1.1",
    )
    assert not second.connect().is_failure
    assert second.subscribe(second_plan)
    service.publish(second_plan, b'{"plan": 2}', qos=1).wait_for_publish(10)
    # retained messages are sent on CONNECT and SUBSCRIBE, before this one
    second.wait_message(second_plan)
    assert [m.topic for m in second.messages] == [second_plan]
    second.stop()
    first.stop()
    service.stop()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.expect_error_logs("mqtt.auth_failed")
def test_a_login_is_bound_to_its_client_id(broker: int) -> None:
    address = BrokerAddress("127.0.0.1", broker, "demo-tablet-01", "demo", protocol=4)
    for client_id in ("demo-tablet-02", "pust-ingest-vm", "anything"):
        connection = MqttConnection(address=address, client_id=client_id)
        with pytest.raises(MqttAuthenticationFailed):
            connection.start(wait_seconds=10)
        connection.stop()
    service = BrokerAddress("127.0.0.1", broker, f"{SERVICE[0]}:pust-ingest-a", SERVICE[1], 4)
    refused = MqttConnection(address=service, client_id="pust-ingest-b")
    with pytest.raises(MqttAuthenticationFailed):
        refused.start(wait_seconds=10)
    refused.stop()
    own = MqttConnection(address=service, client_id="pust-ingest-a")
    own.start(wait_seconds=10)
    own.stop()
