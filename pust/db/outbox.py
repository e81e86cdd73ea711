"""The outbox: work for the outside world, written in the same transaction as its cause.

One module for every channel (``channel`` names the way out; each service's relay delivers
the channels it serves) and one retry policy:

- ``mqtt``: a publish to a tablet (its retained plan, a notice) — the alerts relay;
- ``webhook``, ``email``: staff notifications — the alerts relay;
- ``fhir``: a submission to the regional backend — the bridge (producers in
  :mod:`pust.fhir.outbox`);
- ``broker``: bring one tablet's broker client in line with the registry (Mosquitto's
  dynamic security: created, password set, enabled or disabled) — the alerts relay. The
  row names only the device; the consumer reads the device's current row, so rows may
  arrive in any order and any number of times (:func:`enqueue_broker_sync`).

A relay *leases* due rows (:func:`lease_due`: ``available_at`` moves past the lease,
``attempts`` counts up) in a short transaction, delivers them outside any transaction, and
then marks each row sent (:func:`mark_sent`) or failed (:func:`mark_failed`: back-off by
:class:`RetryPolicy`, or dead). A relay that dies mid-delivery loses nothing: the lease runs
out and another relay (or the restarted one) delivers again — at least once; receivers
de-duplicate by the message id (``X-Pust-Delivery``, the notice id, the PHD identifier).

Leasing uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two replicas never lease the same
row; SQLite transactions begin IMMEDIATE and are serialised anyway.

Statuses: ``pending`` (owed), ``sent``, ``dead`` (refused, or out of attempts: an
administrator sees it with :func:`dead_letters` and can put it back with :func:`requeue`),
and two terminal ones a producer writes directly (``merged``, ``skipped``: nothing to send).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.tables.messages import OutboxMessage
from pust.domain.notices import TabletNotice

# channels (``OutboxMessage.channel``, at most 16 characters)
MQTT, WEBHOOK, EMAIL, FHIR, BROKER = "mqtt", "webhook", "email", "fhir", "broker"

PENDING, SENT, DEAD = "pending", "sent", "dead"
MERGED, SKIPPED = "merged", "skipped"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a failed delivery is tried again; the same for every channel.

    After the n-th failure the row waits ``min(cap, base · 2^(n-1))``, shortened by up to
    ``jitter`` (a fraction) so that many rows failing together do not retry together. After
    ``max_attempts`` failures it is dead."""

    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    lease: timedelta = timedelta(seconds=60)
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter is a fraction in [0, 1)")

    def delay(self, attempts: int, *, draw: float = 0.0) -> timedelta:
        """Back-off after the ``attempts``-th failure; ``draw`` in [0, 1) picks the jitter."""
        exponent = max(0, min(attempts - 1, 30))
        delay: timedelta = min(self.cap, self.base * (2**exponent))
        return delay * (1.0 - self.jitter * draw)


