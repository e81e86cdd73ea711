"""The audit trail as use cases see it: one seam with a fake beside it (tests/unit/api)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from pust.db.tables import Citizen
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.principal import Principal


class AuditTrail(Protocol):
    def record(
        self,
        *,
        actor: Principal,
        now: datetime,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        citizen_id: uuid.UUID | None = None,
        care_team_id: uuid.UUID | None = None,
    ) -> None: ...

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

    def citizens_shown(
        self,
        *,
        actor: Principal,
        now: datetime,
        action: str,
        citizens: Iterable[tuple[uuid.UUID, uuid.UUID]],
    ) -> None:
        """One event per citizen in a list: (citizen_id, care_team_id) pairs."""


class SqlAuditTrail:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self,
        *,
        actor: Principal,
        now: datetime,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        citizen_id: uuid.UUID | None = None,
        care_team_id: uuid.UUID | None = None,
    ) -> None:
        record(
            session=self._session,
            principal=actor,
            now=now,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            citizen_id=citizen_id,
            care_team_id=care_team_id,
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
        self,
        *,
        actor: Principal,
        now: datetime,
        action: str,
        citizens: Iterable[tuple[uuid.UUID, uuid.UUID]],
    ) -> None:
        record_citizen_reads(
            session=self._session, principal=actor, now=now, action=action, citizens=citizens
        )
