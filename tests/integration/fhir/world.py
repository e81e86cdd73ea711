"""Rows for the FHIR integration tests: teams, linked citizens, tablets, readings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import (
    CareTeam,
    Citizen,
    Device,
    Peripheral,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
)
from pust.domain.cpr import Cpr

T0 = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
REGION = "https://careplan.region.test/fhir"
SERVICE_REQUESTS = {
    "spo2": f"{REGION}/ServiceRequest/1/_history/2",
    "pulse": f"{REGION}/ServiceRequest/2/_history/1",
    "bp_systolic": f"{REGION}/ServiceRequest/3/_history/4",
    "kol-symptoms-v1": {
        "reference": f"{REGION}/ServiceRequest/4",
        "version": "2",
        "questionnaire": f"{REGION}/Questionnaire/9|3",
        "items": {
            "more_breathless": {"linkId": "1.1", "type": "boolean"},
            "cat_score": {"linkId": "2", "type": "integer"},
        },
    },
}


@dataclass
class World:
    team_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    citizen_ids: list[uuid.UUID] = field(default_factory=list)
    reading_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)


def add_team(engine: Engine, name: str, mode: str) -> uuid.UUID:
    with session_scope(engine) as s:
        team = CareTeam(name=name, operating_mode=mode)
        s.add(team)
        s.flush()
        return team.id


_serial = iter(range(10**6))


def add_citizen(
    engine: Engine, team_id: uuid.UUID, *, linked: bool = True, device_id: str | None = None
) -> tuple[uuid.UUID, str, int]:
    n = next(_serial)
    device_id = device_id or f"tab-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as s:
        citizen = Citizen(
            care_team_id=team_id,
            cpr=Cpr(f"0101{n % 100:02d}{n % 10000:04d}"),
            given_name="Test",
            family_name=f"Borger{n}",
        )
        s.add(citizen)
        s.add(Device(id=device_id))
        s.flush()
        peripheral = Peripheral(
            device_id=device_id, system_id=f"00-1B-DC-0F-00-00-{n % 256:02X}-01"
        )
        s.add(peripheral)
        if linked:
            s.add(
                RegionalLink(
                    citizen_id=citizen.id,
                    patient_reference=f"https://patient.region.test/fhir/Patient/{n}",
                    episode_of_care_reference=f"{REGION}/EpisodeOfCare/{n}",
                    service_requests=SERVICE_REQUESTS,
                    linked_at=T0 - timedelta(days=1),
                )
            )
        s.flush()
        assert peripheral.id is not None
        return citizen.id, device_id, peripheral.id


def add_reading(
    engine: Engine,
    citizen_id: uuid.UUID,
    device_id: str,
    peripheral_id: int | None,
    type_: str,
    value: float,
    unit: str,
    at: datetime,
    *,
    received: datetime | None = None,
    message_id: str | None = None,
) -> int:
    received = received or at + timedelta(seconds=5)
    with session_scope(engine) as s:
        reading = Reading(
            citizen_id=citizen_id,
            device_id=device_id,
            message_id=message_id or uuid.uuid4().hex,
            type=type_,
            value=value,
            unit=unit,
            original_value=value,
            original_unit=unit,
            measured_at=at,
            sent_at=received,
            received_at=received,
            peripheral_id=peripheral_id,
        )
        s.add(reading)
        s.flush()
        assert reading.id is not None
        return reading.id


def add_response(engine: Engine, citizen_id: uuid.UUID, device_id: str, at: datetime) -> int:
    with session_scope(engine) as s:
        response = QuestionnaireResponse(
            citizen_id=citizen_id,
            device_id=device_id,
            message_id=uuid.uuid4().hex,
            questionnaire="kol-symptoms-v1",
            answered_at=at,
            sent_at=at,
            received_at=at,
            answers=[
                {"item": "more_breathless", "value": True},
                {"item": "cat_score", "value": 12},
            ],
        )
        s.add(response)
        s.flush()
        assert response.id is not None
        return response.id
