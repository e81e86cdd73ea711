"""Which devices exist, and which citizen each was assigned to when: one query per batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, select

from pust.db.tables import Device, DeviceAssignment

DEVICE: Table = Device.__table__  # type: ignore[attr-defined]
ASSIGNMENT: Table = DeviceAssignment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Assignment:
    citizen_id: uuid.UUID
    valid_from: datetime
    valid_to: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)


@dataclass(slots=True)
class KnownDevice:
    active: bool
    assignments: list[Assignment] = field(default_factory=list)

    def citizen_at(self, moment: datetime) -> uuid.UUID | None:
        for assignment in self.assignments:
            if assignment.covers(moment):
                return assignment.citizen_id
        return None


def load_devices(connection: Connection, device_ids: Iterable[str]) -> dict[str, KnownDevice]:
    """The devices among ``device_ids`` that exist, with all their assignments."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return {}
    rows: Iterable[Any]
    if connection.dialect.name == "postgresql":
        # one fixed statement (psycopg prepares it after a few runs); an expanding IN list
        # is a new statement text for every batch size
        rows = connection.exec_driver_sql(_BY_ID_POSTGRESQL, (wanted,))
    else:
        rows = connection.execute(_by_id_query(wanted))
    devices: dict[str, KnownDevice] = {}
    for device_id, status, citizen_id, valid_from, valid_to in rows:
        device = devices.setdefault(device_id, KnownDevice(active=status == "active"))
        if citizen_id is not None:
            device.assignments.append(Assignment(citizen_id, valid_from, valid_to))
    return devices


_BY_ID_POSTGRESQL = (
    "SELECT d.id, d.status, a.citizen_id, a.valid_from, a.valid_to "
    "FROM device d LEFT JOIN device_assignment a ON a.device_id = d.id "
    "WHERE d.id = ANY(%s::varchar[])"
)


def _by_id_query(wanted: list[str]) -> Select[Any]:
    return (
        select(
            DEVICE.c.id,
            DEVICE.c.status,
            ASSIGNMENT.c.citizen_id,
            ASSIGNMENT.c.valid_from,
            ASSIGNMENT.c.valid_to,
        )
        .select_from(DEVICE.outerjoin(ASSIGNMENT, ASSIGNMENT.c.device_id == DEVICE.c.id))
        .where(DEVICE.c.id.in_(wanted))
    )
