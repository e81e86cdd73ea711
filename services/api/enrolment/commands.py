"""Tablet enrolment by one-time pairing code, revocation and rotation (the use cases).

- An administrator — or, where ``PUST_API_NURSES_MAY_PAIR`` is on, a nurse or team lead of
  the citizen's care team — creates a pairing code for a citizen: valid for
  ``PUST_API_PAIRING_CODE_MINUTES``, once.
- The tablet sends the code and its device id (``POST /api/v1/enrolment/pair``) and gets its
  MQTT credentials, once: the device is enrolled if new, assigned to the code's citizen and
  given a fresh random password (stored as an argon2 hash for the embedded broker and sealed
  for Mosquitto, which the outbox channel ``broker`` tells).
- Revoking disables the tablet on the broker (a connected one is disconnected at once);
  rotating gives it a new password (the old one is refused from then on).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pust.db.tables import Device, PairingCode
from pust.domain.plans import parse_plan
from services.api.auth.principal import Principal, Role
from services.api.enrolment.codes import code_hash, new_code
from services.api.enrolment.models import MqttCredentials
from services.api.problems import ApiError, ConflictError, ForbiddenError, NotFoundError
from services.api.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ACTIVE = "active"


class PairingRefused(ApiError):
    """A code that is wrong, used or expired: one answer for all three, so that the
    endpoint tells a guesser nothing (the reason is logged, with ids only)."""

    status = 400
    title = "Pairing code not accepted"
    type_slug = "pairing-code-not-accepted"


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    row: PairingCode


def _may_pair(actor: Principal, care_team_id: uuid.UUID, *, nurses_may_pair: bool) -> bool:
    if actor.is_administrator:
        return True
    return (
        nurses_may_pair
        and actor.role in (Role.NURSE, Role.TEAM_LEAD)
        and care_team_id in actor.team_ids
    )


def create_pairing_code(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    now: datetime,
    valid_for: timedelta,
    nurses_may_pair: bool,
) -> IssuedCode:
    citizen = uow.citizens.get(citizen_id)
    if citizen is None or not (actor.is_administrator or citizen.care_team_id in actor.team_ids):
        raise NotFoundError("No such citizen.")
    if not _may_pair(actor, citizen.care_team_id, nurses_may_pair=nurses_may_pair):
        raise ForbiddenError("Only an administrator may pair a tablet.")
    code = new_code()
    row = PairingCode(
        code_hash=code_hash(code),
        citizen_id=citizen.id,
        created_by=actor.staff_id,
        created_at=now,
        expires_at=now + valid_for,
    )
    uow.enrolment.add_code(row)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="device.pairing_code",
        resource_type="pairing_code",
        resource_id=str(row.id),
    )
    return IssuedCode(code, row)


def pair(
    uow: UnitOfWork, *, code: str, device_id: str, now: datetime, topic_root: str
) -> MqttCredentials:
    """Exchange a pairing code for the tablet's MQTT credentials."""
    row = uow.enrolment.code(code_hash(code))
    reason = None
    if row is None:
        reason = "unknown"
    elif row.used_at is not None:
        reason = "used"
    elif row.expires_at <= now:
        reason = "expired"
    if reason is not None or row is None:
        log.warning("enrolment.pair_refused device_id=%s reason=%s", device_id, reason)
        raise PairingRefused("This pairing code is wrong, used or expired. Ask for a new one.")
    citizen = uow.citizens.get(row.citizen_id)
    if citizen is None:  # pragma: no cover - a foreign key
        raise PairingRefused("This pairing code is wrong, used or expired. Ask for a new one.")
    device = uow.enrolment.device(device_id)
    if device is None:
        device = Device(id=device_id, enrolled_at=now)
        uow.enrolment.add_device(device, now=now)
    holder = uow.enrolment.holder(device_id)
    if holder is not None and holder != citizen.id:
        log.warning("enrolment.pair_refused device_id=%s reason=other_citizen", device_id)
        raise ConflictError("This tablet belongs to another citizen; unassign it first.")
    if holder is None:
        other = uow.tablets.device_of(citizen.id)
        if other is not None:
            raise ConflictError("The citizen has another tablet; unassign that one first.")
        uow.enrolment.assign(device_id=device_id, citizen_id=citizen.id, now=now, by=None)
        plan = uow.citizens.current_plan(citizen.id)
        if plan is not None:
            uow.tablets.send_plan(
                device_id=device_id, plan=parse_plan(plan.schedule), version=plan.version, now=now
            )
    device.status = ACTIVE
    password = uow.enrolment.issue_password(device, now=now)
    row.used_at = now
    row.device_id = device_id
    uow.enrolment.device_event(device_id=device_id, citizen=citizen, now=now, action="device.pair")
    log.info("enrolment.paired device_id=%s", device_id)
    return MqttCredentials.for_device(device_id, password=password, topic_root=topic_root)


def _device(uow: UnitOfWork, actor: Principal, device_id: str) -> Device:
    if not actor.is_administrator:
        raise ForbiddenError("Only an administrator may do this.")
    device = uow.enrolment.device(device_id)
    if device is None:
        raise NotFoundError("No such device.")
    return device


def revoke_device(uow: UnitOfWork, *, actor: Principal, device_id: str, now: datetime) -> Device:
    device = _device(uow, actor, device_id)
    uow.enrolment.revoke(device, now=now)
    uow.audit.record(
        actor=actor, now=now, action="device.revoke", resource_type="device", resource_id=device_id
    )
    return device


def rotate_device(
    uow: UnitOfWork, *, actor: Principal, device_id: str, now: datetime, topic_root: str
) -> MqttCredentials:
    device = _device(uow, actor, device_id)
    if device.status != ACTIVE:
        raise ConflictError("This tablet is revoked; pair it again with a new code.")
    password = uow.enrolment.issue_password(device, now=now)
    uow.audit.record(
        actor=actor, now=now, action="device.rotate", resource_type="device", resource_id=device_id
    )
    return MqttCredentials.for_device(device_id, password=password, topic_root=topic_root)
