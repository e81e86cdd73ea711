"""The administration page (administrators): care teams (create, edit), staff (create with
password and team, edit, deactivate with confirmation, unlock), citizens (enrol with the CPR
checked), tablets (the devices partial), and the quarantine with the rejected message shown
redacted. Forms check first (:mod:`admin_form_checks`) and show errors beside the field."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from pust.db.missed_policy_repository import missed_policy
from pust.db.tables import CareTeam, Citizen, QuarantinedMessage
from pust.domain.clock import Clock
from pust.domain.missed_measurement_policy import parse_policy
from services.api.admin import commands as admin_commands
from services.api.admin import devices
from services.api.admin.models import (
    CareTeamCreate,
    CareTeamUpdate,
    DeviceAssign,
    DeviceCreate,
    StaffCreate,
    StaffUpdate,
)
from services.api.admin.queries import staff_page
from services.api.auth.principal import Principal, Role
from services.api.citizens import commands as citizen_commands
from services.api.citizens.models import CitizenCreate
from services.api.deps import ClockDep, SettingsDep
from services.api.pagination import PageParams
from services.api.problems import ConflictError
from services.api.scoping import require_administrator
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web import device_pages
from services.api.web.actions import PostedForm, PostedFormDep
from services.api.web.admin_form_checks import (
    check_citizen,
    check_missed_policy,
    check_new_staff,
    check_staff_update,
    check_team,
)
from services.api.web.citizen_form_checks import Checked
from services.api.web.quarantine_view import redacted
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)

ROLES = [r.value for r in Role]


def _admin_page(uow: SqlUnitOfWork, principal: Principal, clock: Clock) -> dict[str, Any]:
    require_administrator(principal)
    session = uow.session
    page = PageParams(limit=200, offset=0)
    device_page = devices.list_devices(session=session, principal=principal, page=page, clock=clock)
    quarantine = devices.list_quarantine(
        session=session, principal=principal, page=page, clock=clock
    )
    staff = staff_page(session, principal, page)
    citizens = session.exec(
        select(Citizen)
        .where(col(Citizen.care_team_id).in_(list(principal.team_ids)))
        .order_by(col(Citizen.family_name))
    ).all()
    team_rows = session.exec(select(CareTeam).order_by(col(CareTeam.name))).all()
    # the listed messages with their payloads (the list itself is audited above), shown
    # redacted
    listed = [q.id for q in quarantine.items]
    payloads = {
        row.id: devices.quarantine_public(row, with_payload=True).payload_text
        for row in session.exec(
            select(QuarantinedMessage).where(col(QuarantinedMessage.id).in_(listed))
        ).all()
    }
    return {
        "teams": team_rows,
        "missed_policies": {t.id: missed_policy(session, t.id) for t in team_rows},
        "team_names": {t.id: t.name for t in team_rows},
        "devices": device_page.items,
        "quarantine": [(q, redacted(payloads.get(q.id))) for q in quarantine.items],
        "staff": staff.items,
        "citizens": citizens,
        "citizen_names": {str(c.id): f"{c.given_name} {c.family_name}" for c in citizens},
        **device_pages.broker_panel(session),
    }


async def _render_admin(
    request: Request,
    *,
    uow: SqlUnitOfWork,
    principal: Principal,
    clock: Clock,
    status: int = 200,
    form_key: str = "",
    checked: Checked | None = None,
) -> HTMLResponse:
    page = await run_in_threadpool(_admin_page, uow, principal, clock)
    query = request.query_params
    return render(
        request,
        "admin.html",
        principal=principal,
        nav="admin",
        status=status,
        roles=ROLES,
        now=clock.now(),
        edit_team=query.get("edit_team", ""),
        edit_staff=query.get("edit_staff", ""),
        confirm_staff=query.get("confirm_deactivate", ""),
        confirm_device=query.get("confirm_device", ""),
        device_action=query.get("device_action", ""),
        field_errors={form_key: checked.errors} if checked else {},
        form_values={form_key: checked.typed} if checked else {},
        **page,
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    return await _render_admin(request, uow=uow, principal=principal, clock=clock)


async def _checked_action(
    posted: PostedForm,
    *,
    form_key: str,
    checked: Checked,
    action: Callable[[], object],
    conflict: tuple[str, str] = ("", ""),
    done: str = "saved",
    anchor: str = "",
) -> RedirectResponse | HTMLResponse:
    """Errors → the page again (422); a name already taken → beside its field; else the
    API's code runs and the page comes back with what was done."""
    uow, principal, clock = posted.uow, posted.principal, posted.clock
    if not checked.errors:
        try:
            await run_in_threadpool(action)
        except ConflictError:
            field, key = conflict
            if not field:
                raise
            await run_in_threadpool(uow.rollback)
            checked.errors[field] = posted.t(key)
        else:
            return RedirectResponse(f"/admin?done={done}{anchor}", status_code=303)
    return await _render_admin(
        posted.request,
        uow=uow,
        principal=principal,
        clock=clock,
        status=422,
        form_key=form_key,
        checked=checked,
    )


