"""Care teams and staff (administrators)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from pust.db.tables import CareTeam, StaffMembership, StaffUser
from services.api.admin.models import (
    CareTeamCreate,
    CareTeamPublic,
    CareTeamUpdate,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
)
from services.api.audit.recorder import record
from services.api.auth.current import CurrentStaff
from services.api.auth.passwords import hash_password
from services.api.deps import ClockDep, SessionDep
from services.api.pagination import Page, PageDep
from services.api.problems import ConflictError, NotFoundError, problem_responses
from services.api.scoping import require_administrator

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.get(
    "/care-teams",
    response_model=list[CareTeamPublic],
    summary="Care teams (administrators: all; others: their own)",
    responses=problem_responses(401),
)
def list_teams(*, session: SessionDep, principal: CurrentStaff) -> list[CareTeamPublic]:
    statement = select(CareTeam).order_by(col(CareTeam.name))
    if not principal.is_administrator:
        statement = statement.where(col(CareTeam.id).in_(list(principal.team_ids)))
    return [
        CareTeamPublic.model_validate(t, from_attributes=True)
        for t in session.exec(statement).all()
    ]


@router.post(
    "/care-teams",
    response_model=CareTeamPublic,
    status_code=201,
    summary="Create a care team",
    responses=problem_responses(401, 403, 409, 422),
)
def create_team(
    *, body: CareTeamCreate, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> CareTeamPublic:
    require_administrator(principal)
    if session.exec(select(CareTeam.id).where(CareTeam.name == body.name)).first():
        raise ConflictError("A care team with this name exists already.")
    now = clock.now()
    team = CareTeam(name=body.name, timezone=body.timezone, created_at=now)
    session.add(team)
    session.flush()
    session.add(StaffMembership(staff_id=principal.staff_id, care_team_id=team.id))
    record(
        session=session,
        principal=principal,
        now=now,
        action="care_team.create",
        resource_type="care_team",
        resource_id=str(team.id),
        care_team_id=team.id,
    )
    session.commit()
    return CareTeamPublic.model_validate(team, from_attributes=True)


@router.patch(
    "/care-teams/{team_id}",
    response_model=CareTeamPublic,
    summary="Rename a care team or change its time zone",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_team(
    *,
    team_id: uuid.UUID,
    body: CareTeamUpdate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> CareTeamPublic:
    require_administrator(principal)
    team = session.get(CareTeam, team_id)
    if team is None:
        raise NotFoundError("No such care team.")
    if body.name is not None and body.name != team.name:
        if session.exec(select(CareTeam.id).where(CareTeam.name == body.name)).first():
            raise ConflictError("A care team with this name exists already.")
        team.name = body.name
    if body.timezone is not None:
        team.timezone = body.timezone
    session.add(team)
    record(
        session=session,
        principal=principal,
        now=clock.now(),
        action="care_team.update",
        resource_type="care_team",
        resource_id=str(team.id),
        care_team_id=team.id,
    )
    session.commit()
    return CareTeamPublic.model_validate(team, from_attributes=True)


def staff_public(session: Session, user: StaffUser) -> StaffPublic:
    teams = session.exec(
        select(StaffMembership.care_team_id).where(StaffMembership.staff_id == user.id)
    ).all()
    return StaffPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        email=user.email,
        active=user.active,
        care_team_ids=sorted(teams),
        locked_until=user.locked_until,
        oidc_subject=user.oidc_subject,
    )


def _check_teams(session: Session, team_ids: list[uuid.UUID]) -> None:
    found = session.exec(
        select(func.count()).select_from(CareTeam).where(col(CareTeam.id).in_(team_ids))
    ).one()
    if found != len(set(team_ids)):
        raise NotFoundError("No such care team.")


@router.get(
    "/staff",
    response_model=Page[StaffPublic],
    summary="Staff accounts",
    responses=problem_responses(401, 403, 422),
)
def list_staff(*, session: SessionDep, principal: CurrentStaff, page: PageDep) -> Page[StaffPublic]:
    require_administrator(principal)
    total = session.exec(select(func.count()).select_from(StaffUser)).one()
    users = session.exec(
        select(StaffUser).order_by(col(StaffUser.username)).limit(page.limit).offset(page.offset)
    ).all()
    return Page[StaffPublic](
        items=[staff_public(session, u) for u in users],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/staff",
    response_model=StaffPublic,
    status_code=201,
    summary="Create a staff account",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_staff(
    *, body: StaffCreate, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> StaffPublic:
    require_administrator(principal)
    if session.exec(select(StaffUser.id).where(StaffUser.username == body.username)).first():
        raise ConflictError("This username is taken.")
    _check_teams(session, body.care_team_ids)
    now = clock.now()
    user = StaffUser(
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        email=body.email,
        created_at=now,
        password_hash=hash_password(body.password) if body.password else None,
        oidc_issuer=body.oidc_issuer,
        oidc_subject=body.oidc_subject,
    )
    session.add(user)
    session.flush()
    session.add_all(
        [StaffMembership(staff_id=user.id, care_team_id=t) for t in set(body.care_team_ids)]
    )
    record(
        session=session,
        principal=principal,
        now=now,
        action="staff.create",
        resource_type="staff",
        resource_id=str(user.id),
    )
    session.commit()
    return staff_public(session, user)


@router.patch(
    "/staff/{staff_id}",
    response_model=StaffPublic,
    summary="Change a staff account",
    responses=problem_responses(401, 403, 404, 422),
)
def update_staff(
    *,
    staff_id: uuid.UUID,
    body: StaffUpdate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> StaffPublic:
    require_administrator(principal)
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise NotFoundError("No such staff account.")
    if body.display_name is not None:
        user.display_name = body.display_name
    if body.role is not None:
        user.role = body.role
    if body.active is not None:
        user.active = body.active
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    if body.unlock:
        user.failed_logins, user.locked_until = 0, None
    if body.care_team_ids is not None:
        _check_teams(session, body.care_team_ids)
        session.exec(delete(StaffMembership).where(col(StaffMembership.staff_id) == user.id))
        session.add_all(
            [StaffMembership(staff_id=user.id, care_team_id=t) for t in set(body.care_team_ids)]
        )
    session.add(user)
    now = clock.now()
    record(
        session=session,
        principal=principal,
        now=now,
        action="staff.update",
        resource_type="staff",
        resource_id=str(user.id),
    )
    session.commit()
    return staff_public(session, user)
