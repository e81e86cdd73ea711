"""Raising alerts: open one for a breach, or repeat/re-open/merge into the one for the same
citizen and concern (the rules that agree on a reading share one alert). The decision is
:func:`pust.domain.alert_aggregate.raise_or_repeat`'s; this module finds the alert it is
about and writes the result. The caller owns the transaction.

One open alert per citizen and concern is a database fact (``Alert.open_key`` is unique); a race
between two triage workers inserting the same alert is resolved by retrying as a repeat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.alert_rows import find_open, forget_open, remember_open, routing_policy
from pust.db.alert_state_rows import event_row, new_row, save, state_of
from pust.db.tables.alerts import Alert
from pust.domain import alert_aggregate
from pust.domain.alert_aggregate import Breach
from pust.domain.alert_lifecycle import EventKind
from pust.domain.severity import AlertStatus

__all__ = ["AlertChange", "Breach", "raise_or_repeat"]


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: Alert
    event: EventKind | None  # None: nothing changed (the same reading seen again)


def _last_resolved(session: Session, citizen_id: uuid.UUID, concern: str) -> Alert | None:
    statement = (
        select(Alert)
        .where(Alert.citizen_id == citizen_id, Alert.concern == concern)
        .where(Alert.status == AlertStatus.RESOLVED.value)
        .order_by(col(Alert.resolved_at).desc())
        .limit(1)
        .with_for_update()
    )
    return session.exec(statement).first()


def raise_or_repeat(session: Session, *, breach: Breach, now: datetime) -> AlertChange:
    """Open an alert for the breach, or update the open one for the same citizen and
    concern.

    Idempotent per reading/response: the same breach seen twice changes nothing."""
    for _ in range(3):
        row = find_open(session, breach.citizen_id, breach.concern)
        if row is None:
            row = _last_resolved(session, breach.citizen_id, breach.concern)
        policy = routing_policy(session, row.care_team_id if row else breach.care_team_id)
        transition = alert_aggregate.raise_or_repeat(
            state_of(row) if row is not None else None, breach, now=now, policy=policy
        )
        if row is not None and transition.state.id == row.id:
            save(session, row, transition)
            remember_open(session, row)  # a re-opened one is the open one now
            return AlertChange(row, transition.event)
        alert = new_row(transition.state)
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:
            # another worker opened it first: this breach is a repeat of that alert
            if alert in session:
                session.expunge(alert)
            forget_open(session, breach.citizen_id, breach.concern)
            continue
        remember_open(session, alert)
        for event in transition.events:
            session.add(event_row(alert, event))
        return AlertChange(alert, transition.event)
    raise RuntimeError("could not open or update the alert after concurrent inserts")
