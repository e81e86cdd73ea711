"""Validation of a measurement submission (``…/measurements``)."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from typing import Any

from pust.domain.device_protocol.errors import ErrorCode
from pust.domain.device_protocol.fields import Problems, shown
from pust.domain.device_protocol.messages import Observation, PeripheralInfo
from pust.domain.measurement_types import Entry, spec_for

MAX_OBSERVATIONS = 50
_OBSERVATION_FIELDS = frozenset({"type", "value", "unit", "measured_at", "entry", "peripheral"})
_PERIPHERAL_FIELDS = frozenset({"system_id", "model", "serial"})
# IEEE EUI-64 (8 octets) or a Bluetooth MAC (6 octets), with '-', ':' or no separators
_SYSTEM_ID = re.compile(
    r"^[0-9A-Fa-f]{2}(?:([-:]?)[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}"
    r"(?:(?:\1[0-9A-Fa-f]{2}){2})?$"
)


def validate_observations(
    document: dict[str, Any],
    problems: Problems,
    *,
    received_at: datetime,
    clock_skew_tolerance: timedelta,
    late_after: timedelta,
) -> tuple[Observation, ...]:
    raw = problems.required(document, "observations", "")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OBSERVATIONS:
        problems.schema("observations", f"must be a list of 1 to {MAX_OBSERVATIONS} readings")
        return ()
    observations = []
    for index, item in enumerate(raw):
        observation = _observation(
            item,
            f"observations[{index}]",
            problems,
            received_at=received_at,
            clock_skew_tolerance=clock_skew_tolerance,
            late_after=late_after,
        )
        if observation is not None:
            observations.append(observation)
    return tuple(observations)


def _observation(
    item: object,
    path: str,
    problems: Problems,
    *,
    received_at: datetime,
    clock_skew_tolerance: timedelta,
    late_after: timedelta,
) -> Observation | None:
    if not isinstance(item, dict):
        problems.schema(path, "must be an object")
        return None
    before = len(problems.errors)
    problems.unknown_keys(item, _OBSERVATION_FIELDS, path)
    type_name = problems.string(item, "type", path, max_length=64, required=True)
    value = problems.number(item, "value", path)
    unit = problems.string(item, "unit", path, max_length=64, required=True)
    measured_at = problems.timestamp(item, "measured_at", path)
    entry = _entry(item, path, problems)
    peripheral = _peripheral(item, path, problems)

    spec = None
    if type_name is not None:
        spec = _spec_for(type_name)
        if spec is None:
            problems.add(f"{path}.type", ErrorCode.UNKNOWN_TYPE, f"unknown type {shown(type_name)}")
    canonical = None
    if spec is not None and unit is not None:
        if unit not in spec.accepted_units:
            problems.add(
                f"{path}.unit",
                ErrorCode.UNIT_NOT_SUPPORTED,
                f"unit {shown(unit)} is not accepted for type '{spec.type.value}'",
            )
        elif value is not None:
            canonical = spec.to_canonical(value, unit)
            if canonical is not None and not spec.is_plausible(canonical):
                problems.add(
                    f"{path}.value",
                    ErrorCode.IMPLAUSIBLE_VALUE,
                    f"outside the plausible range {spec.plausible_low:g}–"
                    f"{spec.plausible_high:g} {spec.unit} for type '{spec.type.value}'",
                )
                canonical = None
    if measured_at is not None and measured_at > received_at + clock_skew_tolerance:
        problems.add(
            f"{path}.measured_at",
            ErrorCode.CLOCK_SKEW,
            "measured_at is more than "
            f"{int(clock_skew_tolerance.total_seconds() // 60)} minutes in the future",
        )
    if (
        len(problems.errors) > before
        or spec is None
        or canonical is None
        or value is None
        or unit is None
        or measured_at is None
        or entry is None
    ):
        return None
    return Observation(
        type=spec.type,
        value=canonical,
        unit=spec.unit,
        original_value=value,
        original_unit=unit,
        measured_at=measured_at,
        entry=entry,
        peripheral=peripheral,
        late=received_at - measured_at > late_after,
    )


def _entry(item: dict[str, Any], path: str, problems: Problems) -> Entry | None:
    if "entry" not in item:  # the contract's default; an explicit null is not that
        return Entry.DEVICE
    raw = item["entry"]
    if isinstance(raw, str) and raw in _ENTRIES:
        return _ENTRIES[raw]
    problems.schema(f"{path}.entry", "must be 'device' or 'manual' (leave it out for 'device')")
    return None


def _peripheral(item: dict[str, Any], path: str, problems: Problems) -> PeripheralInfo | None:
    raw = item.get("peripheral")
    if raw is None:
        return None
    path = f"{path}.peripheral"
    if not isinstance(raw, dict):
        problems.schema(path, "must be an object")
        return None
    problems.unknown_keys(raw, _PERIPHERAL_FIELDS, path)
    system_id = problems.string(raw, "system_id", path, max_length=64, required=True)
    model = problems.string(raw, "model", path, max_length=120, required=False)
    serial = problems.string(raw, "serial", path, max_length=120, required=False)
    if system_id is None:
        return None
    normalised = _valid_system_id(system_id)
    if normalised is None:
        problems.schema(f"{path}.system_id", "must be an EUI-64 or a Bluetooth MAC address")
        return None
    return PeripheralInfo(normalised, model, serial)


# a tablet sends its few peripherals' ids again and again (a fleet of thousands of tablets
# has more of them than a small cache holds: a miss must be cheap too)
@functools.lru_cache(maxsize=16384)
def _valid_system_id(system_id: str) -> str | None:
    return normalise_system_id(system_id) if _SYSTEM_ID.match(system_id) else None


def normalise_system_id(system_id: str) -> str:
    digits = system_id.replace("-", "").replace(":", "").upper()
    return "-".join([digits[i : i + 2] for i in range(0, len(digits), 2)])


_spec_for = functools.lru_cache(maxsize=256)(spec_for)
_ENTRIES: dict[str, Entry] = {entry.value: entry for entry in Entry}
