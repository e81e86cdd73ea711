"""Writing one batch in the caller's transaction: the fastest correct statements per database.

Idempotency is the unique constraints' job, never a read-then-write: the inbox row
(device_id, message_id) and the reading identity are inserted with ON CONFLICT DO NOTHING
(PostgreSQL and SQLite alike), and RETURNING says which rows are new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    func,
    or_,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import sqlite

from pust.db.tables import (
    InboxMessage,
    Peripheral,
    QuarantinedMessage,
    QuestionnaireResponse,
    Reading,
)
from pust.db.types import UTCDateTime
from pust.domain.device_protocol import (
    MeasurementSubmission,
    ProtocolError,
    QuestionnaireSubmission,
)
from pust.domain.device_protocol.fields import safe_text
from services.ingest.arrivals import Arrival, BatchResult, Decision, Outcome
from services.ingest.batch_plan import BatchPlan, PlannedMessage, device_ids_to_look_up, plan_batch
from services.ingest.bulk_insert import execute_rows, insert_ignoring_conflicts, timestamp_text
from services.ingest.delivery_attempts import delivery_key, forget
from services.ingest.device_directory import DEVICE, KnownDevice, load_devices
from services.ingest.internal_error_alert import raise_internal_error_alerts

INBOX: Table = InboxMessage.__table__  # type: ignore[attr-defined]
READING: Table = Reading.__table__  # type: ignore[attr-defined]
RESPONSE: Table = QuestionnaireResponse.__table__  # type: ignore[attr-defined]
PERIPHERAL: Table = Peripheral.__table__  # type: ignore[attr-defined]
QUARANTINE: Table = QuarantinedMessage.__table__  # type: ignore[attr-defined]

QUARANTINE_PAYLOAD_CAP = 16 * 1024


def write_batch(connection: Connection, arrivals: Sequence[Arrival]) -> BatchResult:
    """Write every arrival's rows; the caller commits. Decisions come back in arrival order."""
    batch = list(arrivals)
    devices = load_devices(connection, device_ids_to_look_up(batch))
    plan = plan_batch(batch, devices)
    new_keys = _insert_inbox(connection, plan.messages)
    fresh = [m for m in plan.messages if m.key in new_keys]
    readings_per_message = _insert_readings(connection, fresh)
    responses = _insert_responses(connection, fresh)
    _update_status(connection, fresh)
    _update_presence(connection, plan)
    _update_last_seen(connection, batch, devices)
    _quarantine(connection, batch, plan)
    forget(connection, (delivery_key(arrival) for arrival in batch))
    decisions = _decide(batch, plan, new_keys, readings_per_message, responses)
    return BatchResult(
        decisions=decisions,
        readings_written=sum(readings_per_message.values()),
        responses_written=len(responses),
    )


def _insert_inbox(connection: Connection, messages: list[PlannedMessage]) -> set[tuple[str, str]]:
    if not messages:
        return set()
    text = _texts(connection)
    rows = [
        {
            "device_id": m.submission.device_id,
            "message_id": m.submission.message_id,
            "kind": m.kind,
            "received_at": text(m.submission.received_at),
        }
        for m in messages
    ]
    inserted = insert_ignoring_conflicts(connection, INBOX, rows, ("device_id", "message_id"))
    return {(device_id, message_id) for device_id, message_id in inserted}


def _peripheral_ids(
    connection: Connection, measurements: list[MeasurementSubmission]
) -> dict[tuple[str, str], int]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    text = _texts(connection)
    for submission in measurements:
        received_at: Any = None
        for observation in submission.observations:
            peripheral = observation.peripheral
            if peripheral is None:
                continue
            if received_at is None:
                received_at = text(submission.received_at)
            rows[(submission.device_id, peripheral.system_id)] = {
                "device_id": submission.device_id,
                "system_id": peripheral.system_id,
                "model": peripheral.model,
                "serial": peripheral.serial,
                "first_seen_at": received_at,
                "last_seen_at": received_at,
            }
    if not rows:
        return {}
    # in key order, like every writer of these rows: two ingest processes never deadlock
    ordered = [rows[key] for key in sorted(rows)]
    if connection.dialect.name == "postgresql":
        return _peripheral_ids_postgresql(connection, ordered)
    insert = sqlite.insert(PERIPHERAL)
    statement = insert.on_conflict_do_update(
        index_elements=[PERIPHERAL.c.device_id, PERIPHERAL.c.system_id],
        set_={
            "last_seen_at": insert.excluded.last_seen_at,
            "model": func.coalesce(insert.excluded.model, PERIPHERAL.c.model),
            "serial": func.coalesce(insert.excluded.serial, PERIPHERAL.c.serial),
        },
    ).returning(PERIPHERAL.c.id, PERIPHERAL.c.device_id, PERIPHERAL.c.system_id)
    found: Iterable[tuple[Any, ...]] = connection.execute(statement, ordered)
    return {(device_id, system_id): pid for pid, device_id, system_id in found}


