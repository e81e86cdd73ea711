"""Care teams and staff accounts as the administration use cases see them."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from pust.db.tables import CareTeam, StaffMembership, StaffUser
from services.api.auth import login_throttle, session_store


class TeamRepository(Protocol):
    def get(self, team_id: uuid.UUID) -> CareTeam | None: ...

    def name_taken(self, name: str) -> bool: ...

    def add(self, team: CareTeam) -> None:
        """Stored at once (the id is known after this)."""

    def all_exist(self, team_ids: Collection[uuid.UUID]) -> bool: ...


class StaffRepository(Protocol):
    def get(self, staff_id: uuid.UUID) -> StaffUser | None: ...

    def username_taken(self, username: str) -> bool: ...

    def add(self, user: StaffUser) -> None:
        """Stored at once (the id is known after this)."""

    def teams_of(self, staff_id: uuid.UUID) -> list[uuid.UUID]: ...

    def set_teams(self, staff_id: uuid.UUID, team_ids: Collection[uuid.UUID]) -> None: ...

    def join(self, staff_id: uuid.UUID, team_id: uuid.UUID) -> None: ...

    def revoke_sessions(self, staff_id: uuid.UUID, *, now: datetime, reason: str) -> int:
        """End the staff member's open browser sessions; how many there were."""

    def reset_login_throttle(self, username: str) -> None:
        """Failed logins of the account, from every address, are forgotten (unlock)."""


class SqlTeamRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, team_id: uuid.UUID) -> CareTeam | None:
        return self._session.get(CareTeam, team_id)

    def name_taken(self, name: str) -> bool:
        found = self._session.exec(select(CareTeam.id).where(CareTeam.name == name)).first()
        return found is not None

    def add(self, team: CareTeam) -> None:
        self._session.add(team)
        self._session.flush()

    def all_exist(self, team_ids: Collection[uuid.UUID]) -> bool:
        wanted = set(team_ids)
        found = self._session.exec(
            select(func.count()).select_from(CareTeam).where(col(CareTeam.id).in_(list(wanted)))
        ).one()
        return int(found) == len(wanted)


class SqlStaffRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, staff_id: uuid.UUID) -> StaffUser | None:
        return self._session.get(StaffUser, staff_id)

    def username_taken(self, username: str) -> bool:
        found = self._session.exec(select(StaffUser.id).where(StaffUser.username == username))
        return found.first() is not None

    def add(self, user: StaffUser) -> None:
        self._session.add(user)
        self._session.flush()

    def teams_of(self, staff_id: uuid.UUID) -> list[uuid.UUID]:
        return sorted(
            self._session.exec(
                select(StaffMembership.care_team_id).where(StaffMembership.staff_id == staff_id)
            ).all()
        )

    def set_teams(self, staff_id: uuid.UUID, team_ids: Collection[uuid.UUID]) -> None:
        self._session.exec(delete(StaffMembership).where(col(StaffMembership.staff_id) == staff_id))
        self._session.add_all(
            [StaffMembership(staff_id=staff_id, care_team_id=t) for t in set(team_ids)]
        )

    def join(self, staff_id: uuid.UUID, team_id: uuid.UUID) -> None:
        self._session.add(StaffMembership(staff_id=staff_id, care_team_id=team_id))

    def revoke_sessions(self, staff_id: uuid.UUID, *, now: datetime, reason: str) -> int:
        return session_store.revoke_all(self._session, staff_id=staff_id, now=now, reason=reason)

    def reset_login_throttle(self, username: str) -> None:
        login_throttle.reset_account(self._session, username)
