"""The ingest service: subscribe, validate on arrival, hand over to the group-commit writer."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import Engine, func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from pust.config.settings import Settings
from pust.db.engine import session_scope
from pust.db.tables import InboxMessage
from pust.domain.clock import Clock
from pust.domain.device_protocol import (
    ErrorCode,
    ProtocolError,
    Rejection,
    ValidationResult,
    validate_message,
)
from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import INBOUND, Topics
from services.ingest.arrivals import Arrival
from services.ingest.group_commit import GroupCommitWriter
from services.ingest.metrics import IngestMetrics
from services.ingest.session_check import session_should_have_survived
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
            max_inflight=max(ingest.receive_maximum, 1000),
            on_connected=self._on_connected,
        )
        self._engine = engine
        self._session_expiry = timedelta(seconds=ingest.session_expiry_seconds)
        self._connects = 0
        self.writer = GroupCommitWriter(
            engine=engine,
            broker=self.mqtt,
            topics=self._topics,
            metrics=metrics,
            batch_max_size=ingest.batch_max_size,
            batch_max_wait_seconds=ingest.batch_max_wait_seconds,
            retry_initial_seconds=ingest.retry_initial_seconds,
            retry_max_seconds=ingest.retry_max_seconds,
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
        self._connects += 1
        if session_present:
            return
        try:
            with session_scope(self._engine) as session:
                last = session.exec(select(func.max(InboxMessage.received_at))).one()
        except SQLAlchemyError:
            last = None  # the database is away: say nothing rather than guess
        if session_should_have_survived(
            first_connect=self._connects == 1,
            last_committed_at=last,
            now=self._clock.now(),
            session_expiry=self._session_expiry,
        ):
            self._metrics.sessions_lost.inc()
            log.warning(
                "ingest.session_lost connects=%d: the broker did not keep our persistent "
                "session; messages it had queued for us are gone (tablets resend until they "
                "get a receipt)",
                self._connects,
            )

    def _on_message(self, message: ReceivedMessage) -> None:
        received_at = self._clock.now()
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
            channel = "unknown"
        else:
            channel = parsed.channel.value
            result = validate_message(
                device_id=parsed.device_id,
                channel=channel,
                payload=message.payload,
                received_at=received_at,
            )
        self._metrics.received.labels(channel).inc()
        self.writer.submit(Arrival(message, received_at, result))
