"""Audit events are added to the request's own transaction: if the audit write fails, the
read or action fails with it (the endpoint commits both together)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, text
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
    """One event per citizen shown in a list: (citizen_id, care_team_id) pairs, written in
    the request's transaction as one statement. On PostgreSQL one ``INSERT … SELECT FROM
    unnest(…)`` with two array parameters (a page of 50 is one statement, one round trip,
    and no 500 bound values to build); on SQLite an executemany."""
    pairs: dict[uuid.UUID, uuid.UUID] = {}
    for citizen_id, team_id in citizens:
        pairs.setdefault(citizen_id, team_id)
    if not pairs:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _UNNEST_INSERT,
            {
                "at": now,
                "actor_id": principal.staff_id,
                "actor_username": principal.username,
                "actor_role": principal.role.value,
                "action": action,
                "citizens": list(pairs),
                "teams": list(pairs.values()),
            },
        )
        return
    session.execute(
        insert(AuditEvent),
        [
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
            for citizen_id, team_id in pairs.items()
        ],
    )


_UNNEST_INSERT = text(
    "INSERT INTO audit_event (at, actor_id, actor_username, actor_role, care_team_id,"
    " citizen_id, action, resource_type, resource_id, outcome)"
    " SELECT :at, :actor_id, :actor_username, :actor_role, shown.team, shown.citizen,"
    " :action, 'citizen', CAST(shown.citizen AS text), 'success'"
    " FROM unnest(CAST(:citizens AS uuid[]), CAST(:teams AS uuid[]))"
    " WITH ORDINALITY AS shown(citizen, team, n) ORDER BY shown.n"
)


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
