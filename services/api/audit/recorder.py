"""Audit events are added to the request's own transaction: if the audit write fails, the
read or action fails with it (the endpoint commits both together)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from pust.db.tables import AuditEvent
from services.api.auth.principal import Principal


def record(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    action: str,
    resource_type: str,
    resource_id: str | None = None,
    citizen_id: uuid.UUID | None = None,
    care_team_id: uuid.UUID | None = None,
    outcome: str = "success",
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor_id=principal.staff_id,
            actor_username=principal.username,
            actor_role=principal.role.value,
            care_team_id=care_team_id,
            citizen_id=citizen_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
        )
    )


def record_citizen_reads(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    action: str,
    citizens: Iterable[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    """One event per citizen shown in a list: (citizen_id, care_team_id) pairs. Written as
    one multi-row INSERT in the request's transaction (a page of 50 is one round trip)."""
    seen: set[uuid.UUID] = set()
    rows: list[dict[str, object]] = []
    for citizen_id, team_id in citizens:
        if citizen_id in seen:
            continue
        seen.add(citizen_id)
        rows.append(
            {
                "at": now,
                "actor_id": principal.staff_id,
                "actor_username": principal.username,
                "actor_role": principal.role.value,
                "care_team_id": team_id,
                "citizen_id": citizen_id,
                "action": action,
                "resource_type": "citizen",
                "resource_id": str(citizen_id),
                "outcome": "success",
            }
        )
    if rows:
        session.execute(insert(AuditEvent), rows)


def record_anonymous(
    *, session: Session, now: datetime, username: str, action: str, outcome: str
) -> None:
    """A failed login: there is no principal, only the name that was tried."""
    session.add(
        AuditEvent(
            at=now,
            actor_id=None,
            actor_username=username[:120],
            actor_role="anonymous",
            action=action,
            resource_type="session",
            outcome=outcome,
        )
    )
