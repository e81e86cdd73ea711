"""Shared helpers for writing alert rows: events, escalation scheduling, locking reads.

Used by :mod:`pust.db.alert_raising` (the system) and :mod:`pust.db.alert_repository`
(nurses' actions); not meant for callers outside ``pust.db``."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from pust.db.tables.alerts import Alert, AlertEvent
from pust.db.tables.care import CareTeamRouting
from pust.domain.alert_lifecycle import AlertSnapshot, EventKind, Outcome, open_key
from pust.domain.routing import (
    InvalidRoutingPolicyError,
    RoutingPolicy,
    default_routing_policy,
    first_escalation_at,
    ladder_key,
    parse_routing_policy,
)
from pust.domain.severity import AlertKind, AlertStatus, Severity


def snapshot(alert: Alert) -> AlertSnapshot:
    return AlertSnapshot(
        status=AlertStatus(alert.status),
        severity=Severity(alert.severity),
        claimed_by=alert.claimed_by,
        resolved_at=alert.resolved_at,
        outcome=alert.outcome,
    )


def routing_policy(session: Session, care_team_id: uuid.UUID) -> RoutingPolicy:
    """The care team's routing policy; the default when none (or an unreadable one) is
    stored — an alert must never fail to be written because routing is misconfigured."""
    cache: dict[uuid.UUID, RoutingPolicy] = session.info.setdefault("pust.routing_policies", {})
    cached = cache.get(care_team_id)
    if cached is not None:  # one read per team and transaction
        return cached
    row = session.get(CareTeamRouting, care_team_id)
    policy = default_routing_policy()
    if row is not None:
        with contextlib.suppress(InvalidRoutingPolicyError):
            policy = parse_routing_policy(row.policy)
    cache[care_team_id] = policy
    return policy


def write_event(
    session: Session,
    alert: Alert,
    kind: EventKind,
    *,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id, at=now, actor_id=actor_id, kind=kind.value, detail=detail or {}
        )
    )


def schedule_escalation(session: Session, alert: Alert, *, start: datetime) -> None:
    policy = routing_policy(session, alert.care_team_id)
    ladder = ladder_key(AlertKind(alert.kind), Severity(alert.severity))
    alert.escalation_level = 0
    alert.next_escalation_at = first_escalation_at(policy, ladder=ladder, opened_at=start)


def find_open(session: Session, citizen_id: uuid.UUID, rule_key: str) -> Alert | None:
    # pending changes first: ``populate_existing`` must not overwrite an unflushed repeat
    session.flush()
    statement = (
        select(Alert)
        .where(Alert.open_key == open_key(citizen_id, rule_key))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).first()


def touch(alert: Alert, now: datetime) -> None:
    alert.lock_version += 1
    alert.updated_at = now


def close_alert(
    alert: Alert, *, outcome: Outcome, actor_id: uuid.UUID | None, note: str | None, now: datetime
) -> None:
    alert.status = AlertStatus.RESOLVED.value
    alert.open_key = None
    alert.resolved_by = actor_id
    alert.resolved_at = now
    alert.outcome = outcome.value
    alert.resolve_note = note
    alert.next_escalation_at = None
    touch(alert, now)
