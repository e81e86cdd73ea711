"""Read models of the administration (the session directly; tested against a database)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from pust.db.tables import StaffUser
from services.api.admin.models import StaffPublic
from services.api.admin.repository import SqlStaffRepository
from services.api.auth import login_throttle
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageParams, paged
from services.api.scoping import require_administrator


def staff_public(session: Session, user: StaffUser) -> StaffPublic:
    slowed = login_throttle.slowed_until(session, [user.username])
    return StaffPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        email=user.email,
        active=user.active,
        care_team_ids=SqlStaffRepository(session).teams_of(user.id),
        locked_until=slowed.get(user.username),
        oidc_subject=user.oidc_subject,
    )


def staff_page(session: Session, principal: Principal, page: PageParams) -> Page[StaffPublic]:
    require_administrator(principal)
    statement = select(StaffUser).order_by(col(StaffUser.username))
    return paged(session, statement, page, lambda u: staff_public(session, u))
