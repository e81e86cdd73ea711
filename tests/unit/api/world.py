"""A small world for the use-case unit tests: two teams, a nurse of team A, citizens and
alerts held by the fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pust.db.tables import Alert, Citizen
from pust.domain.cpr import Cpr
from services.api.auth.principal import Principal, Role
from tests.unit.api.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TEAM_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
TEAM_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")


def staff(role: Role = Role.NURSE, *teams: uuid.UUID, name: str = "nurse-a") -> Principal:
    return Principal(
        staff_id=uuid.uuid4(),
        username=name,
        display_name=name.title(),
        role=role,
        team_ids=frozenset(teams or (TEAM_A,)),
        via="bearer",
    )


def citizen(uow: FakeUnitOfWork, team: uuid.UUID = TEAM_A, *, cpr: str = "0101001234") -> Citizen:
    found = Citizen(
        id=uuid.uuid4(),
        care_team_id=team,
        cpr=Cpr(cpr),
        given_name="Anna",
        family_name="Andersen",
        monitoring_started_at=NOW - timedelta(days=30),
    )
    uow.citizens.add(found)
    return found


def alert(
    uow: FakeUnitOfWork,
    of: Citizen,
    *,
    severity: str = "red",
    band: int = 0,
    rule: str = "spo2.absolute",
    age: timedelta = timedelta(hours=1),
) -> Alert:
    return uow.alerts.add(
        Alert(
            id=uuid.uuid4(),
            citizen_id=of.id,
            care_team_id=of.care_team_id,
            kind="reading",
            rule_key=rule,
            severity=severity,
            band_order=band,
            open_key=f"{of.id}:{rule}",
            first_seen_at=NOW - age,
            last_seen_at=NOW - age,
            reasons=[{"rule": rule, "severity": severity}],
        )
    )
