"""Persisting alert transitions. Every function writes one :class:`AlertEvent` per transition.

The caller owns the transaction (``with session_scope(engine) as session``); nothing here
commits. Nurses' actions take ``expected_version`` (the ``lock_version`` the nurse's screen
showed): if someone else changed the alert meanwhile, :class:`StaleAlertError` is raised and
nothing is written. The row is locked (``FOR UPDATE`` on PostgreSQL; SQLite transactions
begin IMMEDIATE) so two concurrent acknowledgements are serialised and the second is stale.

Every decision is :mod:`pust.domain.alert_aggregate`'s; this module loads the row, maps it
to the aggregate's state and writes back the new state and its events
(:mod:`pust.db.alert_state_rows`). Raising alerts lives in :mod:`pust.db.alert_raising`; its
names are re-exported here so that callers find every alert transition in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from pust.db.alert_raising import AlertChange, Breach, raise_or_repeat
from pust.db.alert_rows import find_open, remember_open, routing_policy, write_event
from pust.db.alert_state_rows import save, state_of
from pust.db.tables.alerts import Alert
from pust.domain import alert_aggregate
from pust.domain.alert_aggregate import AlertState, Transition
from pust.domain.alert_lifecycle import AlertNotFoundError, EventKind, Outcome, StaleAlertError

__all__ = [
    "AlertChange",
    "Breach",
    "acknowledge_alert",
    "auto_resolve",
    "change_alert",
    "claim_alert",
    "raise_or_repeat",
    "record_event",
    "reopen_alert",
    "resolve_alert",
    "routing_policy",
]


def _load(session: Session, alert_id: uuid.UUID, expected_version: int | None) -> Alert:
    statement = (
        select(Alert)
        .where(Alert.id == alert_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    alert = session.exec(statement).first()
    if alert is None:
        raise AlertNotFoundError(alert_id)
    if expected_version is not None and alert.lock_version != expected_version:
        raise StaleAlertError(alert_id, expected_version, alert.lock_version)
    return alert


def change_alert(
    session: Session,
    alert_id: uuid.UUID,
    expected_version: int | None,
    action: Callable[[AlertState], Transition],
) -> Alert:
    """Load the alert locked, refuse a stale version, store what the aggregate decides."""
    alert = _load(session, alert_id, expected_version)
    save(session, alert, action(state_of(alert)))
    return alert


def claim_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    expected_version: int | None = None,
    take_over: bool = False,
) -> Alert:
    """A nurse takes an open alert ("I am on it"); see :func:`alert_aggregate.claim`."""
    return change_alert(
        session,
        alert_id,
        expected_version,
        lambda state: alert_aggregate.claim(state, actor_id=actor_id, now=now, take_over=take_over),
    )


def acknowledge_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    expected_version: int | None = None,
    note: str | None = None,
) -> Alert:
    """The nurse has reviewed the alert ("kvitteret"); escalation stops. A receipt to the
    citizen's tablet is the API's business (``services.api`` notices), in the same unit of
    work."""
    return change_alert(
        session,
        alert_id,
        expected_version,
        lambda state: alert_aggregate.acknowledge(state, actor_id=actor_id, now=now, note=note),
    )


def resolve_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    outcome: Outcome,
    expected_version: int | None = None,
    note: str | None = None,
) -> Alert:
    """Close the alert with an outcome (an open alert is acknowledged by the same act)."""
    return change_alert(
        session,
        alert_id,
        expected_version,
        lambda state: alert_aggregate.resolve(
            state, actor_id=actor_id, now=now, outcome=outcome, note=note
        ),
    )


def reopen_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    reason: str,
    expected_version: int | None = None,
) -> Alert:
    """A nurse re-opens a resolved alert (refused while another one for the same citizen and
    concern is open)."""
    alert = _load(session, alert_id, expected_version)
    other = find_open(session, alert.citizen_id, alert.concern)
    transition = alert_aggregate.reopen(
        state_of(alert),
        actor_id=actor_id,
        now=now,
        reason=reason,
        policy=routing_policy(session, alert.care_team_id),
        another_is_open=other is not None and other.id != alert.id,
    )
    save(session, alert, transition)
    remember_open(session, alert)
    return alert


def auto_resolve(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    rule_key: str,
    now: datetime,
    observed_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> Alert | None:
    """The system closes the not-resolved alert for this citizen and rule (readings back to
    normal, tablet heard from again); ``rule_key`` is the alert's concern when its rule
    shares the alert with others. None when there is none or nothing changed. With
    ``observed_at``, a normal value older than the alert's last breach resolves nothing."""
    alert = find_open(session, citizen_id, rule_key)
    if alert is None:
        return None
    transition = alert_aggregate.auto_resolve(
        state_of(alert), now=now, observed_at=observed_at, detail=detail
    )
    if not transition.events:
        return None
    save(session, alert, transition)
    return alert


def record_event(
    session: Session,
    alert: Alert,
    kind: EventKind,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """A system event on an alert that is not a state change (escalated, routed)."""
    write_event(session, alert, kind, now=now, detail=detail)
