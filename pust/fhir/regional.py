"""The citizen's identifiers in the regional backend (``RegionalLink``) as FHIR elements.

``RegionalLink.service_requests`` maps a measurement type (``spo2``) or a questionnaire id
(``kol-symptoms-v1``) to the ServiceRequest it is measured under, either as a reference
string (``https://…/ServiceRequest/74365`` or ``…/ServiceRequest/74365/_history/42``) or as
``{"reference": …, "version": "42", "questionnaire": "<canonical>"}``. Blood pressure uses
the ``bp_systolic`` entry (one ServiceRequest for the panel). A questionnaire entry must name
the regional Questionnaire (ehealth-questionnaireresponse: ``questionnaire 1..1``, only
``Canonical(ehealth-questionnaire)``), else answers to it are not submitted.

The version (``…/_history/42`` or ``"version"``) is the ServiceRequest's real version: the
resolved-timing extension carries it (serviceRequestVersionId 1..1). A link without one is
not guessed ("1" would name a version FUT may never have had): its submissions are refused
(dead, ``ServiceRequest version unknown``) until the link names it. ``"include_as_extra":
true`` mirrors the ServiceRequest's ehealth-include-as-extra (readings outside a slot are then
``Extra``, else ``Adhoc``).

Devices the regional device service knows are mapped as ``"device:<system id or tablet
id>": "https://…/Device/70544"``; an unmapped device is referenced by its PHD system id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pust.db.tables import RegionalLink
from pust.fhir import urls
from pust.fhir.time import instant
from pust.fhir.timing import ADHOC, Timing

_HISTORY = re.compile(r"^(?P<base>.+)/_history/(?P<version>[A-Za-z0-9\-.]{1,64})$")


class NotLinked(LookupError):
    """The citizen has no regional ServiceRequest for this type: nothing can be submitted."""


class UnknownVersion(NotLinked):
    """The link names the ServiceRequest but not its version."""


@dataclass(frozen=True, slots=True)
class ServiceRequestRef:
    reference: str
    version: str | None
    questionnaire: str | None = None
    include_as_extra: bool = False

    def require_version(self) -> str:
        if not self.version:
            raise UnknownVersion("ServiceRequest version unknown")
        return self.version


@dataclass(frozen=True, slots=True)
class RegionalContext:
    patient_reference: str
    episode_of_care_reference: str
    service_requests: dict[str, Any]
    care_team_reference: str | None = None

    @classmethod
    def from_link(cls, link: RegionalLink) -> RegionalContext:
        return cls(
            patient_reference=link.patient_reference,
            episode_of_care_reference=link.episode_of_care_reference,
            service_requests=dict(link.service_requests or {}),
            care_team_reference=link.care_team_reference,
        )

    def service_request(self, key: str) -> ServiceRequestRef:
        raw = self.service_requests.get(key)
        extra = False
        if isinstance(raw, str) and raw:
            reference, version, questionnaire = raw, None, None
        elif isinstance(raw, dict) and isinstance(raw.get("reference"), str):
            reference = raw["reference"]
            version = raw.get("version")
            questionnaire = raw.get("questionnaire")
            extra = raw.get("include_as_extra") is True
        else:
            raise NotLinked(key)
        match = _HISTORY.match(reference)
        if match:
            reference = match.group("base")
            version = version or match.group("version")
        return ServiceRequestRef(
            reference, str(version) if version else None, questionnaire, include_as_extra=extra
        )

    def has(self, key: str) -> bool:
        try:
            self.service_request(key)
        except NotLinked:
            return False
        return True

    def has_questionnaire(self, key: str) -> bool:
        return self.has(key) and bool(self.service_request(key).questionnaire)

    def device(self, identifier: str) -> str | None:
        mapped = self.service_requests.get(f"device:{identifier}")
        return mapped if isinstance(mapped, str) and mapped else None

    @property
    def patient(self) -> dict[str, Any]:
        return {"reference": self.patient_reference}

    def episode_extension(self) -> dict[str, Any]:
        return {
            "url": urls.EXT_EPISODE_OF_CARE,
            "valueReference": {"reference": self.episode_of_care_reference},
        }


def resolved_timing(service_request: ServiceRequestRef, timing: Timing | None = None) -> Any:
    """ehealth-resolved-timing: serviceRequestVersionId 1..1 (the real version), start and end
    0..1 (the slot, when Resolved), type 1..1 (pust.fhir.timing; Adhoc when not resolved)."""
    timing = timing or Timing(ADHOC)
    parts: list[dict[str, Any]] = [
        {"url": "serviceRequestVersionId", "valueId": service_request.require_version()}
    ]
    if timing.start is not None:
        parts.append({"url": "start", "valueDateTime": instant(timing.start)})
    if timing.end is not None:
        parts.append({"url": "end", "valueDateTime": instant(timing.end)})
    parts.append(
        {
            "url": "type",
            "valueCodeableConcept": {
                "coding": [{"system": urls.CS_RESOLVED_TIMING_TYPE, "code": timing.type}]
            },
        }
    )
    return {"url": urls.EXT_RESOLVED_TIMING, "extension": parts}
