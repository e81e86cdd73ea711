"""Object-level authorization: every id in a path is loaded through here. An object of a
care team the caller is not in is answered exactly like one that does not exist (404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    Citizen,
    CitizenNote,
    Device,
    DeviceAssignment,
    QuestionnaireResponse,
    Reading,
)
from services.api.auth.principal import Principal
from services.api.problems import ForbiddenError, NotFoundError


def _visible(principal: Principal, team_id: uuid.UUID) -> bool:
    return team_id in principal.team_ids


def ensure_visible(principal: Principal, team_id: uuid.UUID | None, missing: str) -> None:
    """For use cases: an object of another team (``team_id``) or none (``None``) is
    answered alike, with ``missing`` (e.g. "No such citizen.")."""
    if team_id is None or not _visible(principal, team_id):
        raise NotFoundError(missing)


def citizen_for(session: Session, principal: Principal, citizen_id: uuid.UUID) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or not _visible(principal, citizen.care_team_id):
        raise NotFoundError("No such citizen.")
    return citizen


def alert_for(session: Session, principal: Principal, alert_id: uuid.UUID) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or not _visible(principal, alert.care_team_id):
        raise NotFoundError("No such alert.")
    return alert


def reading_for(session: Session, principal: Principal, reading_id: int) -> tuple[Reading, Citizen]:
    row = session.exec(
        select(Reading, Citizen)
        .join(Citizen, col(Citizen.id) == col(Reading.citizen_id))
        .where(Reading.id == reading_id)
    ).first()
    if row is None or not _visible(principal, row[1].care_team_id):
        raise NotFoundError("No such reading.")
    return row[0], row[1]


def response_for(
    session: Session, principal: Principal, response_id: int
) -> tuple[QuestionnaireResponse, Citizen]:
    row = session.exec(
        select(QuestionnaireResponse, Citizen)
        .join(Citizen, col(Citizen.id) == col(QuestionnaireResponse.citizen_id))
        .where(QuestionnaireResponse.id == response_id)
    ).first()
    if row is None or not _visible(principal, row[1].care_team_id):
        raise NotFoundError("No such questionnaire response.")
    return row[0], row[1]


def note_for(
    session: Session, principal: Principal, citizen: Citizen, note_id: uuid.UUID
) -> CitizenNote:
    note = session.get(CitizenNote, note_id)
    if note is None or note.citizen_id != citizen.id:
        raise NotFoundError("No such note.")
    return note


def current_holder(session: Session, device_id: str) -> Citizen | None:
    """The citizen a tablet is assigned to now (open assignment), if any."""
    return session.exec(
        select(Citizen)
        .join(DeviceAssignment, col(DeviceAssignment.citizen_id) == col(Citizen.id))
        .where(DeviceAssignment.device_id == device_id, col(DeviceAssignment.valid_to).is_(None))
    ).first()


def device_for(session: Session, principal: Principal, device_id: str) -> Device:
    """Administrators see every device (they enrol unassigned ones); others only the tablets
    of their teams' citizens."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError("No such device.")
    if principal.is_administrator:
        return device
    holder = current_holder(session, device_id)
    if holder is None or not _visible(principal, holder.care_team_id):
        raise NotFoundError("No such device.")
    return device


def require_action(principal: Principal) -> None:
    if not principal.may_act:
        raise ForbiddenError("This account may read but not change anything.")


def require_administrator(principal: Principal) -> None:
    if not principal.is_administrator:
        raise ForbiddenError("Only an administrator may do this.")


def current_devices(session: Session, citizen_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Device]:
    """The tablet assigned now to each of these citizens that has one (a list's column)."""
    return dict(
        session.exec(
            select(DeviceAssignment.citizen_id, Device)
            .join(Device, col(Device.id) == col(DeviceAssignment.device_id))
            .where(
                col(DeviceAssignment.citizen_id).in_(citizen_ids),
                col(DeviceAssignment.valid_to).is_(None),
            )
        ).all()
    )


def current_device_id(session: Session, citizen_id: uuid.UUID) -> str | None:
    """The tablet assigned to the citizen now (open assignment), if any."""
    return session.exec(
        select(DeviceAssignment.device_id).where(
            DeviceAssignment.citizen_id == citizen_id, col(DeviceAssignment.valid_to).is_(None)
        )
    ).first()
