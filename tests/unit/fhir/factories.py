"""Rows for the mapping tests, built in memory (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pust.db.tables import (
    Alert,
    Citizen,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
    TriageResult,
)
from pust.domain.cpr import Cpr

T0 = datetime(2026, 11, 23, 6, 14, 40, tzinfo=UTC)
CITIZEN_ID = uuid.UUID("11111111-2222-3333-4444-555555555555")
TEAM_ID = uuid.UUID("99999999-2222-3333-4444-555555555555")
SYSTEM_ID = "FE-ED-AB-EE-DE-AD-77-C3"


def reading(
    type_: str = "spo2",
    value: float = 93.0,
    unit: str = "%",
    *,
    id_: int = 1,
    entry: str = "device",
    valid: bool = True,
    at: datetime = T0,
) -> Reading:
    return Reading(
        id=id_,
        citizen_id=CITIZEN_ID,
        device_id="tab-0001",
        message_id="m1",
        type=type_,
        value=value,
        unit=unit,
        original_value=value,
        original_unit=unit,
        measured_at=at,
        sent_at=at + timedelta(seconds=20),
        received_at=at + timedelta(seconds=21),
        entry=entry,
        peripheral_id=7,
        valid=valid,
    )


def citizen() -> Citizen:
    return Citizen(
        id=CITIZEN_ID,
        care_team_id=TEAM_ID,
        cpr=Cpr("010190-1234"),
        given_name="Karen",
        family_name="Hansen",
        phone="+4512345678",
        created_at=T0,
    )


def response(valid: bool = True) -> QuestionnaireResponse:
    return QuestionnaireResponse(
        id=5,
        citizen_id=CITIZEN_ID,
        device_id="tab-0001",
        message_id="m2",
        questionnaire="kol-symptoms-v1",
        answered_at=T0,
        sent_at=T0,
        received_at=T0,
        answers=[
            {"item": "more_breathless", "value": True},
            {"item": "more_cough", "value": False},
            {"item": "cat_score", "value": 18},
        ],
        valid=valid,
    )


# the regional Questionnaire's linkIds and types for kol-symptoms-v1 (questionnaire_map.py)
REGIONAL_ITEMS = {
    "more_breathless": {"linkId": "1.1", "type": "boolean"},
    "more_cough": {"linkId": "1.2", "type": "boolean"},
    "more_sputum": {"linkId": "1.3", "type": "boolean"},
    "sputum_colour_changed": {"linkId": "1.4", "type": "boolean"},
    "cat_score": {"linkId": "2", "type": "integer"},
}


def link(*, with_versions: bool = True) -> RegionalLink:
    base = "https://careplan.example.test/fhir"
    return RegionalLink(
        citizen_id=CITIZEN_ID,
        patient_reference="https://patient.example.test/fhir/Patient/71112",
        episode_of_care_reference=f"{base}/EpisodeOfCare/99992",
        service_requests={
            "spo2": f"{base}/ServiceRequest/74365/_history/42"
            if with_versions
            else f"{base}/ServiceRequest/74365",
            "bp_systolic": {"reference": f"{base}/ServiceRequest/74366", "version": "3"},
            "kol-symptoms-v1": {
                "reference": f"{base}/ServiceRequest/74367",
                "version": "5",
                "questionnaire": "https://questionnaire.example.test/fhir/Questionnaire/78460|3",
                "items": REGIONAL_ITEMS,
            },
        },
        care_team_reference="https://organization.example.test/fhir/CareTeam/63739",
        linked_at=T0,
    )


def triage(*, reading_id: int | None = 1, severity: str = "red") -> TriageResult:
    return TriageResult(
        id=3,
        citizen_id=CITIZEN_ID,
        reading_id=reading_id,
        questionnaire_response_id=None if reading_id else 5,
        severity=severity,
        reasons=[{"rule": "spo2.absolute", "severity": severity}],
        evaluated_at=T0,
    )


def alert(*, kind: str = "reading", severity: str = "yellow", status: str = "open") -> Alert:
    return Alert(
        id=uuid.UUID("aaaaaaaa-2222-3333-4444-555555555555"),
        citizen_id=CITIZEN_ID,
        care_team_id=TEAM_ID,
        kind=kind,
        rule_key="spo2.absolute",
        severity=severity,
        band_order=1,
        status=status,
        first_seen_at=T0,
        last_seen_at=T0,
        reasons=[],
        created_at=T0,
        updated_at=T0,
        last_reading_id=1,
    )
