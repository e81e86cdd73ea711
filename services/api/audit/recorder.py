"""Audit events are added to the request's own transaction: if the audit write fails, the
read or action fails with it (the endpoint commits both together)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import insert, text
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
    """Written in the request's transaction as one statement. On PostgreSQL one ``INSERT …
    SELECT FROM unnest(…)`` with two array parameters (a page of 50 is one statement, one
    round trip, and no 500 bound values to build); elsewhere a multi-row INSERT."""
    citizens = list(citizens)  # read twice below
    rows = citizen_read_rows(principal=principal, now=now, action=action, citizens=citizens)
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _UNNEST_INSERT,
            citizen_read_parameters(principal=principal, now=now, action=action, citizens=citizens),
        )
        return
    session.execute(insert(AuditEvent), rows)


def citizen_reads_insert_sql(*, where: str = "") -> str:
    """The PostgreSQL ``INSERT … SELECT FROM unnest`` of :func:`record_citizen_reads`, with
    an optional ``WHERE`` over its ``shown`` rows (the worklist's answer cache writes its
    audit rows only when its change token still holds, in the same statement: see
    ``services/api/worklist/answer.py``). Its parameters: :func:`citizen_read_parameters`."""
    condition = f" WHERE {where}" if where else ""
    return (
        "INSERT INTO audit_event (at, actor_id, actor_username, actor_role, care_team_id,"  # noqa: S608 - the caller's fixed text
        " citizen_id, action, resource_type, resource_id, outcome)"
        " SELECT :at, :actor_id, :actor_username, :actor_role, shown.team, shown.citizen,"
        " :action, 'citizen', CAST(shown.citizen AS text), 'success'"
        " FROM unnest(CAST(:citizens AS uuid[]), CAST(:teams AS uuid[]))"
        f" WITH ORDINALITY AS shown(citizen, team, n){condition} ORDER BY shown.n"
    )


def citizen_read_parameters(
    *, principal: Principal, now: datetime, action: str, citizens: Shown
) -> dict[str, Any]:
    """The bound values of :func:`citizen_reads_insert_sql`: each citizen once."""
    shown = dict(citizens)
    return {
        "at": now,
        "actor_id": principal.staff_id,
        "actor_username": principal.username,
        "actor_role": principal.role.value,
        "action": action,
        "citizens": list(shown),
        "teams": list(shown.values()),
    }


_UNNEST_INSERT = text(citizen_reads_insert_sql())


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