def _peripheral_ids_postgresql(
    connection: Connection, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], int]:
    """One statement: insert the peripherals not seen before, update the health of those
    whose row another ingest process is not updating at this moment, return every id.

    No row lock outlives the statement for long or makes another ingest process wait: an
    existing row is never touched by the insert (``ON CONFLICT DO UPDATE``, and even
    ``DO NOTHING`` on a row being updated, waits for the other transaction's commit, and
    with the reading's foreign key check that made two processes deadlock), and the health
    update skips a row another transaction has locked (it is writing the same tablet's
    peripheral, seen within the same moment; the next message sets it again)."""
    found = execute_rows(connection, _PERIPHERAL_UPSERT_POSTGRESQL, rows)
    ids = {(device_id, system_id): pid for pid, device_id, system_id in found}
    if len(ids) < len(rows):
        # inserted meanwhile by another ingest process (ON CONFLICT DO NOTHING waited for
        # it): committed now, so a new statement sees it
        missing = [row for row in rows if (row["device_id"], row["system_id"]) not in ids]
        for pid, device_id, system_id in execute_rows(
            connection, _PERIPHERAL_IDS_POSTGRESQL, missing
        ):
            ids[(device_id, system_id)] = pid
    return ids


_PERIPHERAL_KEYS = """
    json_to_recordset(%s::json) AS k(
        device_id text, system_id text, model text, serial text,
        first_seen_at timestamptz, last_seen_at timestamptz
    )
"""

_PERIPHERAL_UPSERT_POSTGRESQL = f"""
WITH k AS MATERIALIZED (SELECT * FROM {_PERIPHERAL_KEYS}),
known AS MATERIALIZED (
    SELECT p.id, p.device_id, p.system_id, k.model, k.serial, k.last_seen_at
    FROM peripheral p JOIN k ON p.device_id = k.device_id AND p.system_id = k.system_id
),
added AS (
    INSERT INTO peripheral (device_id, system_id, model, serial, first_seen_at, last_seen_at)
    SELECT k.device_id, k.system_id, k.model, k.serial, k.first_seen_at, k.last_seen_at
    FROM k
    WHERE NOT EXISTS (
        SELECT FROM known WHERE known.device_id = k.device_id AND known.system_id = k.system_id
    )
    ORDER BY k.device_id, k.system_id
    ON CONFLICT DO NOTHING
    RETURNING id, device_id, system_id
),
stale AS MATERIALIZED (
    SELECT p.id, known.model, known.serial, known.last_seen_at
    FROM peripheral p JOIN known ON p.id = known.id
    WHERE p.last_seen_at < known.last_seen_at
        OR p.model IS DISTINCT FROM coalesce(known.model, p.model)
        OR p.serial IS DISTINCT FROM coalesce(known.serial, p.serial)
    ORDER BY p.id
    FOR NO KEY UPDATE OF p SKIP LOCKED
),
refreshed AS (
    UPDATE peripheral SET
        last_seen_at = greatest(peripheral.last_seen_at, stale.last_seen_at),
        model = coalesce(stale.model, peripheral.model),
        serial = coalesce(stale.serial, peripheral.serial)
    FROM stale WHERE peripheral.id = stale.id
)
SELECT id, device_id, system_id FROM known
UNION ALL
SELECT id, device_id, system_id FROM added
"""  # noqa: S608 - fixed text, values travel as the parameter

_PERIPHERAL_IDS_POSTGRESQL = f"""
SELECT p.id, p.device_id, p.system_id
FROM peripheral p JOIN {_PERIPHERAL_KEYS} ON p.device_id = k.device_id AND p.system_id = k.system_id
"""  # noqa: S608 - fixed text


