"""FHIR date-times: always with seconds and an offset (instant/dateTime both accept it)."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("FHIR instants need timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
