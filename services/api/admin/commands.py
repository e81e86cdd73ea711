"""Administration: care teams and staff accounts (administrators only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pust.db.missed_policy_repository import save_missed_policy
from pust.db.tables import CareTeam, StaffUser
from pust.domain.missed_measurement_policy import MissedMeasurementPolicy
from services.api.admin.models import CareTeamCreate, CareTeamUpdate, StaffCreate, StaffUpdate
from services.api.auth.passwords import hash_password
from services.api.auth.principal import Principal
from services.api.problems import ConflictError, NotFoundError
from services.api.scoping import require_administrator
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWork


def create_team(
    uow: UnitOfWork, *, actor: Principal, command: CareTeamCreate, now: datetime
) -> CareTeam:
    """A new care team; the administrator who creates it is its first member."""
    require_administrator(actor)
    if uow.teams.name_taken(command.name):
        raise ConflictError("A care team with this name exists already.")
    team = CareTeam(name=command.name, timezone=command.timezone, created_at=now)
    uow.teams.add(team)
    uow.staff.join(actor.staff_id, team.id)
    uow.audit.record(
        actor=actor,
        now=now,
        action="care_team.create",
        resource_type="care_team",
        resource_id=str(team.id),
        care_team_id=team.id,
    )
    return team


def update_team(
    uow: UnitOfWork,
    *,
    actor: Principal,
    team_id: uuid.UUID,
    command: CareTeamUpdate,
    now: datetime,
) -> CareTeam:
    """Rename a care team or change its time zone."""
    require_administrator(actor)
    team = uow.teams.get(team_id)
    if team is None:
        raise NotFoundError("No such care team.")
    if command.name is not None and command.name != team.name:
        if uow.teams.name_taken(command.name):
            raise ConflictError("A care team with this name exists already.")
        team.name = command.name
    if command.timezone is not None:
        team.timezone = command.timezone
    uow.audit.record(
        actor=actor,
        now=now,
        action="care_team.update",
        resource_type="care_team",
        resource_id=str(team.id),
        care_team_id=team.id,
    )
    return team


def set_missed_policy(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    team_id: uuid.UUID,
    policy: MissedMeasurementPolicy,
    reason: str,
    now: datetime,
) -> int:
    """The care team's next missed-measurement policy version (the previous one is kept);
    returns its number."""
    require_administrator(actor)
    if uow.teams.get(team_id) is None:
        raise NotFoundError("No such care team.")
    version = save_missed_policy(
        uow.session,
        care_team_id=team_id,
        policy=policy,
        reason=reason,
        actor_id=actor.staff_id,
        now=now,
    )
    uow.audit.record(
        actor=actor,
        now=now,
        action="care_team.missed_policy",
        resource_type="care_team",
        resource_id=str(team_id),
        care_team_id=team_id,
    )
    return version


def _known_teams(uow: UnitOfWork, team_ids: list[uuid.UUID]) -> None:
    if not uow.teams.all_exist(team_ids):
        raise NotFoundError("No such care team.")


def create_staff(
    uow: UnitOfWork, *, actor: Principal, command: StaffCreate, now: datetime
) -> StaffUser:
    require_administrator(actor)
    if uow.staff.username_taken(command.username):
        raise ConflictError("This username is taken.")
    _known_teams(uow, command.care_team_ids)
    user = StaffUser(
        username=command.username,
        display_name=command.display_name,
        role=command.role,
        email=command.email,
        created_at=now,
        password_hash=hash_password(command.password) if command.password else None,
        oidc_issuer=command.oidc_issuer,
        oidc_subject=command.oidc_subject,
    )
    uow.staff.add(user)
    uow.staff.set_teams(user.id, command.care_team_ids)
    uow.audit.record(
        actor=actor, now=now, action="staff.create", resource_type="staff", resource_id=str(user.id)
    )
    return user


def update_staff(
    uow: UnitOfWork,
    *,
    actor: Principal,
    staff_id: uuid.UUID,
    command: StaffUpdate,
    now: datetime,
) -> StaffUser:
    require_administrator(actor)
    user = uow.staff.get(staff_id)
    if user is None:
        raise NotFoundError("No such staff account.")
    if command.display_name is not None:
        user.display_name = command.display_name
    if command.role is not None:
        user.role = command.role
    if command.active is not None:
        if user.active and not command.active:
            uow.staff.revoke_sessions(user.id, now=now, reason="deactivated")
        user.active = command.active
    if command.password is not None:
        user.password_hash = hash_password(command.password)
        # whoever knew the old password is logged out everywhere
        uow.staff.revoke_sessions(user.id, now=now, reason="password_changed")
    if command.unlock:
        uow.staff.reset_login_throttle(user.username)
    if command.care_team_ids is not None:
        _known_teams(uow, command.care_team_ids)
        uow.staff.set_teams(user.id, command.care_team_ids)
    uow.audit.record(
        actor=actor, now=now, action="staff.update", resource_type="staff", resource_id=str(user.id)
    )
    return user
