"""The outbox relay: delivers due outbox rows through their channel, with retries and
dead letters (see :mod:`pust.db.outbox`). Channel ``mqtt`` publishes to the broker (plans
retained, notices not); ``webhook`` and ``email`` notify staff."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as paho
from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.outbox import RetryPolicy, lease_due, mark_failed, mark_sent
from pust.domain.clock import Clock
from services.alerts.notifications import Channel, DeliveryError, PermanentDeliveryError

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo: ...


class MqttChannel:
    """Publishes with QoS 1 and waits for the broker's PUBACK before the row counts as sent."""

    name = "mqtt"

    def __init__(self, publisher: Publisher, *, timeout_seconds: float = 5.0) -> None:
        self._publisher = publisher
        self._timeout = timeout_seconds

    def send(
        self, *, destination: str, payload: dict[str, Any], delivery_id: str, retain: bool = False
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            info = self._publisher.publish(destination, body, qos=1, retain=retain)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise DeliveryError(f"mqtt: publish rc={info.rc}")
            info.wait_for_publish(timeout=self._timeout)
        except (RuntimeError, ValueError) as exc:  # paho: not connected / queue problems
            raise DeliveryError(f"mqtt: {type(exc).__name__}") from exc
        if not info.is_published():
            raise DeliveryError("mqtt: no PUBACK in time")


@dataclass(frozen=True, slots=True)
class _Leased:
    id: int
    channel: str
    destination: str
    payload: dict[str, Any]
    retain: bool


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        channels: Mapping[str, Channel],
        policy: RetryPolicy,
        batch_size: int = 50,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._channels = dict(channels)
        self._policy = policy
        self._batch_size = batch_size

    def run_once(self) -> int:
        """Deliver one batch of due messages; returns how many were attempted."""
        if not self._channels:
            return 0
        with session_scope(self._engine) as session:
            rows = lease_due(
                session,
                channels=sorted(self._channels),
                now=self._clock.now(),
                limit=self._batch_size,
                policy=self._policy,
            )
            leased = [
                _Leased(row.id, row.channel, row.destination, row.payload, row.retain)
                for row in rows
                if row.id is not None
            ]
        for item in leased:
            self._deliver(item)
        return len(leased)

    def _deliver(self, item: _Leased) -> None:
        channel = self._channels[item.channel]
        try:
            channel.send(
                destination=item.destination,
                payload=item.payload,
                delivery_id=f"outbox-{item.id}",
                retain=item.retain,
            )
        except DeliveryError as exc:
            with session_scope(self._engine) as session:
                status = mark_failed(
                    session,
                    message_id=item.id,
                    error=str(exc),
                    now=self._clock.now(),
                    policy=self._policy,
                    permanent=isinstance(exc, PermanentDeliveryError),
                )
            log.warning(
                "outbox.delivery_failed id=%d channel=%s status=%s error=%s",
                item.id,
                item.channel,
                status,
                exc,
            )
            return
        with session_scope(self._engine) as session:
            mark_sent(session, message_id=item.id, now=self._clock.now())
        log.debug("outbox.sent id=%d channel=%s", item.id, item.channel)
