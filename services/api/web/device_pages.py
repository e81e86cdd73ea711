"""The tablet lifecycle in the administration page: pairing codes (shown once on a page of
their own), revoke (after a confirmation), rotate; and the broker's state beside each
tablet's health (``_admin_devices.html``). Thin: the work is in
``services/api/enrolment/commands.py``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool

from pust.db.broker_registry import last_reconcile_run
from pust.db.outbox import BROKER, PENDING
from pust.db.tables import Citizen, OutboxMessage
from services.api.deps import ApiSettingsDep, ClockDep, SettingsDep
from services.api.enrolment import commands
from services.api.problems import HANDLED_ERRORS, ForbiddenError, NotFoundError, as_api_error
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.actions import form_action, form_fields
from services.api.web.render import PagePrincipal, back_to, render

router = APIRouter(include_in_schema=False)


def broker_panel(session: Session) -> dict[str, Any]:
    """For the devices partial: the last reconcile run and the tablets whose broker change
    is still owed (a ``broker`` outbox row pending)."""
    pending = session.exec(
        select(OutboxMessage.destination, func.count())
        .where(col(OutboxMessage.channel) == BROKER, col(OutboxMessage.status) == PENDING)
        .group_by(col(OutboxMessage.destination))
    ).all()
    return {
        "broker_run": last_reconcile_run(session),
        "broker_pending": {str(device_id) for device_id, _count in pending},
    }


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values and values[0] != "" else None


@router.post("/ui/pairing-codes", response_model=None)
async def pairing_code_form(
    *,
    request: Request,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    api_settings: ApiSettingsDep,
) -> HTMLResponse | RedirectResponse:
    form = await form_fields(request)
    try:
        citizen_id = uuid.UUID(_one(form, "citizen_id") or "")
    except ValueError:
        return back_to("/admin#devices-h", error="invalid_input")
    try:
        issued = await run_in_threadpool(
            lambda: commands.create_pairing_code(
                uow,
                actor=principal,
                citizen_id=citizen_id,
                now=clock.now(),
                valid_for=timedelta(minutes=api_settings.pairing_code_minutes),
                nurses_may_pair=api_settings.nurses_may_pair,
            )
        )
    except HANDLED_ERRORS as exc:
        error = as_api_error(exc)
        if isinstance(error, NotFoundError | ForbiddenError):
            raise error from exc
        await run_in_threadpool(uow.rollback)
        return back_to("/admin#devices-h", error="error_title")
    citizen = uow.session.get(Citizen, issued.row.citizen_id)
    return render(
        request,
        "pairing_code.html",
        principal=principal,
        nav="admin",
        code=issued.code,
        expires_at=issued.row.expires_at,
        citizen=citizen,
    )


@router.post("/ui/devices/{device_id}/revoke")
async def revoke_form(
    *,
    request: Request,
    device_id: str,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    """Revoke only with ``confirm=1`` (sent by the confirmation box)."""
    form = await form_fields(request)
    if _one(form, "confirm") != "1":
        return RedirectResponse(
            f"/admin?confirm_device={device_id}&device_action=revoke#devices-h", status_code=303
        )
    return await form_action(
        uow,
        "/admin",
        lambda: commands.revoke_device(uow, actor=principal, device_id=device_id, now=clock.now()),
        done="device_revoked",
    )


@router.post("/ui/devices/{device_id}/rotate")
async def rotate_form(
    *,
    device_id: str,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    return await form_action(
        uow,
        "/admin",
        lambda: commands.rotate_device(
            uow,
            actor=principal,
            device_id=device_id,
            now=clock.now(),
            topic_root=settings.topic_root,
        ),
        done="device_rotated",
    )