def _insert_readings(
    connection: Connection, messages: list[PlannedMessage]
) -> Counter[tuple[str, str]]:
    measurements = [
        (m.citizens, m.submission)
        for m in messages
        if isinstance(m.submission, MeasurementSubmission)
    ]
    written: Counter[tuple[str, str]] = Counter()
    if not measurements:
        return written
    peripherals = _peripheral_ids(connection, [submission for _, submission in measurements])
    text = _texts(connection)
    ident = str if connection.dialect.name == "postgresql" else _as_it_is
    rows = []
    for citizens, submission in measurements:
        sent_at = text(submission.sent_at)
        received_at = text(submission.received_at)
        for observation, citizen_id in zip(submission.observations, citizens, strict=True):
            peripheral = observation.peripheral
            rows.append(
                {
                    "citizen_id": ident(citizen_id),
                    "device_id": submission.device_id,
                    "message_id": submission.message_id,
                    "type": observation.type.value,
                    "value": observation.value,
                    "unit": observation.unit,
                    "original_value": observation.original_value,
                    "original_unit": observation.original_unit,
                    "measured_at": text(observation.measured_at),
                    "sent_at": sent_at,
                    "received_at": received_at,
                    "entry": observation.entry.value,
                    "peripheral_id": None
                    if peripheral is None
                    else peripherals[(submission.device_id, peripheral.system_id)],
                    "late": observation.late,
                    "valid": True,
                }
            )
    inserted = insert_ignoring_conflicts(connection, READING, rows, ("device_id", "message_id"))
    for device_id, message_id in inserted:
        written[(device_id, message_id)] += 1
    return written


def _insert_responses(
    connection: Connection, messages: list[PlannedMessage]
) -> set[tuple[str, str]]:
    text = _texts(connection)
    ident = str if connection.dialect.name == "postgresql" else _as_it_is
    rows = []
    for planned in messages:
        submission = planned.submission
        if not isinstance(submission, QuestionnaireSubmission):
            continue
        rows.append(
            {
                "citizen_id": ident(planned.citizens[0]),
                "device_id": submission.device_id,
                "message_id": submission.message_id,
                "questionnaire": submission.questionnaire,
                "answered_at": text(submission.answered_at),
                "sent_at": text(submission.sent_at),
                "received_at": text(submission.received_at),
                "answers": [answer.as_json() for answer in submission.answers],
                "late": submission.late,
                "valid": True,
            }
        )
    inserted = insert_ignoring_conflicts(connection, RESPONSE, rows, ("device_id", "message_id"))
    return {(device_id, message_id) for device_id, message_id in inserted}


_STATUS_UPDATE = (
    sql_update(DEVICE)
    .where(DEVICE.c.id == bindparam("b_id", type_=String))
    .values(
        battery_pct=func.coalesce(bindparam("b_battery", type_=Integer), DEVICE.c.battery_pct),
        app_version=func.coalesce(bindparam("b_version", type_=String), DEVICE.c.app_version),
        outbox_depth=func.coalesce(bindparam("b_depth", type_=Integer), DEVICE.c.outbox_depth),
        clock_synced=func.coalesce(bindparam("b_synced", type_=Boolean), DEVICE.c.clock_synced),
    )
)

_PRESENCE_UPDATE = (
    sql_update(DEVICE)
    .where(
        and_(
            DEVICE.c.id == bindparam("b_id", type_=String),
            or_(DEVICE.c.online.is_(None), DEVICE.c.online != bindparam("b_online", type_=Boolean)),
        )
    )
    .values(
        online=bindparam("b_online", type_=Boolean),
        presence_changed_at=bindparam("b_at", type_=UTCDateTime),
    )
)

# device health from every message the tablet sends: one row per device and batch
_LAST_SEEN_UPDATE = (
    sql_update(DEVICE)
    .where(
        and_(
            DEVICE.c.id == bindparam("b_id", type_=String),
            or_(
                DEVICE.c.last_seen_at.is_(None),
                DEVICE.c.last_seen_at < bindparam("b_seen", type_=UTCDateTime),
            ),
        )
    )
    .values(last_seen_at=bindparam("b_seen", type_=UTCDateTime))
)


def _update_status(connection: Connection, messages: list[PlannedMessage]) -> None:
    rows = []
    for planned in messages:
        status = planned.submission
        if planned.kind != "status" or isinstance(
            status, MeasurementSubmission | QuestionnaireSubmission
        ):
            continue
        rows.append(
            {
                "b_id": status.device_id,
                "b_battery": status.battery_pct,
                "b_version": status.app_version,
                "b_depth": status.outbox_depth,
                "b_synced": status.clock_synced,
            }
        )
    if rows:
        connection.execute(_STATUS_UPDATE, rows)


def _update_presence(connection: Connection, plan: BatchPlan) -> None:
    rows = [
        {"b_id": change.device_id, "b_online": change.online, "b_at": change.received_at}
        for change in plan.presence.values()
    ]
    if rows:
        connection.execute(_PRESENCE_UPDATE, rows)


