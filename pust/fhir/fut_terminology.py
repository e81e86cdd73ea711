"""FUT's own terminology, read from the IG's files copied into ``pust/fhir/fut_ig/``.

Every code, display and unit the bridge sends comes from here: the code and its display from
``ValueSet-ehealth-observation-codes.json`` (the required binding of ``Observation.code``
and ``component.code`` in ehealth-observation), the unit from the ConceptMap
``conceptmap-obs-code-to-ucum`` and integer-or-decimal from ``conceptmap-obs-code-to-value-type``.
A pust measurement type whose national code is not in the ValueSet has no FUT code and is
not sent (:func:`fut_code` is None): FEV6, PEF, respiratory rate and CRP in IG 8.0.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("fut_ig")
OBSERVATION_CODES_VS = "http://ehealth.sundhed.dk/vs/observation-codes"
_UCUM_MAP = "ConceptMap-ehealth.sundhed.dk-ConceptMap-conceptmap-obs-code-to-ucum.json"
_VALUE_TYPE_MAP = "ConceptMap-ehealth.sundhed.dk-ConceptMap-conceptmap-obs-code-to-value-type.json"


@dataclass(frozen=True, slots=True)
class FutCode:
    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class FutUnit:
    system: str
    code: str


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return document


@cache
def observation_codes() -> dict[tuple[str, str], FutCode]:
    """(system, code) -> the code with the ValueSet's display."""
    document = _load("ValueSet-ehealth-observation-codes.json")
    found: dict[tuple[str, str], FutCode] = {}
    for include in document["compose"]["include"]:
        system = include["system"]
        for concept in include.get("concept", ()):
            found[(system, concept["code"])] = FutCode(system, concept["code"], concept["display"])
    return found


def fut_code(system: str | None, code: str | None) -> FutCode | None:
    if system is None or code is None:
        return None
    return observation_codes().get((system, code))


@cache
def _concept_map(name: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(source system, code) -> (target system, target code) of a one-target ConceptMap."""
    mapped: dict[tuple[str, str], tuple[str, str]] = {}
    for group in _load(name)["group"]:
        for element in group["element"]:
            (target,) = element["target"]
            mapped[(group["source"], element["code"])] = (group["target"], target["code"])
    return mapped


def unit_for(code: FutCode) -> FutUnit:
    """The unit FUT uses for ``code``; KeyError if the ConceptMap has none (a test checks
    that every code pust sends has one)."""
    system, unit = _concept_map(_UCUM_MAP)[(code.system, code.code)]
    return FutUnit(system, unit)


def is_integer(code: FutCode) -> bool:
    return _concept_map(_VALUE_TYPE_MAP).get((code.system, code.code), ("", "decimal"))[1] == (
        "integer"
    )


@cache
def conditional_create_declared() -> dict[str, bool]:
    """What FUT's measurement CapabilityStatement (IG 8.0.0) declares per resource type: the
    default when the target's own ``/metadata`` cannot be read."""
    return conditional_create_of(_load("CapabilityStatement-measurement.json"))


def conditional_create_of(capability: dict[str, Any]) -> dict[str, bool]:
    declared: dict[str, bool] = {}
    for rest in capability.get("rest", ()) or ():
        if not isinstance(rest, dict):
            continue
        for resource in rest.get("resource", ()) or ():
            if isinstance(resource, dict) and isinstance(resource.get("type"), str):
                declared[resource["type"]] = resource.get("conditionalCreate") is True
    return declared
