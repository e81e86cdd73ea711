"""Remembering, in the database, which messages ingest began to write and never committed.

A message that makes the writer die (a bug nobody knows yet) stays unacknowledged in the
broker session and comes back after every restart. The row written here before each batch
(its own short transaction) survives the crash; when the message comes back, the row is
still there, so the message is written on its own (never again taking the rest of a batch
down with it) and counted; past the limit it is quarantined as ``internal_error``. The
batch's own transaction deletes the rows of what it committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, delete, update

from pust.db.tables import DeliveryAttempt
from pust.domain.device_protocol.fields import safe_text, storable
from services.ingest.arrivals import Arrival
from services.ingest.bulk_insert import execute_rows, insert_ignoring_conflicts, timestamp_text

ATTEMPT: Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
_KEY_LENGTH = 200

DeliveryKey = tuple[str, str]


def delivery_key(arrival: Arrival) -> DeliveryKey:
    """(device id, message id) of an arrival; a digest of topic and payload stands in for an
    id the message does not have (or one the database could not store)."""
    device_id = safe_text(arrival.result.device_id)[:_KEY_LENGTH]
    message_id = getattr(arrival.result, "message_id", None)
    if isinstance(message_id, str) and storable(message_id) and len(message_id) <= _KEY_LENGTH:
        return device_id, message_id
    digest = hashlib.sha256(arrival.message.topic.encode("utf-8", "backslashreplace"))
    digest.update(b"\x00" + arrival.message.payload)
    return device_id, "sha256:" + digest.hexdigest()


def register(
    connection: Connection, keys: Sequence[DeliveryKey], now: datetime
) -> set[DeliveryKey]:
    """Record the first attempt of each key; return the keys that had an attempt already
    (delivered before and never committed)."""
    unique = list(dict.fromkeys(keys))
    _without_waiting_for_the_disk(connection)
    at: object = timestamp_text(now) if connection.dialect.name == "postgresql" else now
    rows = [
        {
            "device_id": device_id,
            "message_id": message_id,
            "attempts": 1,
            "first_attempt_at": at,
            "last_attempt_at": at,
        }
        for device_id, message_id in unique
    ]
    inserted = insert_ignoring_conflicts(connection, ATTEMPT, rows, ("device_id", "message_id"))
    new = {(device_id, message_id) for device_id, message_id in inserted}
    return {key for key in unique if key not in new}


_COUNT_AGAIN = (
    update(ATTEMPT)
    .where(
        ATTEMPT.c.device_id == bindparam("b_device"),
        ATTEMPT.c.message_id == bindparam("b_message"),
    )
    .values(attempts=ATTEMPT.c.attempts + 1, last_attempt_at=bindparam("b_now"))
    .returning(ATTEMPT.c.attempts)
)


def count_again(connection: Connection, key: DeliveryKey, now: datetime) -> int:
    """One more attempt of a message that was delivered before; the attempts so far."""
    device_id, message_id = key
    _without_waiting_for_the_disk(connection)
    row = connection.execute(
        _COUNT_AGAIN, {"b_device": device_id, "b_message": message_id, "b_now": now}
    ).first()
    if row is None:  # another ingest process committed it meanwhile: a first attempt again
        register(connection, [key], now)
        return 1
    return int(row[0])


def _without_waiting_for_the_disk(connection: Connection) -> None:
    """A count lost in a crash of the database server itself costs one more attempt, never a
    message: this transaction need not wait for its WAL flush (the batch's commit, which is
    synchronous, flushes it anyway). What it guards against is ingest dying."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")


_FORGET_POSTGRESQL = (
    "DELETE FROM delivery_attempt d USING json_to_recordset(%s::json) AS k(d text, m text) "
    "WHERE d.device_id = k.d AND d.message_id = k.m"
)
_FORGET = delete(ATTEMPT).where(
    ATTEMPT.c.device_id == bindparam("b_device"), ATTEMPT.c.message_id == bindparam("b_message")
)


def forget(connection: Connection, keys: Iterable[DeliveryKey]) -> None:
    """In the transaction that commits these messages: they are no longer in flight."""
    unique = sorted(set(keys))
    if not unique:
        return
    if connection.dialect.name == "postgresql":
        execute_rows(connection, _FORGET_POSTGRESQL, [{"d": d, "m": m} for d, m in unique])
        return
    connection.execute(_FORGET, [{"b_device": d, "b_message": m} for d, m in unique])
