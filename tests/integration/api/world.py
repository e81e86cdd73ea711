"""A small, fully known data set for the api tests: two care teams (A and B), their staff,
citizens, tablets, readings, answers, alerts, notes, limits and plans."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import (
    Alert,
    CareTeam,
    Citizen,
    CitizenNote,
    Device,
    DeviceAssignment,
    LimitSet,
    PausePeriod,
    Plan,
    QuarantinedMessage,
    QuestionnaireResponse,
    Reading,
    StaffMembership,
    StaffUser,
)
from pust.domain.cpr import Cpr
from pust.domain.limits import default_rule_set
from pust.domain.plans import default_plan

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"

# names of team B's citizens: no response to a team A user may contain them
SECRET_NAMES_B = ("Bodil", "Bagger")


@dataclass
class TeamWorld:
    team_id: uuid.UUID
    citizen_ids: list[uuid.UUID] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)
    reading_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    alert_ids: list[uuid.UUID] = field(default_factory=list)
    note_ids: list[uuid.UUID] = field(default_factory=list)
    pause_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class World:
    a: TeamWorld
    b: TeamWorld
    quarantine_id: int


_password_hash: str | None = None


def _hash() -> str:
    global _password_hash  # noqa: PLW0603 - one slow argon2 hash per test run
    if _password_hash is None:
        # cheap parameters keep the many test logins fast; production uses the defaults
        _password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    return _password_hash


def _alert(
    *,
    citizen: Citizen,
    severity: str,
    band: int,
    rule: str,
    value: float,
    age: timedelta,
    kind: str = "reading",
    device_id: str | None = None,
    reading_id: int | None = None,
) -> Alert:
    first = NOW - age
    return Alert(
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
        device_id=device_id,
        kind=kind,
        rule_key=rule,
        severity=severity,
        band_order=band,
        open_key=f"{citizen.id}:{rule}",
        first_seen_at=first,
        last_seen_at=first,
        last_value=value,
        last_reading_id=reading_id,
        reasons=[
            {
                "rule": rule,
                "severity": severity,
                "value": value,
                "limit": 88.0,
                "type": rule.split(".", maxsplit=1)[0],
            }
        ],
        updated_at=first,
    )


def build_world(engine: Engine) -> World:
    with session_scope(engine) as s:
        team_a = CareTeam(name="Sygeplejeklinikken Nord")
        team_b = CareTeam(name="Sygeplejeklinikken Syd")
        s.add_all([team_a, team_b])
        s.flush()
        users = {
            "nurse-a": ("nurse", [team_a.id]),
            "lead-a": ("team_lead", [team_a.id]),
            "nurse-b": ("nurse", [team_b.id]),
            "admin": ("administrator", [team_a.id, team_b.id]),
            "integrator": ("integrator", [team_a.id, team_b.id]),
        }
        for username, (role, teams) in users.items():
            user = StaffUser(
                username=username, display_name=username.title(), role=role, password_hash=_hash()
            )
            s.add(user)
            s.flush()
            s.add_all([StaffMembership(staff_id=user.id, care_team_id=t) for t in teams])
        worlds = []
        names = {
            team_a.id: [("Anna", "Andersen"), ("Arne", "Aagaard")],
            team_b.id: [("Bodil", "Bagger"), ("Bent", "Bagger")],
        }
        cprs = iter(["0101001234", "0202002345", "0303003456", "0404004567"])
        for t_index, team in enumerate((team_a, team_b)):
            world = TeamWorld(team_id=team.id)
            for c_index, (given, family) in enumerate(names[team.id]):
                citizen = Citizen(
                    care_team_id=team.id,
                    cpr=Cpr(next(cprs)),
                    given_name=given,
                    family_name=family,
                    monitoring_started_at=NOW - timedelta(days=40),
                )
                s.add(citizen)
                s.flush()
                world.citizen_ids.append(citizen.id)
                device = Device(
                    id=f"tablet-{t_index}{c_index}",
                    battery_pct=80,
                    app_version="2.3.1",
                    last_seen_at=NOW - timedelta(minutes=5),
                )
                s.add(device)
                s.flush()
                world.device_ids.append(device.id)
                s.add(
                    DeviceAssignment(
                        device_id=device.id,
                        citizen_id=citizen.id,
                        valid_from=NOW - timedelta(days=40),
                    )
                )
                s.add(
                    LimitSet(
                        citizen_id=citizen.id,
                        version=1,
                        rules=default_rule_set().to_json(),
                        reason="group default",
                    )
                )
                plan = default_plan(starts_on=date(2026, 10, 14))
                s.add(
                    Plan(citizen_id=citizen.id, version=1, schedule=plan.to_json(), reason="start")
                )
                last_reading = None
                for day in range(20):
                    at = NOW - timedelta(days=day, hours=2)
                    for type_, value, unit in (
                        ("spo2", 93.0 - (day % 3), "%"),
                        ("pulse", 80.0 + day % 5, "/min"),
                    ):
                        reading = Reading(
                            citizen_id=citizen.id,
                            device_id=device.id,
                            message_id=str(uuid.uuid4()),
                            type=type_,
                            value=value,
                            unit=unit,
                            original_value=value,
                            original_unit=unit,
                            measured_at=at,
                            sent_at=at,
                            received_at=at,
                            entry="manual" if day == 3 else "device",
                            late=day == 5,
                            severity="green",
                            triaged_at=at,
                        )
                        s.add(reading)
                        s.flush()
                        assert reading.id is not None
                        world.reading_ids.append(reading.id)
                        last_reading = reading
                response = QuestionnaireResponse(
                    citizen_id=citizen.id,
                    device_id=device.id,
                    message_id=str(uuid.uuid4()),
                    questionnaire="kol-symptoms-v1",
                    answered_at=NOW - timedelta(hours=3),
                    sent_at=NOW - timedelta(hours=3),
                    received_at=NOW - timedelta(hours=3),
                    answers=[
                        {"item": "more_breathless", "value": True},
                        {"item": "more_cough", "value": False},
                    ],
                    severity="yellow",
                )
                s.add(response)
                s.flush()
                assert response.id is not None
                world.response_ids.append(response.id)
                assert last_reading is not None
                if c_index == 0:
                    alerts = [
                        _alert(
                            citizen=citizen,
                            severity="red",
                            band=0,
                            rule="spo2.absolute",
                            value=86.0,
                            age=timedelta(hours=2),
                            device_id=device.id,
                            reading_id=last_reading.id,
                        ),
                        _alert(
                            citizen=citizen,
                            severity="yellow",
                            band=1,
                            rule="questionnaire.more_breathless",
                            value=1.0,
                            age=timedelta(hours=5),
                        ),
                    ]
                else:
                    alerts = [
                        _alert(
                            citizen=citizen,
                            severity="green",
                            band=4,
                            rule="pulse.absolute",
                            value=82.0,
                            age=timedelta(hours=1),
                        )
                    ]
                s.add_all(alerts)
                s.flush()
                world.alert_ids.extend(a.id for a in alerts)
                note = CitizenNote(
                    citizen_id=citizen.id,
                    author_id=_staff_id(s, "admin"),
                    text=f"Ringede til {given}",
                    created_at=NOW - timedelta(days=1),
                )
                s.add(note)
                s.flush()
                world.note_ids.append(note.id)
                pause = PausePeriod(
                    citizen_id=citizen.id,
                    starts_at=NOW + timedelta(days=3),
                    ends_at=NOW + timedelta(days=10),
                    reason="Ferie",
                )
                s.add(pause)
                s.flush()
                world.pause_ids.append(pause.id)
            worlds.append(world)
        quarantined = QuarantinedMessage(
            device_id="tablet-10",
            topic="x/devices/tablet-10/measurements",
            payload=b"{}",
            payload_size=2,
            errors=[{"code": "schema_violation"}],
            received_at=NOW,
        )
        s.add(quarantined)
        s.flush()
        assert quarantined.id is not None
        return World(a=worlds[0], b=worlds[1], quarantine_id=quarantined.id)


def _staff_id(session: object, username: str) -> uuid.UUID:
    from sqlmodel import Session, select

    assert isinstance(session, Session)
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).one()
    return user.id