def _update_last_seen(
    connection: Connection, arrivals: list[Arrival], devices: dict[str, KnownDevice]
) -> None:
    """``device.last_seen_at``: the latest arrival of each known device in the batch, be it a
    reading, an answer, a status, a presence or a duplicate (the tablet is alive)."""
    latest: dict[str, Any] = {}
    for arrival in arrivals:
        device_id = arrival.result.device_id
        known = devices.get(device_id)
        if known is None or not known.active:
            continue
        if device_id not in latest or latest[device_id] < arrival.received_at:
            latest[device_id] = arrival.received_at
    if not latest:
        return
    # in device id order, like every other writer of device rows: no deadlocks
    if connection.dialect.name == "postgresql":
        rows = [
            {"id": device_id, "seen": timestamp_text(seen)} for device_id, seen in latest.items()
        ]
        execute_rows(connection, _LAST_SEEN_UPDATE_POSTGRESQL, rows)
        return
    ordered = [{"b_id": device_id, "b_seen": seen} for device_id, seen in sorted(latest.items())]
    connection.execute(_LAST_SEEN_UPDATE, ordered)


# one statement for the whole batch: the rows are locked in device id order first (the
# locking clause re-checks the condition on a row another transaction has just changed).
# FOR NO KEY UPDATE, not FOR UPDATE: the latter conflicts with the KEY SHARE lock of another
# batch's foreign key checks (its inbox and reading rows name the same device), and two
# ingest processes on the shared subscription deadlocked on it (1 s each, then a retry).
# SKIP LOCKED: a device row another ingest process is updating right now is left to it; it
# saw the same tablet within the same moment, and the tablet's next message sets it again.
_LAST_SEEN_UPDATE_POSTGRESQL = """
WITH seen AS MATERIALIZED (
    SELECT d.id, k.seen
    FROM device d JOIN json_to_recordset(%s::json) AS k(id text, seen timestamptz) ON d.id = k.id
    WHERE d.last_seen_at IS NULL OR d.last_seen_at < k.seen
    ORDER BY d.id
    FOR NO KEY UPDATE OF d SKIP LOCKED
)
UPDATE device SET last_seen_at = seen.seen FROM seen WHERE device.id = seen.id
"""


def _texts(connection: Connection) -> Any:
    """How a timestamp goes into the rows: PostgreSQL's JSON parameter takes its text (made
    here, not in a call back from ``json.dumps`` per value); SQLite's insert the datetime."""
    return timestamp_text if connection.dialect.name == "postgresql" else _as_it_is


def _as_it_is(value: Any) -> Any:
    return value


def _quarantine(connection: Connection, arrivals: list[Arrival], plan: BatchPlan) -> None:
    rows = []
    for index, rejection in plan.rejections.items():
        payload = arrivals[index].message.payload
        rows.append(
            {
                "device_id": safe_text(rejection.device_id)[:200] or None,
                "topic": safe_text(arrivals[index].message.topic)[:500],
                "message_id": rejection.message_id,
                "payload": payload[:QUARANTINE_PAYLOAD_CAP],
                "payload_size": len(payload),
                "truncated": len(payload) > QUARANTINE_PAYLOAD_CAP,
                "errors": [error.as_json() for error in rejection.errors],
                "received_at": rejection.received_at,
            }
        )
    if rows:
        connection.execute(QUARANTINE.insert(), rows)
        raise_internal_error_alerts(connection, list(plan.rejections.values()))


def _decide(
    arrivals: list[Arrival],
    plan: BatchPlan,
    new_keys: set[tuple[str, str]],
    readings: Counter[tuple[str, str]],
    responses: set[tuple[str, str]],
) -> tuple[Decision, ...]:
    planned = {m.arrival_index: m for m in plan.messages}
    decisions = []
    for index, arrival in enumerate(arrivals):
        result = arrival.result
        message_id = getattr(result, "message_id", None)
        outcome = Outcome.DUPLICATE
        errors: tuple[ProtocolError, ...] = ()
        if index in plan.rejections:
            outcome, errors = Outcome.REJECTED, plan.rejections[index].errors
        elif index in plan.presence:
            outcome = Outcome.ACCEPTED
        elif index in planned and planned[index].key in new_keys:
            message = planned[index]
            if message.kind == "status" or readings[message.key] or message.key in responses:
                outcome = Outcome.ACCEPTED
        decisions.append(
            Decision(result.device_id, message_id, outcome, arrival.received_at, errors)
        )
    return tuple(decisions)
