"""Patient, Device and Observation: read and search."""

from __future__ import annotations

import uuid
from datetime import datetime
from operator import attrgetter
from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from pust.db.tables import Citizen, Device, DeviceAssignment, Peripheral, Reading
from pust.domain.cpr import Cpr, InvalidCpr
from pust.fhir import urls
from pust.fhir.observation import build_observation
from pust.fhir.patient import (
    PERIPHERAL_PREFIX,
    build_patient,
    build_peripheral,
    build_tablet,
    device_reference,
    patient_reference,
)
from services.api.fhir.deps import (
    AskDep,
    Count,
    DateParam,
    IdParam,
    LastUpdated,
    Offset,
    PatientParam,
    TokenParam,
)
from services.api.fhir.params import (
    DateBound,
    parse_count,
    parse_dates,
    parse_offset,
    parse_patient,
    parse_tokens,
)
from services.api.fhir.queries import (
    date_filter,
    measurements,
    not_folded,
    observation_filters,
    observation_last_updated,
    visible,
)
from services.api.fhir.responses import FhirResponse
from services.api.fhir.search import (
    Ask,
    answer_read,
    answer_rows,
    answer_search,
    id_filter,
    not_found,
    row_id,
    visible_citizen,
)


def register(router: APIRouter) -> None:
    router.add_api_route("/Patient", search_patients, methods=["GET"])
    router.add_api_route("/Patient/{resource_id}", read_patient, methods=["GET"])
    router.add_api_route("/Device", search_devices, methods=["GET"])
    router.add_api_route("/Device/{resource_id}", read_device, methods=["GET"])
    router.add_api_route("/Observation", search_observations, methods=["GET"])
    router.add_api_route("/Observation/{resource_id}", read_observation, methods=["GET"])


