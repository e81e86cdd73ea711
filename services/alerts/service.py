"""The alerts service assembled: triage worker thread, MQTT hint, APScheduler sweeps and the
outbox relay. Built by :mod:`services.alerts.main` (or a test) and started/stopped there."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from pust.config.settings import Settings
from pust.db.device_credentials import PasswordSeal
from pust.db.outbox import BROKER, RetryPolicy
from pust.domain.clock import Clock
from pust.messaging.dynsec import DynsecClient
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import Topics
from services.alerts.backlog import measure_backlog
from services.alerts.broker_sync import BrokerChannel, BrokerReconciler
from services.alerts.health import Readiness
from services.alerts.job_health import JobMonitor
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications import (
    Channel,
    EmailChannel,
    PermanentDeliveryError,
    WebhookChannel,
)
from services.alerts.relay import MqttChannel, OutboxRelay
from services.alerts.settings import AlertsSettings
from services.alerts.sweeps import (
    sweep_escalations,
    sweep_missed_measurements,
    sweep_settled_watches,
    sweep_silent_devices,
)
from services.alerts.triage_worker import TriageWorker

log = logging.getLogger(__name__)


class UnconfiguredChannel:
    """A channel this installation has not set up: its messages go dead at once, visible to
    an administrator, instead of waiting forever."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(
        self,
        *,
        destination: str,
        payload: dict[str, object],
        delivery_id: str,
        retain: bool = False,
    ) -> None:
        raise PermanentDeliveryError(f"{self.name}: channel not configured")


def build_channels(
    alerts: AlertsSettings, clock: Clock, mqtt: MqttConnection | None
) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if mqtt is not None:
        channels["mqtt"] = MqttChannel(mqtt)
    secret = alerts.webhook_secret.get_secret_value().encode()
    channels["webhook"] = (
        WebhookChannel(
            secret=secret, clock=clock.now, timeout_seconds=alerts.webhook_timeout_seconds
        )
        if secret
        else UnconfiguredChannel("webhook")
    )
    channels["email"] = (
        EmailChannel(
            host=alerts.smtp_host,
            port=alerts.smtp_port,
            sender=alerts.smtp_from,
            worklist_url=alerts.worklist_url,
            username=alerts.smtp_username,
            password=alerts.smtp_password.get_secret_value(),
            starttls=alerts.smtp_starttls,
            timeout_seconds=alerts.smtp_timeout_seconds,
        )
        if alerts.smtp_host
        else UnconfiguredChannel("email")
    )
    return channels


