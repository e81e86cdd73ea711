"""The read API's CapabilityStatement (``GET /fhir/r4/metadata``) and the one list of the
search parameters each type supports: the endpoints accept exactly these (:func:`supported`),
so the statement claims only what works. ``_count``/``_offset``/``_format`` are paging and
format controls, not search parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pust.fhir.time import instant

COMMON = [("_lastUpdated", "date"), ("_count", "number"), ("_id", "token")]
CONTROLS = ("_count", "_offset", "_format")
SEARCH_PARAMS: dict[str, list[tuple[str, str]]] = {
    "Patient": [("identifier", "token")],
    "Device": [("patient", "reference")],  # _lastUpdated: when the tablet was last seen
    "Observation": [
        ("patient", "reference"),
        ("subject", "reference"),
        ("code", "token"),
        ("date", "date"),
    ],
    "QuestionnaireResponse": [
        ("patient", "reference"),
        ("subject", "reference"),
        ("authored", "date"),
    ],
    "ClinicalImpression": [("patient", "reference"), ("subject", "reference"), ("date", "date")],
    "Task": [
        ("patient", "reference"),
        ("subject", "reference"),
        ("status", "token"),
        ("priority", "token"),
        ("authored-on", "date"),
    ],
}


def supported(resource_type: str) -> tuple[str, ...]:
    """The search parameters (and controls) an endpoint accepts."""
    names = [name for name, _ in [*SEARCH_PARAMS[resource_type], *COMMON]]
    return (*names, *CONTROLS)


def capability_statement(*, base: str, software_version: str, now: datetime) -> dict[str, Any]:
    resources = []
    for resource_type, params in SEARCH_PARAMS.items():
        resources.append(
            {
                "type": resource_type,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": name, "type": kind} for name, kind in [*params, *COMMON]],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now),
        "publisher": "pust",
        "kind": "instance",
        "software": {"name": "pust", "version": software_version},
        "implementation": {"description": "pust FHIR R4 read API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],  # XML: 406
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer token or session of a pust staff account; "
                    "every read is scoped to the caller's care teams "
                    "and audited."
                },
                "resource": resources,
            }
        ],
    }
