"""Raising alerts for a whole triage batch: the set-based form of
:func:`pust.db.alert_raising.raise_or_repeat` and :func:`pust.db.alert_repository.auto_resolve`.

The decisions are still the one alert aggregate's (:mod:`pust.domain.alert_aggregate`), taken
in the batch's order, one breach or auto-resolution after the other, on states held in memory;
only the reading and writing is per batch:

- one query locks the open alerts of every (citizen, concern) the batch touches, in
  ``open_key`` order (two workers lock in the same order);
- one query finds, for the pairs with a breach and no open alert, the most recently resolved
  alert (locked as well on PostgreSQL; SQLite transactions are serialised anyway);
- the new alerts are one multi-row ``INSERT … ON CONFLICT (open_key) DO NOTHING``; the
  changed ones one ``UPDATE … FROM unnest(…)`` on PostgreSQL (an executemany on SQLite);
  their events one multi-row ``INSERT``.

A new alert that collides with one another worker opened meanwhile (the unique ``open_key``)
is not inserted: every breach of that pair is taken again, as repeats of the alert now open
(the row-at-a-time path did the same with a savepoint per insert). The caller owns the
transaction; nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from sqlalchemy import Row, TextClause, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from pust.db.alert_rows import routing_policies, routing_policy
from pust.db.alert_state_rows import column_values, new_row_values, state_of
from pust.db.lean import among
from pust.db.tables.alerts import Alert, AlertEvent
from pust.domain import alert_aggregate
from pust.domain.alert_aggregate import AlertState, Breach, LifecycleEvent, Transition
from pust.domain.alert_lifecycle import EventKind, open_key
from pust.domain.severity import AlertStatus

__all__ = ["AutoResolve", "BatchChange", "Step", "insert_events", "raise_batch"]

Pair = tuple[uuid.UUID, str]  # (citizen, concern)


@dataclass(frozen=True, slots=True)
class AutoResolve:
    """A normal value for a concern: the open alert (if any) is resolved by the system."""

    citizen_id: uuid.UUID
    concern: str
    observed_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Step = Breach | AutoResolve


@dataclass(frozen=True, slots=True)
class BatchChange:
    """What one breach did to its alert (``event`` None: nothing changed)."""

    breach: Breach
    state: AlertState
    event: EventKind | None


_TABLE = Alert.__table__  # type: ignore[attr-defined]
_EVENTS = AlertEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [column for column in _TABLE.columns]


def _pair(step: Step) -> Pair:
    return (step.citizen_id, step.concern)


@dataclass
class _Slot:
    """One (citizen, concern) while the batch is decided: its latest alert (the open one,
    else the most recently resolved) and what became of the rows it touched."""

    latest: AlertState | None
    stored: set[uuid.UUID]  # ids of rows that exist in the database
    states: dict[uuid.UUID, AlertState] = field(default_factory=dict)  # rows to write
    events: list[tuple[uuid.UUID, LifecycleEvent]] = field(default_factory=list)
    changes: list[tuple[int, BatchChange]] = field(default_factory=list)

    def apply(self, position: int, step: Step, transition: Transition) -> None:
        state = transition.state
        if transition.events or state != self.latest:
            self.states[state.id] = state
        self.events.extend((state.id, event) for event in transition.events)
        self.latest = state
        if isinstance(step, Breach):
            self.changes.append((position, BatchChange(step, state, transition.event)))


def raise_batch(session: Session, steps: Sequence[Step], *, now: datetime) -> list[BatchChange]:
    """Apply the batch's breaches and auto-resolutions in their order; returns, in order,
    what each breach did to its alert. Idempotent per reading/response as each single step
    is: the same breach seen twice changes nothing."""
    by_pair: dict[Pair, list[tuple[int, Step]]] = {}
    for position, step in enumerate(steps):
        by_pair.setdefault(_pair(step), []).append((position, step))
    if not by_pair:
        return []
    # every care team's routing policy in one query (remembered for the transaction)
    routing_policies(session, {step.care_team_id for step in steps if isinstance(step, Breach)})
    done: dict[Pair, _Slot] = {}
    pending = sorted(by_pair)
    for _ in range(3):
        latest = _latest(session, pending, {p for p in pending if _has_breach(by_pair[p])})
        slots = {pair: _decide(session, latest.get(pair), by_pair[pair], now) for pair in pending}
        collided = _insert_new(session, slots)
        done.update((pair, slot) for pair, slot in slots.items() if pair not in collided)
        if not collided:
            break
        pending = sorted(collided)  # another worker opened these meanwhile: again, as repeats
    else:
        raise RuntimeError("could not open or update the alerts after concurrent inserts")
    _update_stored(session, [s for slot in done.values() for s in _stored_states(slot)])
    insert_events(session, [e for slot in done.values() for e in slot.events])
    changes = sorted((c for slot in done.values() for c in slot.changes), key=lambda c: c[0])
    return [change for _position, change in changes]


def _has_breach(steps: Iterable[tuple[int, Step]]) -> bool:
    return any(isinstance(step, Breach) for _position, step in steps)


def _decide(
    session: Session, latest: AlertState | None, steps: list[tuple[int, Step]], now: datetime
) -> _Slot:
    slot = _Slot(latest=latest, stored={latest.id} if latest is not None else set())
    for position, step in steps:
        if isinstance(step, AutoResolve):
            current = slot.latest
            if current is None or current.is_resolved:
                continue  # nothing open to resolve
            transition = alert_aggregate.auto_resolve(
                current, now=now, observed_at=step.observed_at, detail=step.detail
            )
            if transition.events:
                slot.apply(position, step, transition)
            continue
        team = slot.latest.care_team_id if slot.latest is not None else step.care_team_id
        policy = routing_policy(session, team)
        slot.apply(
            position,
            step,
            alert_aggregate.raise_or_repeat(slot.latest, step, now=now, policy=policy),
        )
    return slot


def _stored_states(slot: _Slot) -> list[AlertState]:
    return [state for alert_id, state in slot.states.items() if alert_id in slot.stored]


def _new_states(slot: _Slot) -> list[AlertState]:
    return [state for alert_id, state in slot.states.items() if alert_id not in slot.stored]


# reading ---------------------------------------------------------------------------------


def _latest(
    session: Session, pairs: list[Pair], wanting_resolved: set[Pair]
) -> dict[Pair, AlertState]:
    """The open alert of each pair (locked, in ``open_key`` order) and, for the pairs of
    ``wanting_resolved`` without one, the most recently resolved alert."""
    found: dict[Pair, AlertState] = {}
    keys = sorted(open_key(citizen_id, concern) for citizen_id, concern in pairs)
    for start in range(0, len(keys), 500):
        rows = session.execute(
            select(*_COLUMNS)
            .where(among(session, _TABLE.c.open_key, keys[start : start + 500]))
            .order_by(_TABLE.c.open_key)
            .with_for_update()
        ).all()
        for row in rows:
            state = _state(row)
            found[(state.citizen_id, state.concern)] = state
    missing = sorted(pair for pair in wanting_resolved if pair not in found)
    for start in range(0, len(missing), 500):
        for row in _last_resolved(session, missing[start : start + 500]):
            state = _state(row)
            found.setdefault((state.citizen_id, state.concern), state)  # ties: the first
    return found


def _last_resolved(session: Session, pairs: list[Pair]) -> Sequence[Row[Any]]:
    """The most recently resolved alert of each pair (ties: any of them), locked on
    PostgreSQL."""
    other = _TABLE.alias("other")
    newest = (
        select(func.max(other.c.resolved_at))
        .where(
            other.c.citizen_id == _TABLE.c.citizen_id,
            other.c.concern == _TABLE.c.concern,
            other.c.status == AlertStatus.RESOLVED.value,
        )
        .scalar_subquery()
    )
    return session.execute(
        select(*_COLUMNS)
        .where(
            tuple_(_TABLE.c.citizen_id, _TABLE.c.concern).in_(pairs),
            _TABLE.c.status == AlertStatus.RESOLVED.value,
            _TABLE.c.resolved_at == newest,
        )
        .order_by(_TABLE.c.id)
        .with_for_update()
    ).all()


class _Columns:
    """A Core row of the ``alert`` table read by column name, as an ``Alert`` is (a row's
    own attributes would not do: ``Row.count`` is the tuple's method)."""

    __slots__ = ("_mapping",)

    def __init__(self, row: Row[Any]) -> None:
        self._mapping = row._mapping

    def __getattr__(self, name: str) -> Any:
        return self._mapping[name]


def _state(row: Row[Any]) -> AlertState:
    return state_of(cast(Alert, _Columns(row)))


# writing ---------------------------------------------------------------------------------


def _insert_new(session: Session, slots: dict[Pair, _Slot]) -> set[Pair]:
    """Insert every slot's new alerts in one statement; returns the pairs whose new alert
    collided with an open one of another worker (nothing of theirs is written)."""
    rows: list[dict[str, Any]] = []
    owner: dict[uuid.UUID, Pair] = {}
    for pair, slot in slots.items():
        for state in _new_states(slot):
            rows.append(new_row_values(state))
            owner[state.id] = pair
    if not rows:
        return set()
    inserted: set[uuid.UUID] = set()
    if session.get_bind().dialect.name == "postgresql":
        parameters = _arrays(rows, _INSERT_TYPES)
        inserted.update(session.execute(_INSERT_POSTGRESQL, parameters).scalars())
    else:
        for start in range(0, len(rows), 200):
            statement = (
                sqlite_insert(_TABLE)
                .values(rows[start : start + 200])
                .on_conflict_do_nothing(index_elements=["open_key"])
                .returning(_TABLE.c.id)
            )
            inserted.update(session.execute(statement).scalars())
    return {pair for alert_id, pair in owner.items() if alert_id not in inserted}


# PostgreSQL: every changed alert of the batch in one statement
_UPDATE_TYPES = {
    "severity": "text",
    "band_order": "integer",
    "status": "text",
    "open_key": "text",
    "count": "integer",
    "last_seen_at": "timestamptz",
    "last_value": "double precision",
    "last_reading_id": "bigint",
    "last_response_id": "bigint",
    "reasons": "jsonb",
    "limit_set_id": "uuid",
    "claimed_by": "uuid",
    "claimed_at": "timestamptz",
    "acknowledged_by": "uuid",
    "acknowledged_at": "timestamptz",
    "acknowledge_note": "text",
    "resolved_by": "uuid",
    "resolved_at": "timestamptz",
    "outcome": "text",
    "resolve_note": "text",
    "escalation_level": "integer",
    "next_escalation_at": "timestamptz",
    "lock_version": "integer",
    "updated_at": "timestamptz",
}
_UPDATE_POSTGRESQL = text(
    "UPDATE alert AS a SET "  # noqa: S608 (names from the constant above)
    + ", ".join(f'"{name}" = v."{name}"' for name in _UPDATE_TYPES)
    + " FROM unnest(CAST(:id AS uuid[]), "
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _UPDATE_TYPES.items())
    + ') AS v(id, "'
    + '", "'.join(_UPDATE_TYPES)
    + '") WHERE a.id = v.id'
)


