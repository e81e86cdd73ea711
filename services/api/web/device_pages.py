"""The tablet lifecycle in the administration page: pairing codes (shown once on a page of
their own), revoke (after a confirmation), rotate; and the broker's state beside each
tablet's health (``_admin_devices.html``). Thin: the work is in
``services/api/enrolment/commands.py``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool

from pust.db.broker_registry import last_reconcile_run
from pust.db.outbox import BROKER, PENDING
from pust.db.tables import Citizen, OutboxMessage
from services.api.deps import ApiSettingsDep, SettingsDep
from services.api.enrolment import commands
from services.api.problems import HANDLED_ERRORS, ForbiddenError, NotFoundError, as_api_error
from services.api.web.actions import PostedFormDep
from services.api.web.render import back_to, render

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


@router.post("/ui/pairing-codes", response_model=None)
async def pairing_code_form(
    *, posted: PostedFormDep, api_settings: ApiSettingsDep
) -> HTMLResponse | RedirectResponse:
    uow, principal = posted.uow, posted.principal
    try:
        citizen_id = uuid.UUID(posted.one("citizen_id") or "")
    except ValueError:
        return back_to("/admin#devices-h", error="invalid_input")
    try:
        issued = await run_in_threadpool(
            lambda: commands.create_pairing_code(
                uow,
                actor=principal,
                citizen_id=citizen_id,
                now=posted.now(),
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
        posted.request,
        "pairing_code.html",
        principal=principal,
        nav="admin",
        code=issued.code,
        expires_at=issued.row.expires_at,
        citizen=citizen,
    )


@router.post("/ui/devices/{device_id}/revoke")
async def revoke_form(*, device_id: str, posted: PostedFormDep) -> RedirectResponse:
    """Revoke only with ``confirm=1`` (sent by the confirmation box)."""
    if posted.one("confirm") != "1":
        return RedirectResponse(
            f"/admin?confirm_device={device_id}&device_action=revoke#devices-h", status_code=303
        )
    return await posted.act(
        lambda: commands.revoke_device(
            posted.uow, actor=posted.principal, device_id=device_id, now=posted.now()
        ),
        next_url="/admin",
        done="device_revoked",
    )


@router.post("/ui/devices/{device_id}/rotate")
async def rotate_form(
    *, device_id: str, posted: PostedFormDep, settings: SettingsDep
) -> RedirectResponse:
    return await posted.act(
        lambda: commands.rotate_device(
            posted.uow,
            actor=posted.principal,
            device_id=device_id,
            now=posted.now(),
            topic_root=settings.topic_root,
        ),
        next_url="/admin",
        done="device_rotated",
    )