def _uuid(value: str, resource_type: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise not_found(resource_type) from exc


# --- Patient ----------------------------------------------------------------------------


def search_patients(
    ask: AskDep,
    *,
    ids: IdParam = None,
    identifier: TokenParam = None,
    _count: Count = None,
    _offset: Offset = None,
    last_updated: LastUpdated = None,
) -> FhirResponse:
    ask.check_params("Patient")
    statement = select(Citizen).where(col(Citizen.care_team_id).in_(list(ask.teams)))
    for raw in ask.values("_id"):
        wanted_ids = [_maybe_uuid(v) for v in raw.split(",")]
        statement = statement.where(col(Citizen.id).in_([i for i in wanted_ids if i is not None]))
    for raw in ask.values("identifier"):
        wanted = []
        for token in parse_tokens(raw, "identifier"):
            if token.system not in (None, urls.CPR):
                continue
            try:
                wanted.append(Cpr(token.code))
            except InvalidCpr:
                continue
        statement = statement.where(col(Citizen.cpr).in_(wanted))
    statement = statement.where(
        *date_filter(
            col(Citizen.created_at), parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
        )
    )
    return answer_rows(
        ask,
        statement,
        col(Citizen.id),
        resource_type="Patient",
        resources=lambda rows: [build_patient(c) for c in rows],
        citizen_of=attrgetter("id"),
    )


def _maybe_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def read_patient(ask: AskDep, resource_id: str) -> FhirResponse:
    citizen = visible_citizen(ask, _uuid(resource_id, "Patient"))
    if citizen is None:
        raise not_found("Patient")
    return answer_read(ask, build_patient(citizen), citizen=citizen)


# --- Device -----------------------------------------------------------------------------


def _visible_devices(ask: Ask, citizen_id: uuid.UUID | None) -> list[tuple[Device, Citizen]]:
    statement = (
        select(Device, Citizen)
        .join(DeviceAssignment, col(DeviceAssignment.device_id) == col(Device.id))
        .join(Citizen, col(Citizen.id) == col(DeviceAssignment.citizen_id))
        .where(
            col(DeviceAssignment.valid_to).is_(None), col(Citizen.care_team_id).in_(list(ask.teams))
        )
    )
    if citizen_id is not None:
        statement = statement.where(col(Citizen.id) == citizen_id)
    return list(ask.session.exec(statement.order_by(col(Device.id))).all())


def search_devices(
    ask: AskDep,
    *,
    patient: PatientParam = None,
    _count: Count = None,
    _offset: Offset = None,
) -> FhirResponse:
    ask.check_params("Device")
    raw = ask.value("patient")
    citizen_id = parse_patient(raw, "patient") if raw else None
    wanted_ids = [set(raw.split(",")) for raw in ask.values("_id")]
    bounds = parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
    resources: list[dict[str, Any]] = []
    holders: list[uuid.UUID] = []
    for device, citizen in _visible_devices(ask, citizen_id):
        peripherals = ask.session.exec(
            select(Peripheral).where(Peripheral.device_id == device.id).order_by(col(Peripheral.id))
        ).all()
        for resource in [build_tablet(device), *(build_peripheral(p) for p in peripherals)]:
            resource["patient"] = patient_reference(citizen.id)  # what patient= matches
            if all(resource["id"] in wanted for wanted in wanted_ids) and _within(resource, bounds):
                resources.append(resource)
                holders.append(citizen.id)
    count, offset = parse_count(ask.value("_count")), parse_offset(ask.value("_offset"))
    shown = resources[offset : offset + count]
    return answer_search(
        ask,
        resource_type="Device",
        resources=shown,
        citizen_ids=holders[offset : offset + count],
        total=len(resources),
        count=count,
        offset=offset,
    )


def _within(resource: dict[str, Any], bounds: list[DateBound]) -> bool:
    updated = datetime.fromisoformat(resource["meta"]["lastUpdated"].replace("Z", "+00:00"))
    return all(
        (b.start is None or updated >= b.start) and (b.end is None or updated < b.end)
        for b in bounds
    )


def read_device(ask: AskDep, resource_id: str) -> FhirResponse:
    device_id = resource_id
    peripheral = None
    if resource_id.startswith(PERIPHERAL_PREFIX):
        suffix = resource_id.removeprefix(PERIPHERAL_PREFIX)
        peripheral = ask.session.get(Peripheral, pid) if (pid := row_id(suffix)) else None
        if peripheral is None:
            raise not_found("Device")
        device_id = peripheral.device_id
    found = [d for d in _visible_devices(ask, None) if d[0].id == device_id]
    if not found:
        raise not_found("Device")
    device, citizen = found[0]
    resource = build_peripheral(peripheral) if peripheral else build_tablet(device)
    resource["patient"] = patient_reference(citizen.id)
    return answer_read(ask, resource, citizen=citizen)


# --- Observation --------------------------------------------------------------------------


def _observations(ask: Ask, readings: list[Reading]) -> list[dict[str, Any]]:
    return [
        build_observation(
            m,
            subject=patient_reference(m.primary.citizen_id),
            device=device_reference(m.primary.device_id, m.primary.peripheral_id),
            resource_id=str(m.primary.id),
        )
        for m in measurements(ask.session, readings)
    ]


def search_observations(
    ask: AskDep,
    *,
    patient: PatientParam = None,
    subject: PatientParam = None,
    code: TokenParam = None,
    date: DateParam = None,
    _count: Count = None,
    _offset: Offset = None,
    last_updated: LastUpdated = None,
) -> FhirResponse:
    ask.check_params("Observation")
    statement = select(Reading).where(
        visible(col(Reading.citizen_id), ask.teams),
        not_folded(),
        *id_filter(ask, col(Reading.id), row_id),
    )
    for name in ("patient", "subject"):
        for raw in ask.values(name):
            statement = statement.where(col(Reading.citizen_id) == parse_patient(raw, name))
    for raw in ask.values("code"):
        statement = statement.where(observation_filters(parse_tokens(raw, "code")))
    statement = statement.where(
        *date_filter(col(Reading.measured_at), parse_dates(ask.values("date"), "date")),
        *date_filter(
            observation_last_updated(), parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
        ),
    )
    return answer_rows(
        ask,
        statement,
        col(Reading.id),
        resource_type="Observation",
        resources=lambda rows: _observations(ask, rows),
    )


def read_observation(ask: AskDep, resource_id: str) -> FhirResponse:
    reading = ask.session.get(Reading, rid) if (rid := row_id(resource_id)) else None
    citizen = visible_citizen(ask, reading.citizen_id) if reading else None
    if reading is None or citizen is None:
        raise not_found("Observation")
    unfolded = ask.session.exec(
        select(Reading.id).where(not_folded(), Reading.id == reading.id)
    ).first()
    if unfolded is None:
        # a diastolic inside its systolic's blood pressure Observation has no id of its own
        raise not_found("Observation")
    (resource,) = _observations(ask, [reading])
    return answer_read(ask, resource, citizen=citizen)