_INSERT_TYPES = {
    "id": "uuid",
    "citizen_id": "uuid",
    "care_team_id": "uuid",
    "device_id": "text",
    "kind": "text",
    "rule_key": "text",
    "concern": "text",
    "first_seen_at": "timestamptz",
    "late": "boolean",
    "created_at": "timestamptz",
    **_UPDATE_TYPES,
}


def _unnest_insert(table: str, types: dict[str, str], suffix: str = "") -> TextClause:
    """``INSERT INTO table (…) SELECT * FROM unnest(:column::type[], …) suffix``: every row
    of a batch in one statement of constant text (one array parameter per column)."""
    return text(
        f'INSERT INTO {table} ("'  # noqa: S608 (names from the constants of this module)
        + '", "'.join(types)
        + '") SELECT * FROM unnest('
        + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in types.items())
        + ")"
        + suffix
    )


_INSERT_POSTGRESQL = _unnest_insert(
    "alert", _INSERT_TYPES, " ON CONFLICT (open_key) DO NOTHING RETURNING id"
)
_EVENT_TYPES = {
    "alert_id": "uuid",
    "at": "timestamptz",
    "actor_id": "uuid",
    "kind": "text",
    "detail": "jsonb",
}
_INSERT_EVENTS_POSTGRESQL = _unnest_insert("alert_event", _EVENT_TYPES)


