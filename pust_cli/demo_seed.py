"""The demo's people and tablets (shared/contract/demo-and-http-essentials.md).

Idempotent: a database that already has the demo teams is left as it is, so `pust up
--demo` can be run again on the same data directory. CPR numbers are fictitious and fail
the modulus-11 check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.config.settings import Settings
from pust.db.engine import build_engine, session_scope
from pust.db.tables import (
    CareTeam,
    Citizen,
    Device,
    DeviceAssignment,
    LimitSet,
    OutboxMessage,
    Plan,
    StaffMembership,
    StaffUser,
)
from pust.domain.clock import Clock, SystemClock
from pust.domain.cpr import Cpr
from pust.domain.limits import default_rule_set
from pust.domain.plans import (
    WEEKDAYS,
    MeasurementPlan,
    Schedule,
    default_plan,
    tablet_payload,
)
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.messaging.topics import DeviceChannel, Topics

DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only; refused outside it
TEAM_NORD = "Sygeplejeklinikken Nord"
TEAM_SYD = "Sygeplejeklinikken Syd"
HISTORY_DAYS = 28

# fictitious people; CPR numbers below fail modulus 11 (checked in seed_demo)
_CITIZENS = (
    ("Inger", "Mikkelsen", "1203431234"),
    ("Poul", "Christiansen", "0507391235"),
    ("Karen", "Bjerregaard", "2111451236"),
    ("Erik", "Sørensen", "0902401237"),
    ("Birthe", "Holm", "1710481238"),
    ("Jørgen", "Dalgaard", "3006371239"),
    ("Lis", "Frandsen", "0404441240"),
    ("Hans", "Kjær", "1908361241"),
    ("Grethe", "Vestergaard", "2612421242"),
    ("Niels", "Lauridsen", "0101471243"),
    ("Ruth", "Damgaard", "1505381244"),
    ("Bent", "Thygesen", "0811461245"),
)


@dataclass(frozen=True, slots=True)
class DemoIds:
    nord: uuid.UUID
    syd: uuid.UUID
    citizens: tuple[uuid.UUID, ...]
    devices: tuple[str, ...]


def demo_device_id(number: int) -> str:
    return f"demo-tablet-{number:02d}"


def seed_demo(settings: Settings, *, clock: Clock | None = None) -> bool:
    """Seed the demo unless it is there; True when it seeded."""
    from pust_cli.demo_history import import_demo_history

    engine = build_engine(settings.effective_database_url)
    topics = Topics(settings.topic_root)
    now = (clock or SystemClock()).now()
    try:
        seeded = seed_demo_into(
            engine, timezone=settings.clinic_timezone, topics=topics, clock=clock
        )
        if seeded:
            summary = import_demo_history(engine, topics=topics, now=now, days=HISTORY_DAYS)
            print(
                f"pust: demo seeded: {summary.readings} readings and {summary.responses} "
                f"questionnaire answers over {HISTORY_DAYS} days, "
                f"{summary.resolved_alerts} older alerts already handled"
            )
        return seeded
    finally:
        engine.dispose()


def seed_demo_into(
    engine: Engine, *, timezone: str, topics: Topics, clock: Clock | None = None
) -> bool:
    now = (clock or SystemClock()).now()
    with Session(engine) as session:
        if session.exec(select(CareTeam).where(col(CareTeam.name) == TEAM_NORD)).first():
            return False
    hasher = PasswordHasher()
    password_hash = hasher.hash(DEMO_PASSWORD)
    monitoring_since = now - timedelta(days=HISTORY_DAYS)
    with session_scope(engine) as session:
        nord = CareTeam(name=TEAM_NORD, timezone=timezone)
        syd = CareTeam(name=TEAM_SYD, timezone=timezone)
        session.add_all([nord, syd])
        session.flush()
        _add_staff(session, password_hash, nord.id, syd.id)
        for team in (nord, syd):
            session.add(
                LimitSet(
                    care_team_id=team.id,
                    version=1,
                    rules=default_rule_set().to_json(),
                    reason="Startkonfiguration (BACKGROUND.md); skal godkendes af lægen",
                )
            )
        for index, (given, family, cpr_digits) in enumerate(_CITIZENS, start=1):
            team = nord if index <= 6 else syd
            _add_citizen(
                session,
                team_id=team.id,
                cpr=_fictitious(cpr_digits),
                given_name=given,
                family_name=family,
                device_id=demo_device_id(index),
                device_password_hash=password_hash,
                since=monitoring_since,
                timezone=timezone,
                topics=topics,
            )
    return True


def _fictitious(digits: str) -> Cpr:
    """The given birth date with a serial that fails modulus 11 (never a valid number)."""
    for last in range(10):
        cpr = Cpr(digits[:9] + str((int(digits[9]) + last) % 10))
        if not cpr.passes_modulus_11:
            return cpr
    raise AssertionError("unreachable: at most one last digit in ten passes modulus 11")


def _add_staff(session: Session, password_hash: str, nord: uuid.UUID, syd: uuid.UUID) -> None:
    people = (
        ("nurse", "Sygeplejerske Nord", "nurse", (nord,)),
        ("nurse-syd", "Sygeplejerske Syd", "nurse", (syd,)),
        ("admin", "Administrator", "administrator", (nord, syd)),
        ("integrator", "FHIR-integration", "integrator", (nord, syd)),
    )
    for username, display_name, role, teams in people:
        user = StaffUser(
            username=username, display_name=display_name, role=role, password_hash=password_hash
        )
        session.add(user)
        session.flush()
        for team_id in teams:
            session.add(StaffMembership(staff_id=user.id, care_team_id=team_id))


def demo_plan(since: datetime, timezone: str) -> MeasurementPlan:
    """What the demo tablets do (pust_cli.simulator.timeline.SimPlan): twice a day in the
    run-in, then every morning; so a citizen who stops measuring is blue on any weekday."""
    plan = default_plan(starts_on=since.date(), timezone=timezone)
    return plan.model_copy(update={"schedule": Schedule(weekdays=WEEKDAYS, times=("08:00",))})


def _add_citizen(
    session: Session,
    *,
    team_id: uuid.UUID,
    cpr: Cpr,
    given_name: str,
    family_name: str,
    device_id: str,
    device_password_hash: str,
    since: datetime,
    timezone: str,
    topics: Topics,
) -> None:
    citizen = Citizen(
        care_team_id=team_id,
        cpr=cpr,
        given_name=given_name,
        family_name=family_name,
        monitoring_started_at=since,
    )
    session.add(citizen)
    session.add(Device(id=device_id, mqtt_password_hash=device_password_hash, enrolled_at=since))
    session.flush()
    session.add(DeviceAssignment(device_id=device_id, citizen_id=citizen.id, valid_from=since))
    session.add(
        LimitSet(
            citizen_id=citizen.id,
            version=1,
            rules=default_rule_set().to_json(),
            reason="Kopieret fra gruppens standardgrænser",
        )
    )
    plan = demo_plan(since, timezone)
    session.add(
        Plan(
            citizen_id=citizen.id,
            version=1,
            schedule=plan.model_dump(mode="json"),
            reason="Demoplan: 14 dages indkøring, derefter hver morgen",
            # made at enrolment, as the history has it: the missed-measurement check reaches
            # back to it (a blue row at once for the citizen who stopped measuring)
            created_at=since,
        )
    )
    # the tablet gets its plan on its retained plan topic, through the outbox
    session.add(
        OutboxMessage(
            channel="mqtt",
            destination=topics.device(device_id, DeviceChannel.PLAN),
            payload=tablet_payload(plan, 1, QUESTIONNAIRES),
            retain=True,
            dedup_key=f"plan:{citizen.id}:1",
        )
    )
