"""The writer thread: group commit, then receipts, then acks, in arrival order.

Messages collect in a queue while the previous batch commits, so a batch is one message at
low load and grows under load (up to ``batch_max_size``). Nothing is acknowledged to the
broker and no receipt is sent before the batch's transaction committed.

Abnormal first (:mod:`services.ingest.arrival_queue`): an arrival that looks abnormal
(:mod:`services.ingest.triage_hint`) goes into the next batch ahead of the green ones
queued before it, so after an outage a red reading is committed, receipted and handed to
triage ahead of the backlog. Its ack still waits for its turn in arrival order
(:class:`~services.ingest.arrival_queue.AckLedger`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pust.domain.device_protocol import ErrorCode, ProtocolError, Rejection, ValidationResult
from pust.domain.severity import Severity
from pust.messaging.mqtt_client import ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from services.ingest.arrival_queue import AckLedger, ArrivalQueue, Queued
from services.ingest.arrivals import Arrival, BatchResult, Decision, Outcome
from services.ingest.batch_store import write_batch
from services.ingest.delivery_attempts import DeliveryKey, count_again, delivery_key, register
from services.ingest.metrics import IngestMetrics
from services.ingest.triage_hint import TriageHint

log = logging.getLogger(__name__)

_T = TypeVar("_T")

Validate = Callable[[ReceivedMessage, datetime], ValidationResult]

# the database refused the row (a value validation should have caught)
_STORE_REFUSED = ProtocolError(
    "", ErrorCode.SCHEMA_VIOLATION, "the message could not be stored as it is"
)
# anything else: our bug, not the tablet's; an operator looks at the quarantine
_STORE_FAILED = ProtocolError(
    "", ErrorCode.INTERNAL_ERROR, "the backend failed to store this message; it is quarantined"
)


# stands in for the validation of an arrival that will be dropped as stale, never written
_NOT_VALIDATED = Rejection("", "", None, datetime(2000, 1, 1, tzinfo=UTC), (_STORE_FAILED,))


def _gave_up(attempts: int) -> ProtocolError:
    return ProtocolError(
        "",
        ErrorCode.INTERNAL_ERROR,
        f"the backend failed on this message {attempts} times; it is quarantined",
    )


class BrokerLink(Protocol):
    """What the writer needs of the MQTT connection (a fake stands in for it in tests)."""

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> object: ...

    def ack(self, message: ReceivedMessage) -> bool: ...

    def is_current(self, message: ReceivedMessage) -> bool: ...


class GroupCommitWriter:
    def __init__(
        self,
        *,
        engine: Engine,
        broker: BrokerLink,
        topics: Topics,
        metrics: IngestMetrics,
        batch_max_size: int,
        batch_max_wait_seconds: float,
        retry_initial_seconds: float = 0.1,
        retry_max_seconds: float = 5.0,
        max_deliveries: int = 3,
        queue_limit: int = 2000,
        queue_max_bytes: int = 64 * 1024 * 1024,
        hint: TriageHint | None = None,
        validate: Validate | None = None,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._topics = topics
        self._metrics = metrics
        self._max_size = batch_max_size
        self._max_wait = batch_max_wait_seconds
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._max_deliveries = max_deliveries
        # bounded: a full queue holds paho's thread (and so the broker) back, never drops
        self._queue = ArrivalQueue(max_count=queue_limit, max_bytes=queue_max_bytes)
        self._ledger = AckLedger()
        self._hint = hint or TriageHint()
        self._validate = validate
        self._abandon = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._connection: Connection | None = None
        self.failure: BaseException | None = None

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what has arrived so far, then stop. Retries of an unreachable database
        are abandoned after ``timeout``: those messages stay unacknowledged, and the broker
        delivers them again after the restart."""
        self._queue.close()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandon.set()
            self._thread.join(self._retry_max + 5)

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, item: Queued) -> None:
        """Queue an arrival for the next batch, abnormal ones ahead; waits while the queue
        is full (paho's thread then reads no more, and the broker holds the rest). Called in
        arrival order (paho's thread): that order is the order of the acks.

        An :class:`Unvalidated` arrival is validated by the writer when it takes it (needs
        ``validate``; the service queues them so while the writer is behind, see
        :attr:`backlogged`): during a drain paho's thread then reads the backlog several
        times faster, so an abnormal message deep in it is seen, and committed, sooner. Its
        hint comes from the raw payload."""
        try:
            if isinstance(item, Arrival):
                severity = self._hint.severity(item.result)
            else:
                assert self._validate is not None
                channel = item.message.topic.rsplit("/", 1)[-1]
                severity = self._hint.severity_of_payload(channel, item.message.payload)
        except Exception as exc:  # only an ordering hint: never a reason to lose a message
            log.warning("ingest.triage_hint_failed error=%s", type(exc).__name__)
            severity = Severity.GREEN
        self._enqueue(item, item.message, severity)

    @property
    def backlogged(self) -> bool:
        """More arrivals wait than one batch takes: the writer is behind (a drain), and
        arrivals are better queued :class:`Unvalidated`."""
        return len(self._queue) >= self._max_size

    def _enqueue(self, item: Queued, message: ReceivedMessage, severity: Severity) -> None:
        self._metrics.queue_depth.inc()
        self._ledger.arrived(message)
        while not self._queue.put(item, severity=severity, timeout=0.5):
            if self._thread.ident is not None and not self._thread.is_alive():
                # the writer has died: nothing will write or ack this one; the broker
                # delivers it again after the restart
                self._metrics.queue_depth.dec()
                return

    def _ready(self, item: Queued) -> Arrival:
        if isinstance(item, Arrival):
            return item
        assert self._validate is not None
        if not self._broker.is_current(item.message):
            # of an earlier connection: dropped unwritten in _process, so not worth validating
            return Arrival(item.message, item.received_at, _NOT_VALIDATED)
        result = self._validate(item.message, item.received_at)
        return Arrival(item.message, item.received_at, result)

    def _run(self) -> None:
        try:
            while True:
                taken, stop = self._queue.take(self._max_size, wait_seconds=self._max_wait)
                if taken:
                    # from here until "ingest.batch_done" the batch is received, not acked
                    log.debug("ingest.batch_started")
                    self._metrics.queue_depth.dec(len(taken))
                    self._process([self._ready(item) for item in taken])
                if stop:
                    return
        except BaseException as exc:  # even SystemExit: the main loop sees it and stops
            self.failure = exc
            # the frames, not the text: an exception's message may quote a payload's values
            log.error("ingest.writer_failed error=%s at=%s", type(exc).__name__, _frames(exc))
        finally:
            if self._connection is not None:
                self._connection.close()

    def _process(self, batch: list[Arrival]) -> None:
        """Record the batch as in flight, then write it; a message that was in flight
        before (the writer died on it, or with it) is written on its own and counted.

        Arrivals of an earlier broker connection are dropped first, neither written nor
        acknowledged: their ack would mean nothing now, and the broker delivers each of them
        again on the new connection (writing the old copy too would only make the new one a
        duplicate)."""
        current = [arrival for arrival in batch if self._broker.is_current(arrival.message)]
        if len(current) < len(batch):
            self._metrics.stale_dropped.inc(len(batch) - len(current))
            log.info("ingest.stale_arrivals_dropped count=%d", len(batch) - len(current))
            kept = {id(arrival) for arrival in current}
            self._release([a for a in batch if id(a) not in kept])
            batch = current
            if not batch:
                log.debug("ingest.batch_done size=0")
                return
        keys = [delivery_key(arrival) for arrival in batch]
        now = max(arrival.received_at for arrival in batch)
        in_flight = self._in_transaction(lambda connection: register(connection, keys, now))
        if in_flight is None:
            return
        run: list[Arrival] = []
        settled: set[DeliveryKey] = set()
        for arrival, key in zip(batch, keys, strict=True):
            # a copy of a redelivered message that was settled above (the tablet re-sent
            # it) is a plain duplicate now: no reason to write it alone
            if key not in in_flight or key in settled:
                run.append(arrival)
                continue
            if run and not self._commit_and_confirm(run):
                return
            run = []
            if not self._redelivered(arrival, key):
                return
            settled.add(key)
        if run:
            self._commit_and_confirm(run)
        log.debug("ingest.batch_done size=%d", len(batch))

    def _redelivered(self, arrival: Arrival, key: DeliveryKey) -> bool:
        now = arrival.received_at
        attempts = self._in_transaction(lambda connection: count_again(connection, key, now))
        if attempts is None:
            return False
        if attempts > self._max_deliveries:
            self._metrics.internal_errors.labels("redelivered").inc()
            log.error(
                "ingest.gave_up_on_message device_id=%s message_id=%s attempts=%d",
                key[0][:64],
                key[1][:71],
                attempts - 1,
            )
            arrival = _as_rejection(arrival, _gave_up(attempts - 1))
        return self._commit_and_confirm([arrival])

    def _commit_and_confirm(self, batch: list[Arrival]) -> bool:
        started = time.perf_counter()
        result = self._write_isolating_failures(batch)
        if result is None:  # abandoned while the database was down: no receipts, no acks
            return False
        committed = time.monotonic()
        self._metrics.commit_seconds.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(len(batch))
        for arrival in batch:
            self._metrics.lag_seconds.observe(committed - arrival.message.received_monotonic)
        self._after_commit(batch, result)
        return True

    def _after_commit(self, batch: Sequence[Arrival], result: BatchResult) -> None:
        """Receipts, the hint to the alerts service, acks. The batch is committed: a failure
        to publish one receipt must not keep the others, or the acks, from going out (the
        tablet re-sends what has no receipt, and gets ``duplicate``)."""
        for decision in result.decisions:
            self._count(decision)
            if decision.message_id is not None and decision.device_id:
                self._publishing("receipt", functools.partial(self._send_receipt, decision))
        if result.readings_written or result.responses_written:
            self._metrics.readings.inc(result.readings_written)
            hint = {"readings": result.readings_written, "responses": result.responses_written}
            self._publishing(
                "hint",
                lambda: self._broker.publish(
                    self._topics.readings_committed, json.dumps(hint).encode(), qos=1
                ),
            )
        self._release(batch)

    def _release(self, settled: Sequence[Arrival]) -> None:
        """``settled`` needs no more work; ack whatever that lets go, in arrival order (not
        an arrival of an earlier connection: it comes again on this one)."""
        for message in self._ledger.settle(arrival.message for arrival in settled):
            if self._broker.is_current(message):
                self._publishing("ack", functools.partial(self._broker.ack, message))

    def _send_receipt(self, decision: Decision) -> None:
        topic = self._topics.device(decision.device_id, DeviceChannel.RECEIPTS)
        self._broker.publish(topic, decision.receipt_payload(), qos=1)

    def _publishing(self, what: str, send: Callable[[], object]) -> None:
        try:
            send()
        except Exception as exc:
            self._metrics.publish_failures.labels(what).inc()
            log.error("ingest.publish_failed what=%s error=%s", what, type(exc).__name__)

    def _count(self, decision: Decision) -> None:
        self._metrics.outcomes.labels(decision.outcome.value).inc()
        if decision.outcome is Outcome.REJECTED:
            codes = sorted({error.code.value for error in decision.errors})
            for code in codes:
                self._metrics.rejections.labels(code).inc()
            log.info(
                "ingest.rejected device_id=%s message_id=%s codes=%s",
                decision.device_id[:64],
                decision.message_id,
                ",".join(codes),
            )

    # writing ---------------------------------------------------------------------------

    def _write_isolating_failures(self, batch: list[Arrival]) -> BatchResult | None:
        """Write the batch; a message that fails to write (the database refuses it, or any
        other exception: a bug, never bad input, which validation catches) is found by
        halving and quarantined, so it blocks nothing."""
        try:
            return self._write_retrying(batch)
        except Exception as exc:
            if len(batch) == 1:
                return self._quarantine_refused(batch[0], exc)
        middle = len(batch) // 2
        first = self._write_isolating_failures(batch[:middle])
        second = self._write_isolating_failures(batch[middle:])
        if first is None or second is None:
            return None
        return BatchResult(
            first.decisions + second.decisions,
            first.readings_written + second.readings_written,
            first.responses_written + second.responses_written,
        )

    def _write_retrying(self, batch: list[Arrival]) -> BatchResult | None:
        return self._in_transaction(lambda connection: write_batch(connection, batch))

    def _in_transaction(self, work: Callable[[Connection], _T]) -> _T | None:
        """``work`` in a transaction of its own, retried while the database is unreachable;
        None when abandoned at stop."""
        delay = self._retry_initial
        while True:
            try:
                connection = self._open()
                with connection.begin():
                    return work(connection)
            except DBAPIError as exc:
                self._discard_connection()
                if not _is_transient(exc):
                    raise
                self._metrics.database_retries.inc()
                log.warning(
                    "ingest.database_unavailable error=%s retry_in=%.1fs",
                    type(exc.orig).__name__,
                    delay,
                )
            except BaseException:
                # whatever failed, and wherever (even in the commit), the database session
                # may still hold the transaction: never reuse it for the next one
                self._discard_connection()
                raise
            if self._abandon.wait(delay):
                return None
            delay = min(delay * 2, self._retry_max)

    def _quarantine_refused(self, arrival: Arrival, exc: Exception) -> BatchResult | None:
        original = getattr(exc, "orig", None)
        refused_by_database = isinstance(exc, SQLAlchemyError)
        # the frames, not the text: an exception's message may quote a payload's values
        log.error(
            "ingest.message_failed_to_store device_id=%s message_id=%s error=%s at=%s",
            arrival.result.device_id[:64],
            str(getattr(arrival.result, "message_id", None))[:64],
            type(original or exc).__name__,
            _frames(exc),
        )
        if not refused_by_database:
            self._metrics.internal_errors.labels("write").inc()
        reason = _STORE_REFUSED if refused_by_database else _STORE_FAILED
        return self._write_retrying([_as_rejection(arrival, reason)])

    def _open(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            self._discard_connection()
            self._connection = self._engine.connect()
        return self._connection

    def _discard_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()  # closes the DBAPI connection: rolled back
                self._connection.close()
            self._connection = None


def _as_rejection(arrival: Arrival, reason: ProtocolError) -> Arrival:
    rejection = Rejection(
        arrival.result.device_id,
        arrival.message.topic.rsplit("/", 1)[-1],
        getattr(arrival.result, "message_id", None),
        arrival.received_at,
        (reason,),
    )
    return Arrival(arrival.message, arrival.received_at, rejection)


def _frames(exc: BaseException) -> str:
    return " < ".join(
        f"{frame.name}:{frame.lineno}"
        for frame in reversed(traceback.extract_tb(exc.__traceback__))
    )


def _is_transient(exc: DBAPIError) -> bool:
    """The database or the connection to it is down; the batch itself is fine."""
    if exc.connection_invalidated:
        return True
    if getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}:  # serialization, deadlock
        return True
    if type(exc.orig).__name__ not in {"OperationalError", "InterfaceError"}:
        return False
    # SQLite reports its own bugs as OperationalError too; "database is locked" is transient
    text = str(exc.orig).lower()
    return not any(marker in text for marker in ("no such", "syntax error", "has no column"))
