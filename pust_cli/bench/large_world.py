"""A large clinic for the worklist benchmark: thousands of citizens, a million readings, a
few thousand open alerts, one nurse per care team. Seeded fast: executemany for the
thousands, and the database generates the million readings itself (INSERT … SELECT)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text, update
from sqlmodel import col

from pust.db.engine import is_postgresql, session_scope
from pust.db.tables import (
    Alert,
    CareTeam,
    Citizen,
    Device,
    DeviceAssignment,
    StaffMembership,
    StaffUser,
)
from pust_cli.simulator.enrolment import fictitious_cpr

_CPR_OFFSET = 5_000_000  # clear of the numbers the enrolled bench tablets use
_READING_COLUMNS = (
    "citizen_id",
    "device_id",
    "message_id",
    "type",
    "value",
    "unit",
    "original_value",
    "original_unit",
    "measured_at",
    "sent_at",
    "received_at",
    "entry",
    "late",
    "valid",
    "severity",
    "triaged_at",
)


@dataclass(frozen=True, slots=True)
class LargeWorld:
    nurse_usernames: tuple[str, ...]
    password: str
    citizens: int
    readings: int
    open_alerts: int
    # nurse n works in team_ids[n]; the ids of that team's open alerts
    team_ids: tuple[uuid.UUID, ...] = ()
    open_alert_ids: tuple[tuple[uuid.UUID, ...], ...] = ()


def seed_large_world(
    engine: Engine,
    *,
    citizens: int,
    readings: int,
    open_alerts: int,
    nurses: int,
    password: str,
    prefix: str,
) -> LargeWorld:
    from pust.db.device_credentials import hash_device_password

    now = datetime.now(UTC)
    team_ids = [uuid.uuid4() for _ in range(nurses)]
    nurse_ids = [uuid.uuid4() for _ in range(nurses)]
    usernames = tuple(f"{prefix}-nurse-{n:02d}" for n in range(nurses))
    citizen_ids = [uuid.uuid4() for _ in range(citizens)]
    device_ids = [f"{prefix}-wl-{n:05d}" for n in range(citizens)]
    password_hash = hash_device_password(password)  # argon2, as staff passwords are
    with session_scope(engine) as session:
        session.execute(
            insert(CareTeam),
            [{"id": t, "name": f"{prefix} team {n:02d}"} for n, t in enumerate(team_ids)],
        )
        session.execute(
            insert(StaffUser),
            [
                {
                    "id": s,
                    "username": u,
                    "display_name": f"Sygeplejerske {n}",
                    "role": "nurse",
                    "password_hash": password_hash,
                }
                for n, (s, u) in enumerate(zip(nurse_ids, usernames, strict=True))
            ],
        )
        session.execute(
            insert(StaffMembership),
            [{"staff_id": s, "care_team_id": t} for s, t in zip(nurse_ids, team_ids, strict=True)],
        )
        session.execute(
            insert(Citizen),
            [
                {
                    "id": c,
                    "care_team_id": team_ids[n % nurses],
                    "cpr": fictitious_cpr(_CPR_OFFSET + n),
                    "given_name": "Test",
                    "family_name": f"Borger {n}",
                    "monitoring_started_at": now - timedelta(days=120),
                }
                for n, c in enumerate(citizen_ids)
            ],
        )
        session.execute(insert(Device), [{"id": d} for d in device_ids])
        session.execute(
            insert(DeviceAssignment),
            [
                {
                    "id": uuid.uuid4(),
                    "device_id": d,
                    "citizen_id": c,
                    "valid_from": now - timedelta(days=120),
                }
                for d, c in zip(device_ids, citizen_ids, strict=True)
            ],
        )
        alerts = list(_alerts(citizen_ids, team_ids, open_alerts, now))
        session.execute(insert(Alert), alerts)
    per_citizen = max(1, readings // max(1, citizens))
    _insert_readings(engine, prefix=prefix, per_citizen=per_citizen, now=now)
    by_team: dict[uuid.UUID, list[uuid.UUID]] = {team: [] for team in team_ids}
    for alert in alerts:
        by_team[alert["care_team_id"]].append(alert["id"])
    return LargeWorld(
        usernames,
        password,
        citizens,
        per_citizen * citizens,
        open_alerts,
        team_ids=tuple(team_ids),
        open_alert_ids=tuple(tuple(by_team[team]) for team in team_ids),
    )


def touch_alert(engine: Engine, alert_id: uuid.UUID, now: datetime) -> None:
    """What the alerts service does when a reading repeats an open alert: one more
    occurrence, seen now (the team's worklist fingerprint changes; its order does not)."""
    with engine.begin() as connection:
        connection.execute(
            update(Alert)
            .where(col(Alert.id) == alert_id)
            .values(count=col(Alert.count) + 1, last_seen_at=now, updated_at=now)
        )


def _alerts(
    citizen_ids: list[uuid.UUID], team_ids: list[uuid.UUID], count: int, now: datetime
) -> Iterator[dict[str, Any]]:
    for n in range(min(count, len(citizen_ids))):
        citizen = citizen_ids[n]
        red = n % 4 == 0
        seen = now - timedelta(minutes=7 * n % 5000)
        yield {
            "id": uuid.uuid4(),
            "citizen_id": citizen,
            "care_team_id": team_ids[n % len(team_ids)],
            "kind": "reading",
            "rule_key": "spo2.absolute",
            "concern": "spo2.absolute",
            "severity": "red" if red else "yellow",
            "band_order": 0 if red else 1,
            "status": "open",
            "open_key": f"{citizen}:spo2.absolute",
            "count": 1,
            "first_seen_at": seen,
            "last_seen_at": seen,
            "last_value": 86.0 if red else 89.0,
            "reasons": [
                {
                    "rule": "spo2.absolute",
                    "severity": "red" if red else "yellow",
                    "value": 86 if red else 89,
                    "limit": 88 if red else 90,
                    "text_da": "SpO2 under grænsen",
                }
            ],
            "created_at": seen,
            "updated_at": seen,
        }


_READINGS_SELECT = """
    a.citizen_id, a.device_id, 'm-' || g.n,
    CASE WHEN g.n % 2 = 0 THEN 'spo2' ELSE 'pulse' END,
    CASE WHEN g.n % 2 = 0 THEN 88 + g.n % 8 ELSE 70 + g.n % 30 END,
    CASE WHEN g.n % 2 = 0 THEN '%' ELSE '/min' END,
    CASE WHEN g.n % 2 = 0 THEN 88 + g.n % 8 ELSE 70 + g.n % 30 END,
    CASE WHEN g.n % 2 = 0 THEN '%' ELSE '/min' END,
    {at}, {at}, {at}, 'device', {false}, {true}, 'green', {at}
"""


def _insert_readings(engine: Engine, *, prefix: str, per_citizen: int, now: datetime) -> None:
    """Generated by the database itself (INSERT … SELECT): a million rows in seconds."""
    columns = ", ".join(_READING_COLUMNS)
    pattern = f"{prefix}-wl-%"
    if is_postgresql(engine):
        select_list = _READINGS_SELECT.format(
            at="CAST(:now AS timestamptz) - g.n * interval '12 hours'",
            false="false",
            true="true",
        )
        # fixed text only; every value is a bound parameter
        statement = (
            f"INSERT INTO reading ({columns}) SELECT {select_list} FROM device_assignment a "  # noqa: S608
            "CROSS JOIN generate_series(0, :last) AS g(n) WHERE a.device_id LIKE :pattern"
        )
        parameters: dict[str, Any] = {"now": now, "last": per_citizen - 1, "pattern": pattern}
    else:
        select_list = _READINGS_SELECT.format(
            at="datetime(:now, '-' || (g.n * 12) || ' hours')", false="0", true="1"
        )
        statement = (
            "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < :last) "  # noqa: S608
            f"INSERT INTO reading ({columns}) SELECT {select_list} FROM device_assignment a, g "
            "WHERE a.device_id LIKE :pattern"
        )
        parameters = {
            "now": now.strftime("%Y-%m-%d %H:%M:%S"),
            "last": per_citizen - 1,
            "pattern": pattern,
        }
    with engine.begin() as connection:
        connection.execute(text(statement), parameters)