def _arrays(rows: list[dict[str, Any]], types: dict[str, str]) -> dict[str, list[Any]]:
    """One array parameter per column (a constant statement text: psycopg and PostgreSQL
    parse and plan it once, however many rows)."""
    arrays: dict[str, list[Any]] = {}
    for name, kind in types.items():
        values = [row[name] for row in rows]
        arrays[name] = [Jsonb(value) for value in values] if kind == "jsonb" else values
    return arrays


def _update_stored(session: Session, states: list[AlertState]) -> None:
    if not states:
        return
    states = sorted(states, key=lambda state: state.id)
    rows = [column_values(state) for state in states]
    if session.get_bind().dialect.name == "postgresql":
        parameters = _arrays(rows, _UPDATE_TYPES) | {"id": [state.id for state in states]}
        session.execute(_UPDATE_POSTGRESQL, parameters)
        return
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _UPDATE_TYPES})
    )
    session.execute(
        statement,
        [
            {"b_id": state.id} | {f"b_{name}": value for name, value in row.items()}
            for state, row in zip(states, rows, strict=True)
        ],
    )


def insert_events(session: Session, events: Sequence[tuple[uuid.UUID, LifecycleEvent]]) -> None:
    """Alert events (a transition's, or a system event that is not one) in one statement."""
    rows = [
        {
            "alert_id": alert_id,
            "at": event.at,
            "actor_id": event.actor_id,
            "kind": event.kind.value,
            "detail": dict(event.detail),
        }
        for alert_id, event in events
    ]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_INSERT_EVENTS_POSTGRESQL, _arrays(rows, _EVENT_TYPES))
        return
    for start in range(0, len(rows), 500):
        session.execute(insert(_EVENTS).values(rows[start : start + 500]))
