"""Tablets: enrol (with an argon2-hashed MQTT password), assign to a citizen and unassign
(time ranges), health, peripherals; and the quarantine of rejected messages."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlmodel import Session, col, select

from pust.db.device_credentials import PasswordSeal, hash_device_password
from pust.db.outbox import enqueue_broker_sync
from pust.db.tables import (
    Citizen,
    Device,
    DeviceAssignment,
    Peripheral,
    QuarantinedMessage,
)
from pust.domain.plans import parse_plan
from services.api.admin.models import (
    DeviceAssign,
    DeviceCreate,
    DevicePublic,
    PeripheralPublic,
    QuarantinedMessagePublic,
)
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Principal
from services.api.citizens.service import active_assignment
from services.api.deps import ClockDep, SettingsDep
from services.api.ids import BigIdPath
from services.api.pagination import Page, PageDep, paged
from services.api.problems import ConflictError, NotFoundError, problem_responses
from services.api.scoping import citizen_for, current_holder, device_for, require_administrator
from services.api.unit_of_work import UnitOfWorkDep, WorkSessionDep

router = APIRouter(prefix="/api/v1", tags=["devices"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


def device_public(session: Session, principal: Principal, device: Device) -> DevicePublic:
    holder = current_holder(session, device.id)
    peripherals = session.exec(
        select(Peripheral)
        .where(Peripheral.device_id == device.id)
        .order_by(col(Peripheral.last_seen_at).desc())
    ).all()
    public = DevicePublic.model_validate(device, from_attributes=True)
    if holder is not None and holder.care_team_id in principal.team_ids:
        public.citizen_id = holder.id
    public.peripherals = [
        PeripheralPublic.model_validate(p, from_attributes=True) for p in peripherals
    ]
    return public


def _changed(
    session: Session,
    principal: Principal,
    device: Device,
    *,
    action: str,
    now: datetime,
    citizen: Citizen | None = None,
) -> DevicePublic:
    """Audit a change to the tablet (naming the citizen it concerns) and answer with it."""
    record(
        session=session,
        principal=principal,
        now=now,
        action=action,
        resource_type="device",
        resource_id=device.id,
        citizen_id=citizen.id if citizen else None,
        care_team_id=citizen.care_team_id if citizen else None,
    )
    return device_public(session, principal, device)


@router.get(
    "/devices",
    response_model=Page[DevicePublic],
    summary="Tablets (administrators: all; others: their teams' citizens' tablets)",
    responses=problem_responses(401, 422),
)
def list_devices(
    *, session: WorkSessionDep, principal: CurrentStaff, page: PageDep, clock: ClockDep
) -> Page[DevicePublic]:
    statement = select(Device)
    if not principal.is_administrator:
        visible = (
            select(DeviceAssignment.device_id)
            .join(Citizen, col(Citizen.id) == col(DeviceAssignment.citizen_id))
            .where(
                col(DeviceAssignment.valid_to).is_(None),
                col(Citizen.care_team_id).in_(list(principal.team_ids)),
            )
        )
        statement = statement.where(col(Device.id).in_(visible))
    shown = paged(
        session,
        statement.order_by(col(Device.id)),
        page,
        lambda device: device_public(session, principal, device),
    )
    holders = [current_holder(session, i.id) for i in shown.items if i.citizen_id]
    record_citizen_reads(
        session=session,
        principal=principal,
        now=clock.now(),
        action="device.list",
        citizens=[(h.id, h.care_team_id) for h in holders if h],
    )
    return shown


@router.post(
    "/devices",
    response_model=DevicePublic,
    status_code=201,
    summary="Enrol a tablet (its MQTT username is the device id)",
    responses=_ACT,
)
def enrol_device(
    *,
    body: DeviceCreate,
    session: WorkSessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> DevicePublic:
    require_administrator(principal)
    if session.get(Device, body.device_id) is not None:
        raise ConflictError("A device with this id is enrolled already.")
    now = clock.now()
    device = Device(
        id=body.device_id,
        mqtt_password_hash=hash_device_password(body.mqtt_password),
        mqtt_password_sealed=PasswordSeal(settings.secret_key.get_secret_value()).seal(
            body.device_id, body.mqtt_password
        ),
        enrolled_at=now,
    )
    session.add(device)
    session.flush()
    enqueue_broker_sync(session, device_id=device.id, now=now)
    return _changed(session, principal, device, action="device.enrol", now=now)


@router.get(
    "/devices/{device_id}",
    response_model=DevicePublic,
    summary="One tablet with its health and peripherals",
    responses=_READ,
)
def read_device(
    *, device_id: str, session: WorkSessionDep, principal: CurrentStaff, clock: ClockDep
) -> DevicePublic:
    public = device_public(session, principal, device_for(session, principal, device_id))
    holder = current_holder(session, device_id) if public.citizen_id else None
    record(
        session=session,
        principal=principal,
        now=clock.now(),
        action="device.read",
        resource_type="device",
        resource_id=device_id,
        citizen_id=holder.id if holder else None,
        care_team_id=holder.care_team_id if holder else None,
    )
    return public


@router.post(
    "/devices/{device_id}/assign",
    response_model=DevicePublic,
    summary="Give the tablet to a citizen (from now; the tablet gets the plan)",
    responses=_ACT,
)
def assign_device(
    *,
    device_id: str,
    body: DeviceAssign,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> DevicePublic:
    require_administrator(principal)
    session = uow.session
    device = device_for(session, principal, device_id)
    citizen = citizen_for(session, principal, body.citizen_id)
    if device.status != "active":
        raise ConflictError("This device is retired.")
    if active_assignment(session, device.id) is not None:
        raise ConflictError("The tablet is assigned to a citizen already; unassign it first.")
    if uow.tablets.device_of(citizen.id) is not None:
        raise ConflictError("The citizen has a tablet already; unassign that one first.")
    now = clock.now()
    session.add(
        DeviceAssignment(
            device_id=device.id,
            citizen_id=citizen.id,
            valid_from=now,
            assigned_by=principal.staff_id,
        )
    )
    plan = uow.citizens.current_plan(citizen.id)
    if plan is not None:  # the tablet gets the plan through the one tablet outbox
        uow.tablets.send_plan(
            device_id=device.id, plan=parse_plan(plan.schedule), version=plan.version, now=now
        )
    return _changed(session, principal, device, action="device.assign", now=now, citizen=citizen)


@router.post(
    "/devices/{device_id}/unassign",
    response_model=DevicePublic,
    summary="Take the tablet back (the assignment ends now)",
    responses=_ACT,
)
def unassign_device(
    *, device_id: str, session: WorkSessionDep, principal: CurrentStaff, clock: ClockDep
) -> DevicePublic:
    require_administrator(principal)
    device = device_for(session, principal, device_id)
    assignment = active_assignment(session, device.id)
    if assignment is None:
        raise ConflictError("The tablet is not assigned.")
    citizen = citizen_for(session, principal, assignment.citizen_id)
    now = clock.now()
    assignment.valid_to = max(now, assignment.valid_from)
    session.add(assignment)
    return _changed(session, principal, device, action="device.unassign", now=now, citizen=citizen)


def quarantine_public(row: QuarantinedMessage, *, with_payload: bool) -> QuarantinedMessagePublic:
    public = QuarantinedMessagePublic.model_validate(row, from_attributes=True)
    if with_payload:
        try:
            public.payload_text = bytes(row.payload).decode("utf-8")
        except UnicodeDecodeError:
            public.payload_text = None
    return public


@router.get(
    "/quarantine",
    response_model=Page[QuarantinedMessagePublic],
    summary="Rejected device messages, newest first",
    responses=problem_responses(401, 403, 422),
)
def list_quarantine(
    *,
    session: WorkSessionDep,
    principal: CurrentStaff,
    page: PageDep,
    clock: ClockDep,
    device_id: str | None = None,
) -> Page[QuarantinedMessagePublic]:
    require_administrator(principal)
    statement = select(QuarantinedMessage)
    if device_id:
        statement = statement.where(QuarantinedMessage.device_id == device_id)
    newest_first = statement.order_by(
        col(QuarantinedMessage.received_at).desc(), col(QuarantinedMessage.id).desc()
    )
    shown = paged(
        session, newest_first, page, lambda row: quarantine_public(row, with_payload=False)
    )
    record(
        session=session,
        principal=principal,
        now=clock.now(),
        action="quarantine.list",
        resource_type="quarantine",
    )
    return shown


@router.get(
    "/quarantine/{message_id}",
    response_model=QuarantinedMessagePublic,
    summary="One rejected message with its payload",
    responses=problem_responses(401, 403, 404, 422),
)
def read_quarantined(
    *, message_id: BigIdPath, session: WorkSessionDep, principal: CurrentStaff, clock: ClockDep
) -> QuarantinedMessagePublic:
    require_administrator(principal)
    row = session.get(QuarantinedMessage, message_id)
    if row is None:
        raise NotFoundError("No such quarantined message.")
    record(
        session=session,
        principal=principal,
        now=clock.now(),
        action="quarantine.read",
        resource_type="quarantine",
        resource_id=str(row.id),
    )
    return quarantine_public(row, with_payload=True)
