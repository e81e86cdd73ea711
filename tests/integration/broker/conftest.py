"""A real Mosquitto with dynamic security, provisioned by `pust broker provision`, and the
registry's way to it: device rows, the ``broker`` outbox channel and the reconcile job."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.db.device_credentials import PasswordSeal
from pust.db.device_enrolment import issue_password, revoke
from pust.db.engine import session_scope
from pust.db.outbox import RetryPolicy, enqueue_broker_sync
from pust.db.tables import Device
from pust.domain.clock import FrozenClock
from pust.messaging.dynsec import DynsecClient
from pust.messaging.mqtt_client import BrokerAddress
from pust.messaging.topics import Topics
from pust_cli.broker_provision import provision
from services.alerts.broker_sync import BrokerChannel, BrokerReconciler
from services.alerts.metrics import AlertsMetrics
from services.alerts.relay import OutboxRelay
from tests.integration.broker.dynsec_mosquitto import DynsecMosquitto
from tests.integration.broker.tablet import RawTablet
from tests.integration.ingest.conftest import start_ingest  # noqa: F401 - a fixture
from tests.integration.ingest.world import seed_devices

ROOT = "pust/v1"  # the broker is this test's alone
INGEST_INSTANCE = "broker-test"
OBSERVER = "pust-observer-test"  # a service process that watches the device topics
ALERTS_INSTANCE = "broker-test"


@pytest.fixture(params=["deploy", "demo"])
def dynsec_mosquitto(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DynsecMosquitto]:
    """The production configuration, and the one `pust up --demo` generates."""
    broker = DynsecMosquitto(tmp_path / "mosquitto", kind=str(request.param)).start()
    yield broker
    broker.stop()


@pytest.fixture(params=["5", "3.1.1"])
def tablet_protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class BrokerWorld:
    engine: Engine
    settings: Settings
    mosquitto: DynsecMosquitto
    dynsec: DynsecClient
    relay: OutboxRelay
    reconciler: BrokerReconciler
    protocol: str
    clock: FrozenClock
    topics: Topics = field(default_factory=lambda: Topics(ROOT))
    _tablets: list[RawTablet] = field(default_factory=list)

    @property
    def seal(self) -> PasswordSeal:
        return PasswordSeal(self.settings.secret_key.get_secret_value())

    def enrol(self) -> str:
        """A tablet in the registry, assigned to a citizen, not yet paired."""
        device_id = seed_devices(self.engine, 1).device_ids[0]
        with session_scope(self.engine) as session:
            enqueue_broker_sync(session, device_id=device_id, now=self.clock.now())
        return device_id

    def issue_password(self, device_id: str) -> str:
        with session_scope(self.engine) as session:
            device = session.get(Device, device_id)
            assert device is not None
            return issue_password(session, device, seal=self.seal, now=self.clock.now())

    def revoke(self, device_id: str) -> None:
        with session_scope(self.engine) as session:
            device = session.get(Device, device_id)
            assert device is not None
            revoke(session, device, now=self.clock.now())

    def deliver(self) -> None:
        """The alerts relay's turn: every due ``broker`` row applied."""
        while self.relay.run_once() > 0:
            pass

    def tablet(self, username: str, password: str, *, client_id: str | None = None) -> RawTablet:
        tablet = RawTablet(
            self.mosquitto.port,
            username=username,
            password=password,
            client_id=client_id or username,
            protocol=self.protocol,
        )
        self._tablets.append(tablet)
        return tablet

    def observer(self) -> RawTablet:
        """A service login (MQTT 5) subscribed to every device's inbound topics."""
        observer = RawTablet(
            self.mosquitto.port,
            username=self.settings.service_mqtt_login(OBSERVER),
            password=self.settings.service_mqtt_password.get_secret_value(),
            client_id=OBSERVER,
            protocol="5",
        )
        self._tablets.append(observer)
        assert not observer.connect().is_failure
        assert observer.subscribe(f"{ROOT}/devices/+/+")
        return observer

    def stop(self) -> None:
        for tablet in self._tablets:
            tablet.stop()


@pytest.fixture
def broker_world(
    engine: Engine,
    db_url: str,
    dynsec_mosquitto: DynsecMosquitto,
    make_settings: Callable[..., Settings],
    tablet_protocol: str,
) -> Iterator[BrokerWorld]:
    settings = make_settings(
        db_url=db_url,
        mqtt_url=dynsec_mosquitto.url(),
        topic_root=ROOT,
        broker_admin_username=dynsec_mosquitto.admin_user,
        broker_admin_password=dynsec_mosquitto.admin_password,
    )
    provision(
        settings,
        [f"pust-ingest-{INGEST_INSTANCE}", f"pust-alerts-{ALERTS_INSTANCE}", OBSERVER],
    )
    dynsec = DynsecClient(
        address=BrokerAddress.parse(
            settings.effective_mqtt_url,
            username=dynsec_mosquitto.admin_user,
            password=dynsec_mosquitto.admin_password,
        ),
        client_id=f"alerts-dynsec-{uuid.uuid4().hex[:6]}",
    ).start()
    # the relay's clock: stands still unless a test moves it past a back-off
    clock = FrozenClock(datetime.now(UTC))
    seal = PasswordSeal(settings.secret_key.get_secret_value())
    topics = Topics(ROOT)
    relay = OutboxRelay(
        engine=engine,
        clock=clock,
        channels={
            "broker": BrokerChannel(
                engine=engine, dynsec=dynsec, topics=topics, seal=seal, clock=clock
            )
        },
        policy=RetryPolicy(),
    )
    reconciler = BrokerReconciler(
        engine=engine,
        dynsec=dynsec,
        topics=topics,
        seal=seal,
        clock=clock,
        own_accounts={dynsec_mosquitto.admin_user, settings.service_mqtt_username},
        drift_gauge=AlertsMetrics(CollectorRegistry()).broker_drift_devices,
    )
    world = BrokerWorld(
        engine, settings, dynsec_mosquitto, dynsec, relay, reconciler, tablet_protocol, clock
    )
    yield world
    world.stop()
    dynsec.stop()
