"""The administration page (administrators): care teams, tablets with health, enrolment and
assignment, citizens, staff, and the quarantine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from pust.db.tables import CareTeam, Citizen
from services.api.admin import commands as admin_commands
from services.api.admin import devices
from services.api.admin.models import DeviceAssign, DeviceCreate, StaffCreate
from services.api.admin.queries import staff_page
from services.api.auth.principal import Principal, Role
from services.api.citizens import commands as citizen_commands
from services.api.citizens.models import CitizenCreate
from services.api.deps import ClockDep, SettingsDep
from services.api.pagination import PageParams
from services.api.scoping import require_administrator
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.actions import form_action, form_fields, one
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)

ROLES = [r.value for r in Role]


def _admin_page(uow: SqlUnitOfWork, principal: Principal, clock: ClockDep) -> dict[str, Any]:
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
    return {
        "teams": session.exec(select(CareTeam).order_by(col(CareTeam.name))).all(),
        "devices": device_page.items,
        "quarantine": quarantine.items,
        "staff": staff.items,
        "citizens": citizens,
        "citizen_names": {str(c.id): f"{c.given_name} {c.family_name}" for c in citizens},
    }


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    page = await run_in_threadpool(_admin_page, uow, principal, clock)
    return render(request, "admin.html", principal=principal, nav="admin", roles=ROLES, **page)


@router.post("/ui/devices")
async def enrol_device_form(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        "/admin",
        lambda: devices.enrol_device(
            body=DeviceCreate.model_validate(
                {"device_id": one(form, "device_id"), "mqtt_password": one(form, "mqtt_password")}
            ),
            session=uow.session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/devices/{device_id}/assign")
async def assign_form(
    *,
    request: Request,
    device_id: str,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        "/admin",
        lambda: devices.assign_device(
            device_id=device_id,
            body=DeviceAssign.model_validate({"citizen_id": one(form, "citizen_id")}),
            session=uow.session,
            principal=principal,
            clock=clock,
            settings=settings,
        ),
    )


@router.post("/ui/devices/{device_id}/unassign")
async def unassign_form(
    *, device_id: str, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    return await form_action(
        uow,
        "/admin",
        lambda: devices.unassign_device(
            device_id=device_id, session=uow.session, principal=principal, clock=clock
        ),
    )


@router.post("/ui/citizens")
async def enrol_citizen_form(
    *,
    request: Request,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        "/admin",
        lambda: citizen_commands.enrol(
            uow,
            actor=principal,
            command=CitizenCreate.model_validate(
                {
                    k: one(form, k)
                    for k in ("care_team_id", "cpr", "given_name", "family_name", "phone")
                }
            ),
            now=clock.now(),
            timezone=settings.clinic_timezone,
        ),
    )


@router.post("/ui/staff")
async def create_staff_form(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        "/admin",
        lambda: admin_commands.create_staff(
            uow,
            actor=principal,
            command=StaffCreate.model_validate(
                {
                    "username": one(form, "username"),
                    "display_name": one(form, "display_name"),
                    "role": one(form, "role"),
                    "password": one(form, "password"),
                    "care_team_ids": form.get("care_team_ids", []),
                }
            ),
            now=clock.now(),
        ),
    )


__all__ = ["router"]
