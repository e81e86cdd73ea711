"""Audit events are added to the request's own transaction: if the audit write fails, the
read or action fails with it (the endpoint commits both together)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import insert
from sqlmodel import Session

from pust.db.tables import AuditEvent
from services.api.auth.principal import Principal

Shown = Iterable[tuple[uuid.UUID, uuid.UUID]]  # (citizen_id, care_team_id) of each shown


class AuditTarget(TypedDict, total=False):
    """What an event is about beside its resource type; each may be left out."""

    resource_id: str | None
    citizen_id: uuid.UUID | None
    care_team_id: uuid.UUID | None


def audit_row(
    *,
    principal: Principal,
    now: datetime,
    action: str,
    resource_type: str,
    **target: Unpack[AuditTarget],
) -> dict[str, Any]:
    """The columns of one successful event by a staff member (one home for their shape)."""
    return {
        "at": now,
        "actor_id": principal.staff_id,
        "actor_username": principal.username,
        "actor_role": principal.role.value,
        "care_team_id": target.get("care_team_id"),
        "citizen_id": target.get("citizen_id"),
        "action": action,
        "resource_type": resource_type,
        "resource_id": target.get("resource_id"),
        "outcome": "success",
    }


def record(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    action: str,
    resource_type: str,
    outcome: str = "success",
    **target: Unpack[AuditTarget],
) -> None:
    row = audit_row(
        principal=principal, now=now, action=action, resource_type=resource_type, **target
    )
    session.add(AuditEvent(**{**row, "outcome": outcome}))


def citizen_read_rows(
    *, principal: Principal, now: datetime, action: str, citizens: Shown
) -> list[dict[str, Any]]:
    """One event per citizen shown in a list, each citizen once: (citizen_id, care_team_id)
    pairs."""
    return [
        audit_row(
            principal=principal,
            now=now,
            action=action,
            resource_type="citizen",
            resource_id=str(citizen_id),
            citizen_id=citizen_id,
            care_team_id=team_id,
        )
        for citizen_id, team_id in dict(citizens).items()
    ]


def record_citizen_reads(
    *, session: Session, principal: Principal, now: datetime, action: str, citizens: Shown
) -> None:
    """Written as one multi-row INSERT in the request's transaction (a page of 50 is one
    round trip)."""
    rows = citizen_read_rows(principal=principal, now=now, action=action, citizens=citizens)
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
