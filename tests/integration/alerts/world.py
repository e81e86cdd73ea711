"""A small data set for the alerts tests: one care team, nurses, citizens with tablets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from pust.db.engine import session_scope
from pust.db.tables import (
    CareTeam,
    CareTeamRouting,
    Citizen,
    Device,
    DeviceAssignment,
    LimitSet,
    Plan,
    QuestionnaireResponse,
    Reading,
    StaffUser,
)
from pust.domain.cpr import Cpr
from pust.domain.limits import RuleSet, default_rule_set
from pust.domain.plans import MeasurementPlan
from pust.domain.routing import RoutingPolicy

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Copenhagen
"""The world's "now" for tests that drive the repositories with this fixed time. A test that
runs a service on another clock passes that clock's now to ``seed(now=…)``."""


@dataclass
class AlertsWorld:
    team_id: uuid.UUID
    nurse_ids: list[uuid.UUID]
    citizen_ids: list[uuid.UUID]
    device_ids: list[str]
    limit_set_id: uuid.UUID
    extra: dict[str, Any] = field(default_factory=dict)


def seed(
    engine: Engine,
    *,
    citizens: int = 1,
    rules: RuleSet | None = None,
    routing: RoutingPolicy | None = None,
    now: datetime = NOW,
    assigned_since: datetime | None = None,
) -> AlertsWorld:
    if assigned_since is None:
        assigned_since = now - timedelta(days=30)
    suffix = uuid.uuid4().hex[:8]
    with session_scope(engine) as session:
        team = CareTeam(name=f"Sygeplejeklinik {suffix}")
        session.add(team)
        session.flush()
        nurses = [
            StaffUser(username=f"nurse{i}-{suffix}", display_name=f"Nurse {i}", role="nurse")
            for i in range(2)
        ]
        session.add_all(nurses)
        limit_set = LimitSet(
            care_team_id=team.id,
            version=1,
            rules=(rules or default_rule_set()).to_json(),
            reason="starting configuration",
        )
        session.add(limit_set)
        if routing is not None:
            session.add(CareTeamRouting(care_team_id=team.id, policy=routing.to_json()))
        citizen_ids: list[uuid.UUID] = []
        device_ids: list[str] = []
        for i in range(citizens):
            citizen = Citizen(
                care_team_id=team.id,
                cpr=Cpr(f"0101{i % 100:02d}-{1000 + i:04d}"),
                given_name="Test",
                family_name=f"Borger {i}",
                monitoring_started_at=assigned_since,
            )
            device = Device(id=f"tab-{suffix}-{i}", last_seen_at=now)
            session.add_all([citizen, device])
            session.flush()
            session.add(
                DeviceAssignment(
                    device_id=device.id, citizen_id=citizen.id, valid_from=assigned_since
                )
            )
            citizen_ids.append(citizen.id)
            device_ids.append(device.id)
        session.flush()
        return AlertsWorld(
            team_id=team.id,
            nurse_ids=[n.id for n in nurses],
            citizen_ids=citizen_ids,
            device_ids=device_ids,
            limit_set_id=limit_set.id,
        )


_counter = iter(range(1, 10**9))


def add_reading(
    engine: Engine,
    world: AlertsWorld,
    *,
    type_: str,
    value: float,
    unit: str,
    measured_at: datetime,
    citizen: int = 0,
    late: bool = False,
    valid: bool = True,
) -> int:
    with session_scope(engine) as session:
        reading = Reading(
            citizen_id=world.citizen_ids[citizen],
            device_id=world.device_ids[citizen],
            message_id=f"m-{next(_counter)}",
            type=type_,
            value=value,
            unit=unit,
            original_value=value,
            original_unit=unit,
            measured_at=measured_at,
            sent_at=measured_at,
            received_at=measured_at + timedelta(seconds=1),
            late=late,
            valid=valid,
        )
        session.add(reading)
        session.flush()
        assert reading.id is not None
        return reading.id


def add_response(
    engine: Engine,
    world: AlertsWorld,
    *,
    answers: dict[str, Any],
    answered_at: datetime,
    citizen: int = 0,
) -> int:
    with session_scope(engine) as session:
        response = QuestionnaireResponse(
            citizen_id=world.citizen_ids[citizen],
            device_id=world.device_ids[citizen],
            message_id=f"q-{next(_counter)}",
            questionnaire="kol-symptoms-v1",
            answered_at=answered_at,
            sent_at=answered_at,
            received_at=answered_at,
            answers=[{"item": k, "value": v} for k, v in answers.items()],
        )
        session.add(response)
        session.flush()
        assert response.id is not None
        return response.id


def add_plan(
    engine: Engine, world: AlertsWorld, plan: MeasurementPlan, *, citizen: int = 0
) -> None:
    with session_scope(engine) as session:
        session.add(
            Plan(
                citizen_id=world.citizen_ids[citizen], version=plan.version, schedule=plan.to_json()
            )
        )
