"""The administration page (administrators): care teams, tablets with health, enrolment and
assignment, citizens, staff, and the quarantine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from pust.db.tables import CareTeam, Citizen
from services.api.admin import devices, teams
from services.api.admin.models import DeviceAssign, DeviceCreate, StaffCreate
from services.api.auth.principal import Principal, Role
from services.api.citizens import views as citizen_views
from services.api.citizens.models import CitizenCreate
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.pagination import PageParams
from services.api.scoping import require_administrator
from services.api.web.actions import form_action
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)

ROLES = [r.value for r in Role]


def _admin_page(session: Session, principal: Principal, clock: ClockDep) -> dict[str, Any]:
    require_administrator(principal)
    page = PageParams(limit=200, offset=0)
    device_page = devices.list_devices(session=session, principal=principal, page=page, clock=clock)
    quarantine = devices.list_quarantine(
        session=session, principal=principal, page=page, clock=clock
    )
    staff = teams.list_staff(session=session, principal=principal, page=page)
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
    *, request: Request, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    page = await run_in_threadpool(_admin_page, session, principal, clock)
    return render(request, "admin.html", principal=principal, nav="admin", roles=ROLES, **page)


async def _form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values and values[0] != "" else None


@router.post("/ui/devices")
async def enrol_device_form(
    *, request: Request, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        "/admin",
        lambda: devices.enrol_device(
            body=DeviceCreate.model_validate(
                {"device_id": _one(form, "device_id"), "mqtt_password": _one(form, "mqtt_password")}
            ),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/devices/{device_id}/assign")
async def assign_form(
    *,
    request: Request,
    device_id: str,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        "/admin",
        lambda: devices.assign_device(
            device_id=device_id,
            body=DeviceAssign.model_validate({"citizen_id": _one(form, "citizen_id")}),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        ),
    )


@router.post("/ui/devices/{device_id}/unassign")
async def unassign_form(
    *, device_id: str, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    return await form_action(
        "/admin",
        lambda: devices.unassign_device(
            device_id=device_id, session=session, principal=principal, clock=clock
        ),
    )


@router.post("/ui/citizens")
async def enrol_citizen_form(
    *,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        "/admin",
        lambda: citizen_views.enrol_citizen(
            body=CitizenCreate.model_validate(
                {
                    k: _one(form, k)
                    for k in ("care_team_id", "cpr", "given_name", "family_name", "phone")
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        ),
    )


@router.post("/ui/staff")
async def create_staff_form(
    *, request: Request, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        "/admin",
        lambda: teams.create_staff(
            body=StaffCreate.model_validate(
                {
                    "username": _one(form, "username"),
                    "display_name": _one(form, "display_name"),
                    "role": _one(form, "role"),
                    "password": _one(form, "password"),
                    "care_team_ids": form.get("care_team_ids", []),
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


__all__ = ["router"]
