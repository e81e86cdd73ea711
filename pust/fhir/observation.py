"""Readings as FHIR Observations (profile ehealth-observation; PHD identifier and codings).

Rules read in FUT ``input/fsh/ehealth-observation.fsh`` and kept here:
episodeOfCare extension 1..1, resolvedTiming extension 1..1, basedOn 1..1 (ServiceRequest),
subject 1..1, effective[x] 1..1, performer 1..1, value[x] only Quantity or CodeableConcept,
component.value[x] only Quantity or CodeableConcept, device only Reference(ehealth-device).
The first three only exist for a citizen linked to the regional backend; the read API's own
Observations (not submitted anywhere) carry everything else and no meta.profile claim.

Blood pressure is one Observation: the panel code with a systolic and a diastolic component.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pust.db.tables import Reading
from pust.domain.limits import AbsoluteLimit, RuleSet
from pust.domain.measurement_types import Entry, MeasurementType
from pust.fhir import codes, urls
from pust.fhir.fut_terminology import FutCode
from pust.fhir.identifiers import (
    DEFAULT_IDENTIFIER_SYSTEM,
    identifier,
    phd_device_part,
    phd_observation_identifier,
)
from pust.fhir.time import instant


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """One alarm band in force: values in [low, high] are ``severity`` (red/yellow)."""

    severity: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """One reading, or the systolic and diastolic readings of one blood pressure."""

    readings: tuple[Reading, ...]
    peripheral_system_id: str | None = None
    ranges: Mapping[str, tuple[ReferenceRange, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.readings:
            raise ValueError("a measurement has at least one reading")

    @property
    def primary(self) -> Reading:
        return self.readings[0]

    @property
    def is_blood_pressure(self) -> bool:
        return len(self.readings) == 2

    @property
    def reading_ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.readings if r.id is not None)


def pair_blood_pressure(readings: Sequence[Reading]) -> list[tuple[Reading, ...]]:
    """Group readings into measurements: a systolic and a diastolic reading from the same
    tablet at the same ``measured_at`` become one pair (systolic first); the rest stay single."""
    by_key: dict[tuple[str, datetime], dict[str, Reading]] = {}
    for reading in readings:
        if reading.type in (MeasurementType.BP_SYSTOLIC, MeasurementType.BP_DIASTOLIC):
            by_key.setdefault((reading.device_id, reading.measured_at), {})[reading.type] = reading
    groups: list[tuple[Reading, ...]] = []
    done: set[int] = set()
    for reading in readings:
        if id(reading) in done:
            continue
        pair = by_key.get((reading.device_id, reading.measured_at), {})
        systolic = pair.get(MeasurementType.BP_SYSTOLIC)
        diastolic = pair.get(MeasurementType.BP_DIASTOLIC)
        if reading.type in (MeasurementType.BP_SYSTOLIC, MeasurementType.BP_DIASTOLIC) and (
            systolic is not None and diastolic is not None
        ):
            groups.append((systolic, diastolic))
            done.update((id(systolic), id(diastolic)))
        else:
            groups.append((reading,))
            done.add(id(reading))
    return groups


def identifier_value(measurement: Measurement) -> str:
    """The identifier value of this measurement, from the device's view (see identifiers.py)."""
    primary = measurement.primary
    if measurement.peripheral_system_id:
        device = phd_device_part(measurement.peripheral_system_id)
    else:
        device = primary.device_id.upper()
    mdc = codes.BP_PANEL.mdc if measurement.is_blood_pressure else None
    mdc = mdc or codes.codes_for(MeasurementType(primary.type)).mdc or primary.type
    return phd_observation_identifier(
        device_part=device,
        tablet_id=primary.device_id,
        type_code=mdc,
        measured_at=primary.measured_at,
    )


def fut_codes(measurement: Measurement) -> list[tuple[MeasurementType, FutCode | None]]:
    """FUT's code for each reading's type (None: no FUT code, the measurement is not sent)."""
    return [
        (MeasurementType(r.type), codes.fut_code_for(MeasurementType(r.type)))
        for r in measurement.readings
    ]


class NoFutCode(LookupError):
    """A reading type outside FUT's observation-codes: not sendable (``args[0]``: the type)."""


def _ranges(
    type_: MeasurementType, bands: Sequence[ReferenceRange], *, fut: bool = False
) -> list[Any]:
    out: list[dict[str, Any]] = []
    national = codes.codes_for(type_)
    fut_code = codes.fut_code_for(type_) if fut else None

    def quantity(value: float) -> dict[str, Any]:
        if fut_code is not None:
            return codes.fut_quantity(fut_code, value)
        return codes.quantity_for(type_, value)

    for band in bands:
        entry: dict[str, Any] = {
            "type": {
                "coding": [
                    # GAL = yellow, RAL = red (FUT test data aliases.fsh, ObsSaturationRanges)
                    {
                        "system": urls.CS_ABSOLUTE_RANGE,
                        "code": "RAL" if band.severity == "red" else "GAL",
                    },
                    *(
                        [{"system": national.national_system, "code": national.national_code}]
                        if national.national_system and national.national_code
                        else []
                    ),
                ]
            }
        }
        if band.low is not None:
            entry["low"] = quantity(band.low)
        if band.high is not None:
            entry["high"] = quantity(band.high)
        out.append(entry)
    return out


