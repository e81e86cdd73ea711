"""Settings of the ingest service (``PUST_INGEST_*``), beside the shared :class:`Settings`."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_INGEST_", extra="ignore")

    # group commit: a batch takes at most this many messages ...
    batch_max_size: int = Field(default=500, ge=1, le=10_000)
    # ... and waits at most this long for more once it has one (0: commit at once; batches
    # still grow under load, since messages collect while the previous batch commits)
    batch_max_wait_seconds: float = Field(default=0.0, ge=0.0, le=1.0)
    # how long the broker keeps our session (and queues messages) while ingest is down
    session_expiry_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    # messages the broker may send before it has our acks (MQTT 5 Receive Maximum; with
    # MQTT 5, Mosquitto 2.0 takes the client's value for its outgoing window, beyond its
    # own max_inflight_messages). Wide, so that after an outage the whole backlog arrives
    # quickly and the writer can commit the abnormal arrivals in it first; the writer's
    # queue (below) bounds what is held in memory
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    # the writer's queue: at most this many arrivals, and about this many bytes (payload
    # plus ~1 KiB of bookkeeping each); full, it holds paho's thread back (never drops)
    queue_max_count: int = Field(default=70_000, ge=1)
    queue_max_bytes: int = Field(default=128 * 1024 * 1024, ge=1)
    shared_subscription_group: str = "ingest"
    # a stable client id per ingest process keeps its persistent session across restarts;
    # several processes sharing the load need distinct instance names
    instance: str = Field(default_factory=socket.gethostname)
    # the metrics endpoint; unset: 9102, except in prometheus_client's multiprocess mode
    # (PROMETHEUS_MULTIPROC_DIR set by a launcher that serves every process's metrics);
    # 0: none
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # the database connection is retried with this back-off while it is down
    retry_initial_seconds: float = Field(default=0.1, gt=0)
    retry_max_seconds: float = Field(default=5.0, gt=0)
    # a message delivered this many times without a commit (the writer died on it each
    # time) is quarantined as internal_error, receipted and acknowledged
    max_deliveries: int = Field(default=3, ge=1, le=100)

    @property
    def client_id(self) -> str:
        return f"pust-ingest-{self.instance}"[:64]