class AlertsService:
    def __init__(
        self,
        *,
        settings: Settings,
        alerts: AlertsSettings,
        engine: Engine,
        clock: Clock,
        use_mqtt: bool = True,
        metrics: AlertsMetrics | None = None,
    ) -> None:
        self._alerts = alerts
        self.metrics = metrics or AlertsMetrics(CollectorRegistry())
        self.jobs = JobMonitor(now=clock.now, metrics=self.metrics)
        self._clock = clock
        self._engine = engine
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.topics = Topics(settings.topic_root)
        self.mqtt: MqttConnection | None = None
        if use_mqtt:
            address = BrokerAddress.parse(
                settings.effective_mqtt_url,
                username=settings.service_mqtt_login(alerts.client_id),
                password=settings.service_mqtt_password.get_secret_value(),
            )
            self.mqtt = MqttConnection(
                address=address,
                client_id=alerts.client_id,
                subscriptions=[(self.topics.readings_committed, 1)],
                on_message=self._on_hint,
            )
        # Mosquitto's dynamic security: the outbox channel ``broker`` and the reconcile job
        self.dynsec: DynsecClient | None = None
        self.reconciler: BrokerReconciler | None = None
        seal = PasswordSeal(settings.secret_key.get_secret_value())
        if use_mqtt and settings.provisions_broker:
            self.dynsec = DynsecClient(
                address=BrokerAddress.parse(
                    settings.effective_mqtt_url,
                    username=settings.broker_admin_username,
                    password=settings.broker_admin_password.get_secret_value(),
                ),
                client_id=f"{alerts.client_id}-dynsec"[:64],
            )
            self.reconciler = BrokerReconciler(
                engine=engine,
                dynsec=self.dynsec,
                topics=self.topics,
                seal=seal,
                clock=clock,
                own_accounts={settings.broker_admin_username, settings.service_mqtt_username},
                drift_gauge=self.metrics.broker_drift_devices,
            )
        channels = build_channels(alerts, clock, self.mqtt)
        channels[BROKER] = BrokerChannel(
            engine=engine, dynsec=self.dynsec, topics=self.topics, seal=seal, clock=clock
        )
        self.worker = TriageWorker(
            engine=engine, clock=clock, topics=self.topics, batch_size=alerts.batch_size
        )
        self.relay = OutboxRelay(
            engine=engine,
            clock=clock,
            channels=channels,
            policy=RetryPolicy(
                base=timedelta(seconds=alerts.outbox_backoff_seconds),
                cap=timedelta(seconds=alerts.outbox_backoff_cap_seconds),
                max_attempts=alerts.outbox_max_attempts,
            ),
            batch_size=alerts.outbox_batch_size,
        )
        self._thread = threading.Thread(target=self._triage_loop, name="alerts-triage")
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self.hints = 0

    # lifecycle ---------------------------------------------------------------------------

    def start(self, *, wait_seconds: float | None = None) -> None:
        if self.mqtt is not None:
            self.mqtt.start(wait_seconds=wait_seconds)
        self.jobs.register("triage", interval_seconds=self._alerts.poll_interval_seconds)
        if self.dynsec is not None:
            self.dynsec.start(wait_seconds=wait_seconds)
        self._thread.start()
        now = datetime.now(UTC)
        jobs: list[tuple[str, float, Callable[[], object]]] = [
            (
                "escalations",
                self._alerts.escalation_sweep_seconds,
                lambda: sweep_escalations(engine=self._engine, clock=self._clock),
            ),
            (
                "missed",
                self._alerts.missed_sweep_seconds,
                lambda: sweep_missed_measurements(
                    engine=self._engine,
                    clock=self._clock,
                    lookback=timedelta(hours=self._alerts.missed_lookback_hours),
                    topics=self.topics,
                ),
            ),
            (
                "silent",
                self._alerts.silent_sweep_seconds,
                lambda: sweep_silent_devices(
                    engine=self._engine,
                    clock=self._clock,
                    threshold=timedelta(hours=self._alerts.silent_device_hours),
                ),
            ),
            (
                "watches",
                self._alerts.watch_sweep_seconds,
                lambda: sweep_settled_watches(engine=self._engine, clock=self._clock),
            ),
            ("outbox", self._alerts.outbox_poll_seconds, self._relay_all),
            (
                "backlog",
                self._alerts.backlog_measure_seconds,
                lambda: measure_backlog(self._engine, self.metrics, self._clock.now()),
            ),
        ]
        if self.reconciler is not None:
            jobs.append(
                (
                    "broker-reconcile",
                    self._alerts.broker_reconcile_seconds,
                    self.reconciler.run_once,
                )
            )
        for name, seconds, job in jobs:
            self.jobs.register(name, interval_seconds=seconds)
            self._scheduler.add_job(
                self.jobs.guarded(name, job),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
                next_run_time=now,
            )
        self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.dynsec is not None:
            self.dynsec.stop()

    @property
    def triage_alive(self) -> bool:
        return self._thread.is_alive()

    def readiness(self) -> Readiness:
        """Not ready while the triage loop is dead or a timer job is stale."""
        return Readiness(triage_alive=self.triage_alive, stale_jobs=self.jobs.stale())

    # work ------------------------------------------------------------------------------

    def _on_hint(self, _message: ReceivedMessage) -> None:
        self.hints += 1
        self._wake.set()

    def _triage_loop(self) -> None:
        backoff = self._alerts.poll_interval_seconds
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and self.worker.run_once() > 0:
                    pass
                backoff = self._alerts.poll_interval_seconds
                self.jobs.succeeded("triage")
            except SQLAlchemyError as exc:
                # the database is away: the rows wait, nothing is lost; try again later
                self.jobs.failed("triage", exc)
                backoff = min(backoff * 2, 10.0)
            self._wake.wait(backoff)
            self._wake.clear()

    def _relay_all(self) -> None:
        while not self._stop.is_set() and self.relay.run_once() > 0:
            pass
