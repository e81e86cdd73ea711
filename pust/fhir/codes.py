"""The codes table: national code (NPU / MedCom MCS) first, LOINC and MDC beside it, UCUM unit.

What the *bridge* sends is narrower: FUT's coding only, from the IG's ValueSet
(:mod:`pust.fhir.fut_terminology`, ``fut_*`` below); the read API keeps LOINC and MDC beside.

Source: shared/clinical/BACKGROUND.md "Codes". FUT expects the national code
(``code from http://ehealth.sundhed.dk/vs/observation-codes``, ehealth-observation.fsh); the PHD
profile wants the MDC coding (PhdBaseObservation.fsh: ``coding contains MDCType 1..1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pust.domain.measurement_types import SPECS, MeasurementType
from pust.fhir import urls
from pust.fhir.fut_terminology import FutCode, fut_code, is_integer, unit_for


@dataclass(frozen=True, slots=True)
class TypeCodes:
    national_system: str | None
    national_code: str | None
    loinc: str | None
    mdc: str | None
    unit: str
    unit_system: str = urls.UCUM

    def codings(self, display: str) -> list[dict[str, Any]]:
        codings: list[dict[str, Any]] = []
        if self.national_system and self.national_code:
            codings.append(
                {"system": self.national_system, "code": self.national_code, "display": display}
            )
        if self.loinc:
            codings.append({"system": urls.LOINC, "code": self.loinc})
        if self.mdc:
            codings.append({"system": urls.MDC, "code": self.mdc})
        return codings


_N, _M = urls.NPU, urls.MEDCOM_MCS
T = MeasurementType
CODES: dict[MeasurementType, TypeCodes] = {
    T.SPO2: TypeCodes(_N, "NPU03011", "59408-5", "150456", "%"),
    T.PULSE: TypeCodes(_N, "NPU21692", "8867-4", "149530", "1/min"),
    T.WEIGHT: TypeCodes(_N, "NPU03804", "29463-7", "188736", "kg"),
    T.TEMPERATURE: TypeCodes(_N, "NPU08676", "8310-5", "150364", "Cel"),
    T.FEV1: TypeCodes(_M, "MCS88015", "20150-9", "152586", "L"),
    T.FEV6: TypeCodes(_M, "MCS88100", None, "152587", "L"),  # LOINC 65655-3 unconfirmed
    T.FVC: TypeCodes(_M, "MCS88016", "19870-5", "188928", "L"),
    T.PEF: TypeCodes(None, None, "19935-6", "152584", "L/min"),
    # IG 8.0.0 release notes: MCS88019/MCS88020 left observation-codes for DNK05472/DNK05473
    T.BP_SYSTOLIC: TypeCodes(_N, "DNK05472", "8480-6", "150021", "mm[Hg]"),
    T.BP_DIASTOLIC: TypeCodes(_N, "DNK05473", "8462-4", "150022", "mm[Hg]"),
    T.RESPIRATORY_RATE: TypeCodes(_M, "MCS88122", "9279-1", "151562", "1/min"),
    T.CRP: TypeCodes(_N, "NPU19748", "1988-5", None, "mg/L"),
    # "/30s" is not UCUM; FUT's own unit (CodeSystem ehealth-unit-code, conceptmap-obs-code-to-ucum)
    T.SIT_TO_STAND: TypeCodes(_M, "MCS88050", None, None, "1/30sec", urls.CS_EHEALTH_UNIT),
}

# Blood pressure is one Observation with two components. The panel carries FUT's code
# ZZ3170 (SKS, "Hjemmeblodtryksmåling udført af patienten": observation-codes, and the
# ConceptMap activitydefinition-code-to-observation-code maps it to DNK05472 + DNK05473)
# beside LOINC 85354-9 and MDC 150020; each component carries its own national code.
BP_PANEL = TypeCodes(urls.SKS, "ZZ3170", "85354-9", "150020", "mm[Hg]")
BP_TYPES = (MeasurementType.BP_SYSTOLIC, MeasurementType.BP_DIASTOLIC)

# vital-signs category per HL7 FHIR R4 Observation vital signs (observation-category code)
_VITAL_SIGNS = {
    T.SPO2,
    T.PULSE,
    T.WEIGHT,
    T.TEMPERATURE,
    T.BP_SYSTOLIC,
    T.BP_DIASTOLIC,
    T.RESPIRATORY_RATE,
}


def codes_for(type_: MeasurementType) -> TypeCodes:
    return CODES[type_]


def fut_code_for(type_: MeasurementType) -> FutCode | None:
    """FUT's code for a measurement type, or None: such readings are not sent."""
    national = CODES[type_]
    return fut_code(national.national_system, national.national_code)


def fut_panel_code() -> FutCode:
    panel = fut_code(BP_PANEL.national_system, BP_PANEL.national_code)
    assert panel is not None, "ZZ3170 is in observation-codes (IG 8.0.0)"
    return panel


def fut_concept(code: FutCode) -> dict[str, Any]:
    """A CodeableConcept with FUT's coding only (code and display from the ValueSet)."""
    return {
        "coding": [{"system": code.system, "code": code.code, "display": code.display}],
        "text": code.display,
    }


def fut_quantity(code: FutCode, value: float) -> dict[str, Any]:
    unit = unit_for(code)
    number: float | int = round(value) if is_integer(code) else value
    return {"value": number, "unit": unit.code, "system": unit.system, "code": unit.code}


def _display(codes: TypeCodes, fallback: str) -> str:
    found = fut_code(codes.national_system, codes.national_code)
    return found.display if found is not None else fallback


def code_concept(type_: MeasurementType) -> dict[str, Any]:
    spec = SPECS[type_]
    display = _display(CODES[type_], spec.danish_name)
    return {"coding": CODES[type_].codings(display), "text": spec.english_name}


def panel_concept() -> dict[str, Any]:
    return {"coding": BP_PANEL.codings(_display(BP_PANEL, "Blodtryk")), "text": "Blood pressure"}


def category(type_: MeasurementType) -> list[dict[str, Any]]:
    categories: list[dict[str, Any]] = [
        {"coding": [{"system": urls.PHD_OBSERVATION_CATEGORIES, "code": "phd-observation"}]}
    ]
    if type_ in _VITAL_SIGNS:
        categories.append(
            {"coding": [{"system": urls.OBSERVATION_CATEGORY, "code": "vital-signs"}]}
        )
    return categories


def quantity(value: float, unit: str, system: str = urls.UCUM) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": system, "code": unit}


def quantity_for(type_: MeasurementType, value: float) -> dict[str, Any]:
    """The read API's Quantity: the table's unit (readings are stored in the spec's unit)."""
    codes = CODES[type_]
    return quantity(value, codes.unit, codes.unit_system)


def type_for_code(system: str, code: str) -> MeasurementType | None:
    """The measurement type a search token names (any of its codings), or None."""
    for type_, codes in CODES.items():
        if (
            (system in ("", codes.national_system) and code == codes.national_code)
            or (system in ("", urls.LOINC) and code == codes.loinc)
            or (system in ("", urls.MDC) and code == codes.mdc)
        ):
            return type_
    return None


def is_panel_code(system: str, code: str) -> bool:
    return (system in ("", urls.LOINC) and code == BP_PANEL.loinc) or (
        system in ("", urls.MDC) and code == BP_PANEL.mdc
    )
