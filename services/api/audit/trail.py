"""The audit trail as use cases see it: one seam with a fake beside it (tests/unit/api). The
events are built once, here and in :mod:`services.api.audit.recorder`; a trail only stores
them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import insert
from sqlmodel import Session

from pust.db.tables import AuditEvent, Citizen
from services.api.audit.recorder import (
    AuditTarget,
    Shown,
    audit_row,
    citizen_read_rows,
    record_citizen_reads,
)
from services.api.auth.principal import Principal


class AuditTrail(ABC):
    @abstractmethod
    def add(self, rows: list[dict[str, Any]]) -> None:
        """Store events built by :func:`~services.api.audit.recorder.audit_row`."""

    def record(
        self,
        *,
        actor: Principal,
        now: datetime,
        action: str,
        resource_type: str,
        **target: Unpack[AuditTarget],
    ) -> None:
        self.add(
            [
                audit_row(
                    principal=actor, now=now, action=action, resource_type=resource_type, **target
                )
            ]
        )

    def about_citizen(
        self,
        *,
        actor: Principal,
        citizen: Citizen,
        now: datetime,
        action: str,
        resource_type: str = "citizen",
        resource_id: str | None = None,
    ) -> None:
        """An event naming the citizen and team (a read of, or change to, their data)."""
        self.record(
            actor=actor,
            now=now,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id or str(citizen.id),
            citizen_id=citizen.id,
            care_team_id=citizen.care_team_id,
        )

    def citizens_shown(
        self, *, actor: Principal, now: datetime, action: str, citizens: Shown
    ) -> None:
        """One event per citizen in a list: (citizen_id, care_team_id) pairs."""
        self.add(citizen_read_rows(principal=actor, now=now, action=action, citizens=citizens))


class SqlAuditTrail(AuditTrail):
    def __init__(self, session: Session) -> None:
        self._session = session

    def citizens_shown(
        self, *, actor: Principal, now: datetime, action: str, citizens: Shown
    ) -> None:
        """One statement for the whole list: on PostgreSQL an ``INSERT … SELECT FROM
        unnest`` with two array parameters (:func:`record_citizen_reads`), not an
        executemany of a row per citizen."""
        record_citizen_reads(
            session=self._session, principal=actor, now=now, action=action, citizens=citizens
        )

    def add(self, rows: list[dict[str, Any]]) -> None:
        if len(rows) == 1:
            self._session.add(AuditEvent(**rows[0]))  # with the unit of work's other rows
        elif rows:
            self._session.execute(insert(AuditEvent), rows)  # a list: one round trip