# enqueueing -------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    channel: str,
    destination: str,
    payload: dict[str, Any],
    now: datetime,
    dedup_key: str | None = None,
    retain: bool = False,
    available_at: datetime | None = None,
) -> OutboxMessage | None:
    """Add a message; returns None when a message with the same ``dedup_key`` exists (an
    idempotent producer may enqueue the same thing twice)."""
    if dedup_key is not None:
        existing = session.exec(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
        ).first()
        if existing is not None:
            return None
    message = OutboxMessage(
        channel=channel,
        destination=destination,
        payload=payload,
        retain=retain,
        dedup_key=dedup_key,
        created_at=now,
        available_at=available_at or now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        if dedup_key is None:
            raise
        return None  # a concurrent producer enqueued it first
    return message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One row for :func:`enqueue_many`. ``status`` other than pending records that there is
    nothing to send (``merged``, ``skipped``), with ``note`` saying why."""

    channel: str
    destination: str
    payload: dict[str, Any]
    dedup_key: str
    status: str = PENDING
    note: str | None = None
    retain: bool = False


def enqueue_many(session: Session, messages: Sequence[Outgoing], *, now: datetime) -> int:
    """Insert many keyed messages in one statement; a key already present is left alone.
    Returns how many rows were inserted."""
    if not messages:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        {
            "channel": m.channel,
            "destination": m.destination,
            "payload": m.payload,
            "dedup_key": m.dedup_key,
            "status": m.status,
            "attempts": 0,
            "last_error": m.note,
            "retain": m.retain,
            "created_at": now,
            "available_at": now,
        }
        for m in messages
    ]
    statement = (
        insert(OutboxMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(col(OutboxMessage.id))
    )
    return len(session.execute(statement).all())


def enqueue_notice(
    session: Session, *, destination: str, notice: TabletNotice, now: datetime
) -> bool:
    """Queue a notice for a tablet (``destination``: its ``notices`` topic). The notice's
    event key makes it once-only: False when this event's notice is already queued."""
    queued = enqueue(
        session,
        channel=MQTT,
        destination=destination,
        payload=notice.payload(sent_at=now),
        now=now,
        dedup_key=notice.dedup_key,
    )
    return queued is not None


def enqueue_broker_sync(session: Session, *, device_id: str, now: datetime) -> None:
    """Queue "make the broker agree with this device's row" (enrol, pair, revoke, rotate)."""
    enqueue(
        session, channel=BROKER, destination=device_id, payload={"device_id": device_id}, now=now
    )


# delivering -------------------------------------------------------------------------------


def lease_due(
    session: Session,
    *,
    channels: Sequence[str],
    now: datetime,
    limit: int,
    policy: RetryPolicy,
    ids: Collection[int] | None = None,
) -> list[OutboxMessage]:
    """Take up to ``limit`` due pending rows for delivery, oldest due first: each gets
    ``attempts + 1`` and is invisible to other relays for ``policy.lease``. Commit before
    delivering. ``ids`` restricts the lease to those rows (a retry of chosen ones)."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING)
        .where(col(OutboxMessage.channel).in_(list(channels)))
        .where(OutboxMessage.available_at <= now)
    )
    if ids is not None:
        statement = statement.where(col(OutboxMessage.id).in_(list(ids)))
    # (channel, available_at) is the partial index of pending rows; rows another relay holds
    # are skipped rather than waited for
    statement = (
        statement.order_by(col(OutboxMessage.available_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(statement).all())
    for row in rows:
        row.attempts += 1
        row.available_at = now + policy.lease
    session.flush()
    return rows


def mark_sent(session: Session, *, message_id: int, now: datetime) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == PENDING)
        .values(status=SENT, sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_skipped(session: Session, *, message_id: int, now: datetime, note: str) -> None:
    """A leased message that turned out to have nothing to send (its cause was withdrawn:
    e.g. a reading invalidated before it went out). ``note`` carries no health data."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == PENDING)
        .values(status=SKIPPED, sent_at=now, last_error=note[:2000])
        .execution_options(synchronize_session=False)
    )


def mark_failed(
    session: Session,
    *,
    message_id: int,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
    draw: float = 0.0,
) -> str:
    """Record a failed delivery: back to pending after the back-off, or dead after the last
    attempt (or at once when ``permanent``). Returns the new status. ``error`` must carry no
    health data; ``draw`` in [0, 1) picks the back-off's jitter."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return row.status if row is not None else DEAD
    row.last_error = error[:2000]
    if permanent or row.attempts >= policy.max_attempts:
        row.status = DEAD
    else:
        row.available_at = now + policy.delay(row.attempts, draw=draw)
    return row.status


# administrators ---------------------------------------------------------------------------


def dead_letters(
    session: Session, *, limit: int = 100, channels: Sequence[str] | None = None
) -> list[OutboxMessage]:
    """Messages that could not be delivered, newest first (for administrators)."""
    statement = select(OutboxMessage).where(OutboxMessage.status == DEAD)
    if channels is not None:
        statement = statement.where(col(OutboxMessage.channel).in_(list(channels)))
    statement = statement.order_by(col(OutboxMessage.id).desc()).limit(limit)
    return list(session.exec(statement).all())


def requeue(session: Session, *, message_id: int, now: datetime) -> bool:
    """Give a dead message another round of attempts (an administrator fixed the cause)."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != DEAD:
        return False
    row.status = PENDING
    row.attempts = 0
    row.available_at = now
    return True
