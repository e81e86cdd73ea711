"""A validator of FUT's required bindings and top-level cardinalities, from the IG's own files.

Reads the StructureDefinition snapshots, ValueSets, CodeSystems and the unit ConceptMap
copied under ``tests/data/fut`` (IG 8.0.0, see its README), the repository's own copy. For each
resource: structural R4 validity is the caller's (fhir.resources models); here

- every element with ``binding.strength = required`` in the resource's profile (and in the
  profiles of its extensions): *every* coding must be in the ValueSet (stricter than FHIR's
  "one coding of a CodeableConcept", on purpose: the bridge sends FUT's codes only);
- every top-level element with ``min >= 1``, including extension slices by profile URL;
- an Observation's Quantity unit is the one FUT's ``conceptmap-obs-code-to-ucum`` gives.

Returns a list of errors (empty: valid).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "fut"

# HL7 core ValueSets FUT binds to (R4 4.0.1), with their codes
_CORE = {
    "http://hl7.org/fhir/ValueSet/observation-status": {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    },
    "http://hl7.org/fhir/ValueSet/questionnaire-answers-status": {
        "in-progress",
        "completed",
        "amended",
        "entered-in-error",
        "stopped",
    },
    "http://hl7.org/fhir/ValueSet/clinicalimpression-status": {
        "in-progress",
        "completed",
        "entered-in-error",
    },
}
# HL7 core CodeSystems included whole by a FUT ValueSet (R4 4.0.1)
_CORE_SYSTEMS = {
    "http://terminology.hl7.org/CodeSystem/referencerange-meaning": {
        "type",
        "normal",
        "recommended",
        "treatment",
        "therapeutic",
        "pre",
        "post",
        "endocrine",
        "pre-puberty",
        "follicular",
        "midcycle",
        "luteal",
        "postmenopausal",
    },
}
_PROFILES = {
    "Observation": "ehealth-observation.json",
    "QuestionnaireResponse": "ehealth-questionnaireresponse.json",
    "ClinicalImpression": "ehealth-clinicalimpression.json",
}
_EXTENSIONS = ("ehealth-resolved-timing.json", "ehealth-quality.json")


def _read(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return document


@cache
def _by_url() -> dict[str, dict[str, Any]]:
    found = {}
    for path in DATA.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "url" in document:
            found[document["url"]] = document
    return found


@cache
def value_set_codes(url: str) -> frozenset[tuple[str, str]] | None:
    """(system, code) of a ValueSet; None when it is not in the copied data."""
    url = url.split("|", 1)[0]
    if url in _CORE:
        return frozenset(("", c) for c in _CORE[url])
    document = _by_url().get(url)
    if document is None or document.get("resourceType") != "ValueSet":
        return None
    codes: set[tuple[str, str]] = set()
    for include in document["compose"]["include"]:
        for nested in include.get("valueSet", ()):
            inner = value_set_codes(nested)
            if inner is None:
                return None
            codes |= inner
        system = include.get("system")
        if system is None:
            continue
        if include.get("concept"):
            codes |= {(system, c["code"]) for c in include["concept"]}
        elif system in _CORE_SYSTEMS:
            codes |= {(system, c) for c in _CORE_SYSTEMS[system]}
        else:  # the whole CodeSystem
            code_system = _by_url().get(system)
            if code_system is None:
                return None
            codes |= {(system, c) for c in _all_concepts(code_system.get("concept", []))}
    return frozenset(codes)


def _all_concepts(concepts: list[dict[str, Any]]) -> list[str]:
    out = []
    for concept in concepts:
        out.append(concept["code"])
        out += _all_concepts(concept.get("concept", []))
    return out


@cache
def _units() -> dict[tuple[str, str], tuple[str, str]]:
    document = _read("ConceptMap-ehealth.sundhed.dk-ConceptMap-conceptmap-obs-code-to-ucum.json")
    return {
        (group["source"], element["code"]): (group["target"], element["target"][0]["code"])
        for group in document["group"]
        for element in group["element"]
    }


def _step(nodes: list[Any], segment: str) -> list[Any]:
    name, _, slice_name = segment.partition(":")
    out: list[Any] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if name.endswith("[x]"):
            prefix = name[:-3]
            values = [v for k, v in node.items() if k.startswith(prefix) and k != prefix]
        else:
            values = [node[name]] if name in node else []
        for value in values:
            items = value if isinstance(value, list) else [value]
            if slice_name and name == "extension":
                items = [i for i in items if isinstance(i, dict) and i.get("url") == slice_name]
            out += items
    return out


def _walk(root: dict[str, Any], element_id: str) -> list[Any]:
    nodes: list[Any] = [root]
    for segment in element_id.split(".")[1:]:
        nodes = _step(nodes, segment)
    return nodes


def _codings(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [("", value)]
    if isinstance(value, dict) and "coding" in value:
        return [(c.get("system", ""), c.get("code", "")) for c in value["coding"]]
    if isinstance(value, dict) and "code" in value:
        return [(value.get("system", ""), value["code"])]
    return []


def _check_bindings(root: dict[str, Any], profile: dict[str, Any], where: str) -> list[str]:
    errors = []
    for element in profile["snapshot"]["element"]:
        binding = element.get("binding") or {}
        if binding.get("strength") != "required" or "valueSet" not in binding:
            continue
        values = _walk(root, element["id"])
        if not values:
            continue
        allowed = value_set_codes(binding["valueSet"])
        if allowed is None:
            errors.append(f"{where}{element['id']}: ValueSet {binding['valueSet']} not copied")
            continue
        for value in values:
            codings = _codings(value)
            if not codings:
                errors.append(f"{where}{element['id']}: no coding")
            for system, code in codings:
                core = ("", code) in allowed
                if (system, code) not in allowed and not (system == "" and core):
                    errors.append(f"{where}{element['id']}: {system}|{code} not in the ValueSet")
    return errors


def _check_required(root: dict[str, Any], profile: dict[str, Any]) -> list[str]:
    errors = []
    for element in profile["snapshot"]["element"]:
        path = element["id"]
        if path.count(".") != 1 or element.get("min", 0) < 1:
            continue
        name = path.split(".")[1]
        if name.startswith("extension:"):
            urls = [p for t in element.get("type", []) for p in t.get("profile", [])]
            urls = urls or [name.split(":", 1)[1]]  # a sub-extension: url = slice name
            present = [e for e in root.get("extension", []) if e.get("url") in urls]
        else:
            present = _step([root], name.split(":")[0])
        if len(present) < element["min"]:
            errors.append(f"{path}: min {element['min']}, found {len(present)}")
    return errors


def _extensions(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for extension in node.get("extension", []):
            found.append(extension)
        for key, value in node.items():
            if key != "extension":
                found += _extensions(value)
    elif isinstance(node, list):
        for item in node:
            found += _extensions(item)
    return found


def _check_units(resource: dict[str, Any]) -> list[str]:
    errors = []
    for part in [resource, *resource.get("component", [])]:
        quantity = part.get("valueQuantity")
        if quantity is None:
            continue
        for system, code in _codings(part.get("code", {})):
            unit = _units().get((system, code))
            if unit is None:
                errors.append(f"no FUT unit for {system}|{code}")
            elif (quantity.get("system"), quantity.get("code")) != unit:
                errors.append(f"unit {quantity.get('code')} for {code}, FUT uses {unit[1]}")
    return errors


def fut_errors(resource: dict[str, Any]) -> list[str]:
    """The required-binding, cardinality and unit errors of one resource (with its
    extensions checked against their own profiles)."""
    errors: list[str] = []
    name = _PROFILES.get(resource["resourceType"])
    if name is not None:
        profile = _read(name)
        errors += _check_bindings(resource, profile, "")
        errors += _check_required(resource, profile)
    for extension_file in _EXTENSIONS:
        profile = _read(extension_file)
        for extension in _extensions(resource):
            if extension.get("url") == profile["url"]:
                errors += _check_bindings(extension, profile, f"{profile['name']}/")
                errors += _check_required(extension, profile)
    if resource["resourceType"] == "Observation":
        errors += _check_units(resource)
    return errors


def submission_errors(parameters: dict[str, Any]) -> list[str]:
    """Every resource of a ``$submit-measurement`` (or ``$set-measurement-validity``) body."""
    errors: list[str] = []
    for parameter in parameters["parameter"]:
        resource = parameter["resource"]
        if resource["resourceType"] == "Bundle":
            for entry in resource["entry"]:
                errors += fut_errors(entry["resource"])
        else:
            errors += fut_errors(resource)
    return errors