@router.post("/ui/care-teams", response_model=None)
async def create_team_form(*, posted: PostedFormDep) -> RedirectResponse | HTMLResponse:
    require_administrator(posted.principal)
    checked = check_team(posted.fields, posted.fmt, posted.t)
    return await _checked_action(
        posted,
        form_key="team",
        checked=checked,
        conflict=("name", "err_team_name_taken"),
        action=lambda: admin_commands.create_team(
            posted.uow,
            actor=posted.principal,
            command=CareTeamCreate.model_validate(checked.document),
            now=posted.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/care-teams/{team_id}", response_model=None)
async def edit_team_form(
    *, team_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    require_administrator(posted.principal)
    checked = check_team(posted.fields, posted.fmt, posted.t)
    checked.typed["id"] = str(team_id)
    return await _checked_action(
        posted,
        form_key="team_edit",
        checked=checked,
        conflict=("name", "err_team_name_taken"),
        action=lambda: admin_commands.update_team(
            posted.uow,
            actor=posted.principal,
            team_id=team_id,
            command=CareTeamUpdate.model_validate(checked.document),
            now=posted.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/care-teams/{team_id}/missed-policy", response_model=None)
async def missed_policy_form(
    *, team_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    """A care team's missed-measurement policy: the next version, the previous one kept."""
    require_administrator(posted.principal)
    checked = check_missed_policy(posted.fields, posted.t)
    checked.typed["id"] = str(team_id)
    return await _checked_action(
        posted,
        form_key="missed_policy",
        checked=checked,
        action=lambda: admin_commands.set_missed_policy(
            posted.uow,
            actor=posted.principal,
            team_id=team_id,
            policy=parse_policy(checked.document),
            reason=str(checked.typed["reason"]),
            now=posted.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/staff", response_model=None)
async def create_staff_form(*, posted: PostedFormDep) -> RedirectResponse | HTMLResponse:
    require_administrator(posted.principal)
    checked = check_new_staff(posted.fields, posted.fmt, posted.t)
    return await _checked_action(
        posted,
        form_key="staff",
        checked=checked,
        conflict=("username", "err_username_taken"),
        action=lambda: admin_commands.create_staff(
            posted.uow,
            actor=posted.principal,
            command=StaffCreate.model_validate(checked.document),
            now=posted.now(),
        ),
        anchor="#staff-h",
    )


@router.post("/ui/staff/{staff_id}", response_model=None)
async def edit_staff_form(
    *, staff_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    require_administrator(posted.principal)
    checked = check_staff_update(posted.fields, posted.fmt, posted.t)
    checked.typed["id"] = str(staff_id)
    return await _checked_action(
        posted,
        form_key="staff_edit",
        checked=checked,
        action=lambda: admin_commands.update_staff(
            posted.uow,
            actor=posted.principal,
            staff_id=staff_id,
            command=StaffUpdate.model_validate(checked.document),
            now=posted.now(),
        ),
        anchor="#staff-h",
    )


@router.post("/ui/staff/{staff_id}/status")
async def staff_status_form(*, staff_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    """Deactivate (only with ``confirm=1``, sent by the confirmation box), re-activate or
    unlock an account."""
    require_administrator(posted.principal)
    change = posted.one("change") or ""
    if change == "deactivate" and posted.one("confirm") != "1":
        return RedirectResponse(f"/admin?confirm_deactivate={staff_id}#staff-h", status_code=303)
    body = {
        "deactivate": {"active": False},
        "activate": {"active": True},
        "unlock": {"unlock": True},
    }.get(change)
    if body is None:
        return RedirectResponse("/admin?error=invalid_input", status_code=303)
    return await posted.act(
        lambda: admin_commands.update_staff(
            posted.uow,
            actor=posted.principal,
            staff_id=staff_id,
            command=StaffUpdate.model_validate(body),
            now=posted.now(),
        ),
        next_url="/admin",
        done=f"staff_{change}d" if change != "unlock" else "staff_unlocked",
    )


@router.post("/ui/citizens", response_model=None)
async def enrol_citizen_form(
    *, posted: PostedFormDep, settings: SettingsDep
) -> RedirectResponse | HTMLResponse:
    checked = check_citizen(posted.fields, posted.fmt, posted.t)
    return await _checked_action(
        posted,
        form_key="citizen",
        checked=checked,
        conflict=("cpr", "err_cpr_taken"),
        action=lambda: citizen_commands.enrol(
            posted.uow,
            actor=posted.principal,
            command=CitizenCreate.model_validate(checked.document),
            now=posted.now(),
            timezone=settings.clinic_timezone,
        ),
        done="citizen_enrolled",
        anchor="#citizen-h",
    )


# tablets: the routes stay as they were until the device lifecycle lands in its own module


@router.post("/ui/devices")
async def enrol_device_form(*, posted: PostedFormDep, settings: SettingsDep) -> RedirectResponse:
    return await posted.act(
        lambda: devices.enrol_device(
            body=DeviceCreate.model_validate(
                {"device_id": posted.one("device_id"), "mqtt_password": posted.one("mqtt_password")}
            ),
            session=posted.uow.session,
            principal=posted.principal,
            clock=posted.clock,
            settings=settings,
        ),
        next_url="/admin",
    )


@router.post("/ui/devices/{device_id}/assign")
async def assign_form(*, device_id: str, posted: PostedFormDep) -> RedirectResponse:
    return await posted.act(
        lambda: devices.assign_device(
            device_id=device_id,
            body=DeviceAssign.model_validate({"citizen_id": posted.one("citizen_id")}),
            uow=posted.uow,
            principal=posted.principal,
            clock=posted.clock,
        ),
        next_url="/admin",
    )


@router.post("/ui/devices/{device_id}/unassign")
async def unassign_form(*, device_id: str, posted: PostedFormDep) -> RedirectResponse:
    return await posted.act(
        lambda: devices.unassign_device(
            device_id=device_id,
            session=posted.uow.session,
            principal=posted.principal,
            clock=posted.clock,
        ),
        next_url="/admin",
    )