def _quality(entry: str) -> dict[str, Any]:
    # ehealth-quality with qualityType UQ (usage quality) and the usage-quality code
    # entered-manually / automatically-transferred (CodeSystem-ehealth-usage-quality.json)
    code = "entered-manually" if entry == Entry.MANUAL else "automatically-transferred"
    return {
        "url": urls.EXT_QUALITY,
        "extension": [
            {
                "url": "qualityType",
                "valueCodeableConcept": {
                    "coding": [{"system": urls.CS_QUALITY_TYPES, "code": "UQ"}]
                },
            },
            {
                "url": "qualityCode",
                "valueCodeableConcept": {
                    "coding": [{"system": urls.CS_USAGE_QUALITY, "code": code}]
                },
            },
        ],
    }


def build_observation(
    measurement: Measurement,
    *,
    subject: dict[str, Any],
    device: dict[str, Any],
    resource_id: str | None = None,
    extra_extensions: Sequence[dict[str, Any]] = (),
    based_on: dict[str, Any] | None = None,
    profile: str | None = None,
    identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM,
    fut: bool = False,
) -> dict[str, Any]:
    """An Observation for one measurement. ``subject`` is also the performer: home
    measurements are taken by the citizen (ehealth-observation: performer 1..1).

    ``fut``: what the bridge sends -- codes, displays and units only from FUT's ValueSet and
    ConceptMaps (:class:`NoFutCode` for a type outside it), no PHD category, no quality
    extension (IG 8.0.0's usage-quality CodeSystem has no manual/automatic code), and
    never ``entered-in-error`` (an invalidated reading is not a new measurement: ValueError).
    """
    primary = measurement.primary
    type_ = MeasurementType(primary.type)
    if fut:
        missing = [t for t, c in fut_codes(measurement) if c is None]
        if missing:
            raise NoFutCode(missing[0].value)
        if not all(r.valid for r in measurement.readings):
            raise ValueError("an invalidated reading is never submitted as a measurement")
    resource: dict[str, Any] = {"resourceType": "Observation"}
    if resource_id is not None:
        resource["id"] = resource_id
    meta: dict[str, Any] = {"lastUpdated": instant(_last_updated(measurement))}
    if profile:
        meta["profile"] = [profile]
    resource["meta"] = meta
    resource["extension"] = (
        [*extra_extensions] if fut else [*extra_extensions, _quality(primary.entry)]
    )
    resource["identifier"] = [identifier(identifier_value(measurement), identifier_system)]
    if based_on is not None:
        resource["basedOn"] = [based_on]
    all_valid = all(r.valid for r in measurement.readings)
    resource["status"] = "final" if all_valid else "entered-in-error"
    resource["category"] = codes.category(type_)
    if fut:
        # HL7 vital-signs only: the PHD category is not FUT's
        resource["category"] = resource["category"][1:]
        if not resource["category"]:
            del resource["category"]
    if fut:
        resource["code"] = codes.fut_concept(
            codes.fut_panel_code() if measurement.is_blood_pressure else _fut(type_)
        )
    elif measurement.is_blood_pressure:
        resource["code"] = codes.panel_concept()
    else:
        resource["code"] = codes.code_concept(type_)
    resource["subject"] = subject
    resource["effectiveDateTime"] = instant(primary.measured_at)
    resource["issued"] = instant(primary.received_at)
    resource["performer"] = [subject]
    if measurement.is_blood_pressure:
        resource["component"] = [_component(r, measurement, fut) for r in measurement.readings]
    else:
        resource["valueQuantity"] = _quantity(type_, primary.value, fut)
        bands = measurement.ranges.get(primary.type, ())
        if bands:
            resource["referenceRange"] = _ranges(type_, bands, fut=fut)
    resource["device"] = device
    return resource


def _fut(type_: MeasurementType) -> FutCode:
    code = codes.fut_code_for(type_)
    if code is None:
        raise NoFutCode(type_.value)
    return code


def _quantity(type_: MeasurementType, value: float, fut: bool) -> dict[str, Any]:
    if fut:
        return codes.fut_quantity(_fut(type_), value)
    return codes.quantity_for(type_, value)


def _component(reading: Reading, measurement: Measurement, fut: bool) -> dict[str, Any]:
    type_ = MeasurementType(reading.type)
    component: dict[str, Any] = {
        "code": codes.fut_concept(_fut(type_)) if fut else codes.code_concept(type_),
        "valueQuantity": _quantity(type_, reading.value, fut),
    }
    bands = measurement.ranges.get(reading.type, ())
    if bands:
        component["referenceRange"] = _ranges(type_, bands, fut=fut)
    return component


def _last_updated(measurement: Measurement) -> datetime:
    moments = [r.received_at for r in measurement.readings]
    moments += [r.invalidated_at for r in measurement.readings if r.invalidated_at is not None]
    return max(moments)


def ranges_from_rules(rules: RuleSet | None, type_: str) -> tuple[ReferenceRange, ...]:
    """The absolute alarm bands for ``type_`` from the rule set that triaged the reading
    (:class:`pust.domain.limits.AbsoluteLimit`: red_low, yellow_low, yellow_high, red_high).
    Relative (baseline, change) rules have no fixed band and are not expressed as a range."""
    if rules is None:
        return ()
    bands: list[ReferenceRange] = []
    for rule in rules.of_kind(AbsoluteLimit):
        if rule.type.value != type_:
            continue
        red_low, yellow_low = rule.red_low, rule.yellow_low
        yellow_high, red_high = rule.yellow_high, rule.red_high
        if red_low is not None:
            bands.append(ReferenceRange("red", high=red_low))
        if yellow_low is not None:
            bands.append(ReferenceRange("yellow", low=red_low, high=yellow_low))
        if yellow_high is not None:
            bands.append(ReferenceRange("yellow", low=yellow_high, high=red_high))
        if red_high is not None:
            bands.append(ReferenceRange("red", low=red_high))
    return tuple(bands)
