"""Settings of the alerts service (``PUST_ALERTS_*``), beside the shared :class:`Settings`."""

from __future__ import annotations

import socket

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_instance() -> str:
    # stable across restarts: the broker binds the login to this client id (pust broker
    # provision); several alerts processes on one host need distinct PUST_ALERTS_INSTANCE
    return socket.gethostname()


class AlertsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_ALERTS_", extra="ignore")

    # the triage worker polls ``triaged_at IS NULL`` this often (hints wake it sooner)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    batch_size: int = Field(default=200, ge=1, le=5000)
    # sweeps (APScheduler interval jobs)
    escalation_sweep_seconds: float = Field(default=30.0, gt=0)
    missed_sweep_seconds: float = Field(default=60.0, gt=0)
    silent_sweep_seconds: float = Field(default=300.0, gt=0)
    watch_sweep_seconds: float = Field(default=300.0, gt=0)  # watches whose signal has gone
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # broker vs. registry (Mosquitto's dynamic security only)
    broker_reconcile_seconds: float = Field(default=300.0, gt=0)
    # the triage backlog and lag metrics are measured this often
    backlog_measure_seconds: float = Field(default=15.0, gt=0)
    # /healthz, /readyz (stale sweeps), /metrics of this process; unset: no endpoint
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=0, le=65535)
    # a tablet without status, presence or data this long is silent
    silent_device_hours: float = Field(default=24.0, gt=0)
    # how far back a missed-measurement sweep creates slots (covers a long outage)
    missed_lookback_hours: float = Field(default=72.0, gt=0)
    # outbox delivery
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    outbox_backoff_seconds: float = Field(default=15.0, gt=0)
    outbox_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)
    # webhook: each request carries X-Pust-Signature = sha256=HMAC(secret, timestamp.body);
    # empty: no webhook channel (its messages go dead, visible to admins)
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # e-mail (SMTP); empty host: no e-mail channel (its messages go dead, visible to admins)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_from: str = "pust@localhost"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # link in notifications (ids only; the nurse opens the worklist to see the citizen)
    worklist_url: str = "http://127.0.0.1:8000/"
    instance: str = Field(default_factory=_default_instance)

    @property
    def client_id(self) -> str:
        return f"pust-alerts-{self.instance}"[:64]
