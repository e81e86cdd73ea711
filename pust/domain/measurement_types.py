"""Measurement types, canonical units, accepted alternative units and plausible ranges.

The table is the device protocol v1 contract (shared/contract/device-protocol-v1.md). A value
outside the plausible range is physically impossible, not clinically alarming: clinical
limits live in :mod:`pust.domain.limits`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class MeasurementType(StrEnum):
    SPO2 = "spo2"
    PULSE = "pulse"
    WEIGHT = "weight"
    TEMPERATURE = "temperature"
    FEV1 = "fev1"
    FEV6 = "fev6"
    FVC = "fvc"
    PEF = "pef"
    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    RESPIRATORY_RATE = "respiratory_rate"
    CRP = "crp"
    SIT_TO_STAND = "sit_to_stand"


class Entry(StrEnum):
    DEVICE = "device"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    type: MeasurementType
    unit: str
    plausible_low: float
    plausible_high: float
    danish_name: str
    english_name: str
    # alternative unit -> conversion to the canonical unit
    conversions: dict[str, Callable[[float], float]] = field(default_factory=dict)

    def to_canonical(self, value: float, unit: str) -> float | None:
        """The value in the canonical unit, or None when the unit is not accepted."""
        if unit == self.unit:
            return value
        convert = self.conversions.get(unit)
        return None if convert is None else convert(value)

    def is_plausible(self, canonical_value: float) -> bool:
        return self.plausible_low <= canonical_value <= self.plausible_high

    @property
    def accepted_units(self) -> tuple[str, ...]:
        return (self.unit, *self.conversions)


def _fraction_to_percent(value: float) -> float:
    return value * 100.0


def _pounds_to_kg(value: float) -> float:
    return value * 0.45359237


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


def _litres_per_second_to_per_minute(value: float) -> float:
    return value * 60.0


_SPECS: tuple[MeasurementSpec, ...] = (
    MeasurementSpec(
        MeasurementType.SPO2,
        "%",
        50,
        100,
        "Iltmætning",
        "Oxygen saturation",
        {"1": _fraction_to_percent},
    ),
    MeasurementSpec(MeasurementType.PULSE, "/min", 20, 250, "Puls", "Pulse"),
    MeasurementSpec(
        MeasurementType.WEIGHT, "kg", 20, 350, "Vægt", "Weight", {"[lb_av]": _pounds_to_kg}
    ),
    MeasurementSpec(
        MeasurementType.TEMPERATURE,
        "Cel",
        30,
        45,
        "Temperatur",
        "Temperature",
        {"[degF]": _fahrenheit_to_celsius},
    ),
    MeasurementSpec(MeasurementType.FEV1, "L", 0.1, 8, "FEV1", "FEV1"),
    MeasurementSpec(MeasurementType.FEV6, "L", 0.1, 10, "FEV6", "FEV6"),
    MeasurementSpec(MeasurementType.FVC, "L", 0.1, 10, "FVC", "FVC"),
    MeasurementSpec(
        MeasurementType.PEF,
        "L/min",
        20,
        1000,
        "Peak flow",
        "Peak flow",
        {"L/s": _litres_per_second_to_per_minute},
    ),
    MeasurementSpec(
        MeasurementType.BP_SYSTOLIC,
        "mm[Hg]",
        50,
        300,
        "Systolisk blodtryk",
        "Systolic blood pressure",
    ),
    MeasurementSpec(
        MeasurementType.BP_DIASTOLIC,
        "mm[Hg]",
        20,
        200,
        "Diastolisk blodtryk",
        "Diastolic blood pressure",
    ),
    MeasurementSpec(
        MeasurementType.RESPIRATORY_RATE, "/min", 3, 80, "Respirationsfrekvens", "Respiratory rate"
    ),
    MeasurementSpec(MeasurementType.CRP, "mg/L", 0, 500, "CRP", "C-reactive protein"),
    MeasurementSpec(
        MeasurementType.SIT_TO_STAND, "/30s", 0, 60, "Rejse-sætte-sig-test", "Sit-to-stand (30 s)"
    ),
)

SPECS: dict[MeasurementType, MeasurementSpec] = {spec.type: spec for spec in _SPECS}


def spec_for(type_name: str) -> MeasurementSpec | None:
    """The spec for a wire type name, or None when the type is unknown."""
    try:
        return SPECS[MeasurementType(type_name)]
    except ValueError:
        return None
