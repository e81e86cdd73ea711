"""The FHIR read API's test world: two municipalities' care teams (A, B), an integrator and a
nurse of A, a nurse of B; citizens with tablets, peripherals, readings (a blood pressure
pair among them), triage results with the limits in force, answers and alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import (
    Alert,
    CareTeam,
    Citizen,
    Device,
    DeviceAssignment,
    LimitSet,
    Peripheral,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
    StaffMembership,
    StaffUser,
    TriageResult,
)
from pust.domain.cpr import Cpr
from pust.domain.limits import default_rule_set
from services.api.auth.passwords import hash_password

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
B_SECRETS = ("Bodil", "Bagger", "0303003456")  # nothing of team B may reach a team A caller


@dataclass
class Side:
    team_id: uuid.UUID
    citizen_ids: list[uuid.UUID] = field(default_factory=list)
    reading_ids: list[int] = field(default_factory=list)
    bp_ids: tuple[int, int] = (0, 0)
    response_ids: list[int] = field(default_factory=list)
    triage_ids: list[int] = field(default_factory=list)
    alert_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class FhirWorld:
    a: Side
    b: Side


def _reading(
    citizen: Citizen,
    device: str,
    peripheral: int | None,
    type_: str,
    value: float,
    unit: str,
    at: datetime,
    entry: str = "device",
) -> Reading:
    return Reading(
        citizen_id=citizen.id,
        device_id=device,
        message_id=uuid.uuid4().hex,
        type=type_,
        value=value,
        unit=unit,
        original_value=value,
        original_unit=unit,
        measured_at=at,
        sent_at=at,
        received_at=at + timedelta(seconds=3),
        entry=entry,
        peripheral_id=peripheral,
        severity="green",
        triaged_at=at,
    )


_HASH: list[str] = []


def build(engine: Engine) -> FhirWorld:
    if not _HASH:  # one slow argon2 hash per test run
        _HASH.append(hash_password(PASSWORD))
    password = _HASH[0]
    with session_scope(engine) as s:
        team_a, team_b = CareTeam(name="Kommune A"), CareTeam(name="Kommune B")
        s.add_all([team_a, team_b])
        s.flush()
        for username, role, team in (
            ("integrator-a", "integrator", team_a),
            ("nurse-a", "nurse", team_a),
            ("nurse-b", "nurse", team_b),
            ("admin-a", "administrator", team_a),
        ):
            user = StaffUser(
                username=username, display_name=username, role=role, password_hash=password
            )
            s.add(user)
            s.flush()
            s.add(StaffMembership(staff_id=user.id, care_team_id=team.id))
        sides = []
        people = {
            team_a.id: [("Anna", "Andersen", "0101001234"), ("Arne", "Aagaard", "0202002345")],
            team_b.id: [("Bodil", "Bagger", "0303003456")],
        }
        for t, team in enumerate((team_a, team_b)):
            side = Side(team_id=team.id)
            for c, (given, family, cpr) in enumerate(people[team.id]):
                citizen = Citizen(
                    care_team_id=team.id,
                    cpr=Cpr(cpr),
                    given_name=given,
                    family_name=family,
                    created_at=NOW - timedelta(days=30),
                )
                s.add(citizen)
                device = f"tablet-{t}{c}"
                s.add(Device(id=device, enrolled_at=NOW - timedelta(days=30)))
                s.flush()
                side.citizen_ids.append(citizen.id)
                s.add(
                    DeviceAssignment(
                        device_id=device, citizen_id=citizen.id, valid_from=NOW - timedelta(days=30)
                    )
                )
                peripheral = Peripheral(device_id=device, system_id=f"FE-ED-AB-EE-DE-AD-7{t}-C{c}")
                limits = LimitSet(
                    citizen_id=citizen.id,
                    version=1,
                    rules=default_rule_set().to_json(),
                    reason="start",
                )
                s.add_all([peripheral, limits])
                s.flush()
                if t == 0 and c == 0:
                    s.add(
                        RegionalLink(
                            citizen_id=citizen.id,
                            patient_reference="https://patient.region.test/fhir/Patient/1",
                            episode_of_care_reference="https://careplan.region.test/fhir/EpisodeOfCare/1",
                            service_requests={
                                "spo2": "https://careplan.region.test/fhir/ServiceRequest/1"
                            },
                            care_team_reference="https://organization.region.test/fhir/CareTeam/1",
                        )
                    )
                count = 25 if c == 0 else 3
                for i in range(count):
                    at = NOW - timedelta(hours=count - i)
                    reading = _reading(
                        citizen,
                        device,
                        peripheral.id,
                        "spo2",
                        86 + i % 10,
                        "%",
                        at,
                        entry="manual" if i == 2 else "device",
                    )
                    s.add(reading)
                    s.flush()
                    assert reading.id is not None
                    side.reading_ids.append(reading.id)
                    severity = "red" if reading.value < 88 else "green"
                    result = TriageResult(
                        citizen_id=citizen.id,
                        reading_id=reading.id,
                        severity=severity,
                        limit_set_id=limits.id,
                        reasons=[{"rule": "spo2.absolute", "severity": severity}],
                        evaluated_at=at + timedelta(seconds=4),
                    )
                    s.add(result)
                    s.flush()
                    assert result.id is not None
                    side.triage_ids.append(result.id)
                if c == 0:
                    at = NOW - timedelta(minutes=30)
                    systolic = _reading(
                        citizen, device, peripheral.id, "bp_systolic", 150, "mm[Hg]", at
                    )
                    diastolic = _reading(
                        citizen, device, peripheral.id, "bp_diastolic", 95, "mm[Hg]", at
                    )
                    s.add_all([systolic, diastolic])
                    s.flush()
                    assert systolic.id is not None and diastolic.id is not None
                    side.bp_ids = (systolic.id, diastolic.id)
                    response = QuestionnaireResponse(
                        citizen_id=citizen.id,
                        device_id=device,
                        message_id=uuid.uuid4().hex,
                        questionnaire="kol-symptoms-v1",
                        answered_at=at,
                        sent_at=at,
                        received_at=at,
                        answers=[{"item": "more_breathless", "value": True}],
                    )
                    s.add(response)
                    s.flush()
                    assert response.id is not None
                    side.response_ids.append(response.id)
                    for kind, severity in (("reading", "red"), ("missed_measurement", "yellow")):
                        alert = Alert(
                            citizen_id=citizen.id,
                            care_team_id=team.id,
                            kind=kind,
                            rule_key=f"{kind}.{severity}",
                            severity=severity,
                            band_order=0,
                            open_key=f"{citizen.id}:{kind}",
                            first_seen_at=at,
                            last_seen_at=at,
                            reasons=[],
                            created_at=at,
                            updated_at=at,
                            last_reading_id=side.reading_ids[0] if kind == "reading" else None,
                        )
                        s.add(alert)
                        s.flush()
                        side.alert_ids.append(alert.id)
            sides.append(side)
    return FhirWorld(a=sides[0], b=sides[1])
