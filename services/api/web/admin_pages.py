"""The administration page (administrators): care teams (create, edit), staff (create with
password and team, edit, deactivate with confirmation, unlock), citizens (enrol with the CPR
checked), tablets (the devices partial), and the quarantine with the rejected message shown
redacted. Forms check first (:mod:`admin_form_checks`) and show errors beside the field."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

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
from services.api.auth.current import language_of
from services.api.auth.principal import Principal, Role
from services.api.citizens import commands as citizen_commands
from services.api.citizens.models import CitizenCreate
from services.api.deps import ClockDep, SettingsDep
from services.api.pagination import PageParams
from services.api.problems import ConflictError
from services.api.scoping import require_administrator
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web import device_pages
from services.api.web.actions import form_action, form_fields
from services.api.web.admin_form_checks import (
    check_citizen,
    check_missed_policy,
    check_new_staff,
    check_staff_update,
    check_team,
)
from services.api.web.citizen_form_checks import Checked
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
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


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values and values[0] != "" else None


def _formatter(request: Request) -> Formatter:
    return Formatter(language_of(request), ZoneInfo(request.app.state.settings.clinic_timezone))


async def _checked_action(
    request: Request,
    *,
    uow: SqlUnitOfWork,
    principal: Principal,
    clock: Clock,
    form_key: str,
    checked: Checked,
    action: Any,
    conflict: tuple[str, str] = ("", ""),
    done: str = "saved",
    anchor: str = "",
) -> RedirectResponse | HTMLResponse:
    """Errors → the page again (422); a name already taken → beside its field; else the
    API's code runs and the page comes back with what was done."""
    t = translator(language_of(request))
    if not checked.errors:
        try:
            await run_in_threadpool(action)
        except ConflictError:
            field, key = conflict
            if not field:
                raise
            await run_in_threadpool(uow.rollback)
            checked.errors[field] = t(key)
        else:
            return RedirectResponse(f"/admin?done={done}{anchor}", status_code=303)
    return await _render_admin(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        status=422,
        form_key=form_key,
        checked=checked,
    )


@router.post("/ui/care-teams", response_model=None)
async def create_team_form(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse | HTMLResponse:
    require_administrator(principal)
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_team(form, fmt, translator(fmt.language))
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="team",
        checked=checked,
        conflict=("name", "err_team_name_taken"),
        action=lambda: admin_commands.create_team(
            uow,
            actor=principal,
            command=CareTeamCreate.model_validate(checked.document),
            now=clock.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/care-teams/{team_id}", response_model=None)
async def edit_team_form(
    *,
    request: Request,
    team_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    require_administrator(principal)
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_team(form, fmt, translator(fmt.language))
    checked.typed["id"] = str(team_id)
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="team_edit",
        checked=checked,
        conflict=("name", "err_team_name_taken"),
        action=lambda: admin_commands.update_team(
            uow,
            actor=principal,
            team_id=team_id,
            command=CareTeamUpdate.model_validate(checked.document),
            now=clock.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/care-teams/{team_id}/missed-policy", response_model=None)
async def missed_policy_form(
    *,
    request: Request,
    team_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    """A care team's missed-measurement policy: the next version, the previous one kept."""
    require_administrator(principal)
    form = await form_fields(request)
    checked = check_missed_policy(form, translator(language_of(request)))
    checked.typed["id"] = str(team_id)
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="missed_policy",
        checked=checked,
        action=lambda: admin_commands.set_missed_policy(
            uow,
            actor=principal,
            team_id=team_id,
            policy=parse_policy(checked.document),
            reason=str(checked.typed["reason"]),
            now=clock.now(),
        ),
        anchor="#teams-h",
    )


@router.post("/ui/staff", response_model=None)
async def create_staff_form(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse | HTMLResponse:
    require_administrator(principal)
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_new_staff(form, fmt, translator(fmt.language))
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="staff",
        checked=checked,
        conflict=("username", "err_username_taken"),
        action=lambda: admin_commands.create_staff(
            uow,
            actor=principal,
            command=StaffCreate.model_validate(checked.document),
            now=clock.now(),
        ),
        anchor="#staff-h",
    )


@router.post("/ui/staff/{staff_id}", response_model=None)
async def edit_staff_form(
    *,
    request: Request,
    staff_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    require_administrator(principal)
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_staff_update(form, fmt, translator(fmt.language))
    checked.typed["id"] = str(staff_id)
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="staff_edit",
        checked=checked,
        action=lambda: admin_commands.update_staff(
            uow,
            actor=principal,
            staff_id=staff_id,
            command=StaffUpdate.model_validate(checked.document),
            now=clock.now(),
        ),
        anchor="#staff-h",
    )


@router.post("/ui/staff/{staff_id}/status")
async def staff_status_form(
    *,
    request: Request,
    staff_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    """Deactivate (only with ``confirm=1``, sent by the confirmation box), re-activate or
    unlock an account."""
    require_administrator(principal)
    form = await form_fields(request)
    change = _one(form, "change") or ""
    if change == "deactivate" and _one(form, "confirm") != "1":
        return RedirectResponse(f"/admin?confirm_deactivate={staff_id}#staff-h", status_code=303)
    body = {
        "deactivate": {"active": False},
        "activate": {"active": True},
        "unlock": {"unlock": True},
    }.get(change)
    if body is None:
        return RedirectResponse("/admin?error=invalid_input", status_code=303)
    return await form_action(
        uow,
        "/admin",
        lambda: admin_commands.update_staff(
            uow,
            actor=principal,
            staff_id=staff_id,
            command=StaffUpdate.model_validate(body),
            now=clock.now(),
        ),
        done=f"staff_{change}d" if change != "unlock" else "staff_unlocked",
    )


@router.post("/ui/citizens", response_model=None)
async def enrol_citizen_form(
    *,
    request: Request,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_citizen(form, fmt, translator(fmt.language))
    return await _checked_action(
        request,
        uow=uow,
        principal=principal,
        clock=clock,
        form_key="citizen",
        checked=checked,
        conflict=("cpr", "err_cpr_taken"),
        action=lambda: citizen_commands.enrol(
            uow,
            actor=principal,
            command=CitizenCreate.model_validate(checked.document),
            now=clock.now(),
            timezone=settings.clinic_timezone,
        ),
        done="citizen_enrolled",
        anchor="#citizen-h",
    )


# tablets: the routes stay as they were until the device lifecycle lands in its own module


@router.post("/ui/devices")
async def enrol_device_form(
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
        lambda: devices.enrol_device(
            body=DeviceCreate.model_validate(
                {"device_id": _one(form, "device_id"), "mqtt_password": _one(form, "mqtt_password")}
            ),
            session=uow.session,
            principal=principal,
            clock=clock,
            settings=settings,
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
            body=DeviceAssign.model_validate({"citizen_id": _one(form, "citizen_id")}),
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
