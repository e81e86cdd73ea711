"""The outbox: work for the outside world, written in the same transaction as its cause.

A relay *leases* due rows (``available_at`` moves past the lease, ``attempts`` counts up) in
a short transaction, delivers them outside any transaction, and then marks each row sent or
failed. A relay that dies mid-delivery loses nothing: the lease runs out and another relay
(or the restarted one) delivers again — at least once; receivers de-duplicate by the
message id (``X-Pust-Delivery`` / the payload ids).

Leasing uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two replicas never lease the same
row; SQLite transactions begin IMMEDIATE and are serialised anyway.

A row that failed ``max_attempts`` times becomes ``dead``: an administrator sees it
(:func:`dead_letters`) and can put it back (:func:`requeue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.tables.messages import OutboxMessage

PENDING, SENT, DEAD = "pending", "sent", "dead"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    lease: timedelta = timedelta(seconds=60)

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the ``attempts``-th failure: base, 2·base, 4·base, …"""
        exponent = max(0, min(attempts - 1, 30))
        delay: timedelta = self.base * (2**exponent)
        return min(self.cap, delay)


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


def lease_due(
    session: Session,
    *,
    channels: Sequence[str],
    now: datetime,
    limit: int,
    policy: RetryPolicy,
) -> list[OutboxMessage]:
    """Take up to ``limit`` due pending rows for delivery: each gets ``attempts + 1`` and is
    invisible to other relays for ``policy.lease``. Commit before delivering."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING)
        .where(col(OutboxMessage.channel).in_(list(channels)))
        .where(OutboxMessage.available_at <= now)
        .order_by(col(OutboxMessage.available_at), col(OutboxMessage.id))
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
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return
    row.status = SENT
    row.sent_at = now
    row.last_error = None


def mark_failed(
    session: Session,
    *,
    message_id: int,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
) -> str:
    """Record a failed delivery: back to pending after the backoff, or dead after the last
    attempt (or at once when ``permanent``). Returns the new status. ``error`` must carry no
    health data."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return row.status if row is not None else DEAD
    row.last_error = error[:2000]
    if permanent or row.attempts >= policy.max_attempts:
        row.status = DEAD
    else:
        row.available_at = now + policy.delay(row.attempts)
    return row.status


def dead_letters(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Messages that could not be delivered, newest first (for administrators)."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == DEAD)
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    )
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
