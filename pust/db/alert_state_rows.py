"""The one mapping between the alert aggregate (:mod:`pust.domain.alert_aggregate`) and its
rows: an :class:`~pust.db.tables.alerts.Alert` (or a Core row read by column name) ⇄ an
``AlertState``, the column values of a new or changed alert (the ORM path of
:mod:`pust.db.alert_raising` and the batch path of :mod:`pust.db.alert_batch` alike), and a
transition's events → :class:`~pust.db.tables.alerts.AlertEvent` rows. No query is made
here."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from pust.db.tables.alerts import Alert, AlertEvent
from pust.domain.alert_aggregate import AlertState, LifecycleEvent, Transition
from pust.domain.alert_lifecycle import Outcome
from pust.domain.severity import AlertKind, AlertStatus, Severity


def state_of(row: Alert) -> AlertState:
    return AlertState(
        id=row.id,
        citizen_id=row.citizen_id,
        care_team_id=row.care_team_id,
        device_id=row.device_id,
        kind=AlertKind(row.kind),
        rule_key=row.rule_key,
        concern=row.concern,
        severity=Severity(row.severity),
        status=AlertStatus(row.status),
        count=row.count,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        last_value=row.last_value,
        last_reading_id=row.last_reading_id,
        last_response_id=row.last_response_id,
        reasons=tuple(row.reasons),
        limit_set_id=row.limit_set_id,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        acknowledge_note=row.acknowledge_note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        outcome=Outcome(row.outcome) if row.outcome is not None else None,
        resolve_note=row.resolve_note,
        escalation_level=row.escalation_level,
        next_escalation_at=row.next_escalation_at,
        lock_version=row.lock_version,
        updated_at=row.updated_at,
    )


def column_values(state: AlertState) -> dict[str, Any]:
    return {
        "severity": state.severity.value,
        "band_order": state.band_order,
        "status": state.status.value,
        "open_key": state.open_key,
        "count": state.count,
        "last_seen_at": state.last_seen_at,
        "last_value": state.last_value,
        "last_reading_id": state.last_reading_id,
        "last_response_id": state.last_response_id,
        "reasons": [dict(reason) for reason in state.reasons],
        "limit_set_id": state.limit_set_id,
        "claimed_by": state.claimed_by,
        "claimed_at": state.claimed_at,
        "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": state.acknowledged_at,
        "acknowledge_note": state.acknowledge_note,
        "resolved_by": state.resolved_by,
        "resolved_at": state.resolved_at,
        "outcome": state.outcome.value if state.outcome is not None else None,
        "resolve_note": state.resolve_note,
        "escalation_level": state.escalation_level,
        "next_escalation_at": state.next_escalation_at,
        "lock_version": state.lock_version,
        "updated_at": state.updated_at,
    }


def new_row_values(state: AlertState) -> dict[str, Any]:
    """Every column of the row of a new alert: the ones a state never changes, then
    :func:`column_values`."""
    return {
        "id": state.id,
        "citizen_id": state.citizen_id,
        "care_team_id": state.care_team_id,
        "device_id": state.device_id,
        "kind": state.kind.value,
        "rule_key": state.rule_key,
        "concern": state.concern,
        "first_seen_at": state.first_seen_at,
        "late": False,
        "created_at": state.updated_at,
        **column_values(state),
    }


def new_row(state: AlertState) -> Alert:
    return Alert(**new_row_values(state))


def write_state(row: Alert, state: AlertState) -> None:
    """Copy the state onto its row; only what differs is set (an unchanged repeat stays an
    unchanged row)."""
    if row.id != state.id:
        raise ValueError(f"state of alert {state.id} written to row {row.id}")
    for name, value in column_values(state).items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def event_row(row: Alert, event: LifecycleEvent) -> AlertEvent:
    return AlertEvent(
        alert_id=row.id,
        at=event.at,
        actor_id=event.actor_id,
        kind=event.kind.value,
        detail=dict(event.detail),
    )


def save(session: Session, row: Alert, transition: Transition) -> None:
    """Write a transition of a loaded (or just added) row: its new state and its events."""
    write_state(row, transition.state)
    for event in transition.events:
        session.add(event_row(row, event))
