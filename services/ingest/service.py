"""The ingest service: subscribe, validate on arrival, hand over to the group-commit writer."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.domain.clock import Clock
from pust.domain.device_protocol import (
    ErrorCode,
    ProtocolError,
    Rejection,
    ValidationResult,
    validate_message,
)
from pust.domain.device_protocol.validator import recover_message_id
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import INBOUND, Topics
from services.ingest.arrival_queue import Unvalidated
from services.ingest.arrivals import Arrival
from services.ingest.broker_session import record_connection, session_expected
from services.ingest.group_commit import GroupCommitWriter
from services.ingest.metrics import IngestMetrics
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)


def subscription_filters(topics: Topics, *, shared: bool, group: str) -> list[tuple[str, int]]:
    """One filter per inbound channel; shared (``$share/<group>/…``) where the broker can."""
    filters = [topics.inbound_filter(channel) for channel in INBOUND]
    if shared:
        filters = [topics.shared(group, topic_filter) for topic_filter in filters]
    return [(topic_filter, 1) for topic_filter in filters]


class IngestService:
    def __init__(
        self,
        *,
        settings: Settings,
        ingest: IngestSettings,
        engine: Engine,
        metrics: IngestMetrics,
        clock: Clock,
    ) -> None:
        self._topics = Topics(settings.topic_root)
        self._clock = clock
        self._metrics = metrics
        self._engine = engine
        self._client_id = ingest.client_id
        self._session_expiry = ingest.session_expiry_seconds
        self._connected_before = False
        address = BrokerAddress.parse(
            settings.effective_mqtt_url,
            username=settings.service_mqtt_login(ingest.client_id),
            password=settings.service_mqtt_password.get_secret_value(),
        )
        self.mqtt = MqttConnection(
            address=address,
            client_id=ingest.client_id,
            subscriptions=subscription_filters(
                self._topics,
                shared=address.supports_shared_subscriptions,
                group=ingest.shared_subscription_group,
            ),
            on_message=self._on_message,
            persistent_session=True,
            session_expiry_seconds=ingest.session_expiry_seconds,
            manual_ack=True,
            receive_maximum=ingest.receive_maximum,
            # our own QoS 1 publishes (receipts) in flight; paho does not read the broker's
            # Receive Maximum, so deploy/mosquitto/mosquitto.conf allows as many (during a
            # drain the broker's PUBACKs wait behind the backlog in the socket: a narrow
            # window would hold every receipt and hint back until the backlog is read)
            max_inflight=max(ingest.receive_maximum, 1000),
            on_connected=self._on_connected,
        )
        self.writer = GroupCommitWriter(
            engine=engine,
            broker=self.mqtt,
            topics=self._topics,
            metrics=metrics,
            batch_max_size=ingest.batch_max_size,
            batch_max_wait_seconds=ingest.batch_max_wait_seconds,
            retry_initial_seconds=ingest.retry_initial_seconds,
            retry_max_seconds=ingest.retry_max_seconds,
            max_deliveries=ingest.max_deliveries,
            validate=self._validate,
            queue_limit=ingest.queue_max_count,
            queue_max_bytes=ingest.queue_max_bytes,
        )

    def start(self, *, wait_seconds: float | None = None) -> None:
        self.writer.start()
        self.mqtt.start(wait_seconds=wait_seconds)

    def stop(self) -> None:
        """Commit, receipt and ack what has arrived, then leave the broker (the persistent
        session keeps collecting messages until the next start)."""
        self.writer.stop()
        self.mqtt.stop()

    def _on_connected(self, session_present: bool) -> None:
        try:
            self._check_session(session_present)
        except Exception as exc:  # a missed warning must never keep ingest from connecting
            log.warning("ingest.session_check_failed error=%s", type(exc).__name__)

    def _check_session(self, session_present: bool) -> None:
        now = self._clock.now()
        expected = self._connected_before or session_expected(self._engine, self._client_id, now)
        self._connected_before = True
        if expected and not session_present and self._session_expiry:
            self._metrics.sessions_lost.inc()
            log.warning(
                "ingest.session_lost client_id=%s: the broker kept no session for us; messages "
                "queued while ingest was away are gone (tablets re-send what has no receipt)",
                self._client_id,
            )
        record_connection(self._engine, self._client_id, now, self._session_expiry)

    def _on_message(self, message: ReceivedMessage) -> None:
        received_at = self._clock.now()
        if self.writer.backlogged:
            # a drain: the writer validates (see GroupCommitWriter.submit)
            self._metrics.received.labels(_channel_of(message.topic)).inc()
            self.writer.submit(Unvalidated(message, received_at))
            return
        result = self._validate(message, received_at)
        self._metrics.received.labels(_channel_of(message.topic)).inc()
        self.writer.submit(Arrival(message, received_at, result))

    def _validate(self, message: ReceivedMessage, received_at: datetime) -> ValidationResult:
        parsed = self._topics.parse_device_topic(message.topic)
        if parsed is None:
            # only reachable if the subscription and the topic layout disagree
            result: ValidationResult = Rejection(
                "",
                "",
                None,
                received_at,
                (ProtocolError("topic", ErrorCode.SCHEMA_VIOLATION, "not a device topic"),),
            )
        else:
            channel = parsed.channel.value
            try:
                result = validate_message(
                    device_id=parsed.device_id,
                    channel=channel,
                    payload=message.payload,
                    received_at=received_at,
                )
            except Exception as exc:  # the validator never raises; if it does: quarantine
                log.error(
                    "ingest.validation_failed device_id=%s error=%s",
                    parsed.device_id[:64],
                    type(exc).__name__,
                )
                self._metrics.internal_errors.labels("validate").inc()
                result = Rejection(
                    parsed.device_id,
                    channel,
                    recover_message_id(message.payload),
                    received_at,
                    (
                        ProtocolError(
                            "", ErrorCode.INTERNAL_ERROR, "the message could not be validated"
                        ),
                    ),
                )
        return result


def _channel_of(topic: str) -> str:
    channel = topic.rsplit("/", 1)[-1]
    return channel if channel in _CHANNELS else "unknown"


_CHANNELS = frozenset(channel.value for channel in INBOUND)
