"""Enrol a simulated cohort: a care team, one fictitious citizen and tablet per device.

CPR numbers are fictitious and fail the modulus-11 check (like the demo's). Idempotent:
devices already enrolled are left as they are. Rows go in with executemany, so thousands
of citizens take a second, and one argon2 hash serves every tablet's password.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlmodel import col

from pust.db.device_credentials import hash_device_password
from pust.db.engine import session_scope
from pust.db.tables import CareTeam, Citizen, Device, DeviceAssignment
from pust.domain.cpr import Cpr

SIMULATED_TEAM = "Simuleret klinik"


def fictitious_cpr(number: int) -> Cpr:
    """A well-formed CPR number that fails modulus 11, unique per ``number`` < 16,800,000."""
    day = 1 + number % 28
    month = 1 + (number // 28) % 12
    serial = ((number // 336) % 1000) * 10  # the last digit is free to dodge modulus 11
    year = 40 + (number // 336_000) % 50
    for last_digit in range(10):
        cpr = Cpr(f"{day:02d}{month:02d}{year:02d}{serial + last_digit:04d}")
        if not cpr.passes_modulus_11:
            return cpr
    raise AssertionError("unreachable: at most one serial in ten passes modulus 11")


def enrol_cohort(
    engine: Engine,
    *,
    device_ids: Sequence[str],
    valid_from: datetime,
    password: str | None = None,
    care_team_name: str = SIMULATED_TEAM,
    cpr_offset: int = 0,
) -> uuid.UUID:
    """Create what ingest needs to accept the tablets' messages; returns the team id."""
    with session_scope(engine) as session:
        team_id = session.execute(
            select(col(CareTeam.id)).where(col(CareTeam.name) == care_team_name)
        ).scalar_one_or_none()
        if team_id is None:
            team = CareTeam(name=care_team_name)
            session.add(team)
            session.flush()
            team_id = team.id
        known = (
            set(
                session.execute(
                    select(col(Device.id)).where(col(Device.id).in_(list(device_ids)))
                ).scalars()
            )
            if len(device_ids) <= 1000
            else set(session.execute(select(col(Device.id))).scalars())
        )
        new = [d for d in device_ids if d not in known]
        if not new:
            return team_id
        password_hash = hash_device_password(password) if password else None
        citizens = []
        devices = []
        assignments = []
        for position, device_id in enumerate(new):
            citizen_id = uuid.uuid4()
            number = cpr_offset + len(known) + position
            citizens.append(
                {
                    "id": citizen_id,
                    "care_team_id": team_id,
                    "cpr": fictitious_cpr(number),
                    "given_name": "Simuleret",
                    "family_name": f"Borger {device_id}",
                    "monitoring_started_at": valid_from,
                    "created_at": valid_from,
                }
            )
            devices.append(
                {"id": device_id, "mqtt_password_hash": password_hash, "enrolled_at": valid_from}
            )
            assignments.append(
                {
                    "id": uuid.uuid4(),
                    "device_id": device_id,
                    "citizen_id": citizen_id,
                    "valid_from": valid_from,
                }
            )
        session.execute(insert(Citizen), citizens)
        session.execute(insert(Device), devices)
        session.execute(insert(DeviceAssignment), assignments)
    return team_id
