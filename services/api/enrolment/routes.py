"""Tablet enrolment by pairing code, revocation and rotation. Thin: the work is in
``commands.py``."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi import APIRouter, Request

from services.api.auth.current import CurrentStaff, client_address
from services.api.deps import ApiSettingsDep, ClockDep, SettingsDep
from services.api.enrolment import commands
from services.api.enrolment.models import (
    MqttCredentials,
    PairingCodeCreate,
    PairingCodePublic,
    PairRequest,
)
from services.api.enrolment.rate_limit import SlidingWindowLimiter
from services.api.problems import TooManyAttemptsError, problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.post(
    "/pairing-codes",
    response_model=PairingCodePublic,
    status_code=201,
    summary="A one-time code with which a tablet gets its credentials (shown once)",
    responses=problem_responses(401, 403, 404, 422),
)
def create_pairing_code(
    *,
    body: PairingCodeCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
    api_settings: ApiSettingsDep,
) -> PairingCodePublic:
    issued = commands.create_pairing_code(
        uow,
        actor=principal,
        citizen_id=body.citizen_id,
        now=clock.now(),
        valid_for=timedelta(minutes=api_settings.pairing_code_minutes),
        nurses_may_pair=api_settings.nurses_may_pair,
    )
    return PairingCodePublic(
        code=issued.code, citizen_id=issued.row.citizen_id, expires_at=issued.row.expires_at
    )


def _limiter(request: Request, attempts: int) -> SlidingWindowLimiter:
    limiter = getattr(request.app.state, "pairing_limiter", None)
    if limiter is None:
        limiter = SlidingWindowLimiter(attempts=attempts, window_seconds=60)
        request.app.state.pairing_limiter = limiter
    assert isinstance(limiter, SlidingWindowLimiter)
    return limiter


@router.post(
    "/enrolment/pair",
    response_model=MqttCredentials,
    summary="The tablet's MQTT credentials for a pairing code and its device id (once)",
    responses=problem_responses(400, 409, 422, 429),
)
def pair(
    *,
    body: PairRequest,
    request: Request,
    uow: UnitOfWorkDep,
    clock: ClockDep,
    settings: SettingsDep,
    api_settings: ApiSettingsDep,
) -> MqttCredentials:
    client = client_address(request)  # the real client behind a trusted proxy
    wait = _limiter(request, api_settings.pairing_attempts_per_minute).allow(
        client, time.monotonic()
    )
    if wait is not None:
        raise TooManyAttemptsError(
            "Too many pairing attempts; try again in a minute.",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    return commands.pair(
        uow,
        code=body.code,
        device_id=body.device_id,
        now=clock.now(),
        topic_root=settings.topic_root,
    )


@router.post(
    "/devices/{device_id}/revoke",
    status_code=204,
    summary="Revoke a tablet: the broker disconnects it and refuses it from now on",
    responses=problem_responses(401, 403, 404),
)
def revoke_device(
    *, device_id: str, uow: UnitOfWorkDep, principal: CurrentStaff, clock: ClockDep
) -> None:
    commands.revoke_device(uow, actor=principal, device_id=device_id, now=clock.now())


@router.post(
    "/devices/{device_id}/rotate",
    response_model=MqttCredentials,
    summary="A new MQTT password for the tablet (shown once; the old one stops working)",
    responses=problem_responses(401, 403, 404, 409),
)
def rotate_device(
    *,
    device_id: str,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> MqttCredentials:
    return commands.rotate_device(
        uow, actor=principal, device_id=device_id, now=clock.now(), topic_root=settings.topic_root
    )
