"""The FUT ``$submit-measurement`` request: Parameters with a transaction Bundle.

Shape from FUT ``input/pagecontent/POST_submit-measurement.md``: ``POST
[base]/$submit-measurement`` with ``Parameters.parameter[name=measurement].resource`` a
``Bundle`` of type ``transaction`` whose entries are ``POST`` requests with ``urn:uuid``
fullUrls. Each resource carries meta.profile, the episode-of-care and resolved-timing
extensions, ``basedOn`` the citizen's ServiceRequest, subject and performer the regional
Patient, the effective time and the device.

Idempotency does not rest on a server feature FUT does not declare. Each resource carries
an identifier with pust's NamingSystem (identifiers.py); before any resend whose outcome is
unknown the bridge searches the target by that identifier (services/bridge/worker.py). A
request is a conditional create (``ifNoneExist: identifier=<system>|<value>``) only for the
resource types whose ``conditionalCreate`` the target's CapabilityStatement declares
(:class:`SubmitOptions`; FUT 8.0.0: QuestionnaireResponse yes, Observation no).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pust.db.tables import QuestionnaireResponse
from pust.domain.measurement_types import MeasurementType
from pust.fhir import urls
from pust.fhir.devices import DeviceUnknown, device_identity
from pust.fhir.identifiers import DEFAULT_IDENTIFIER_SYSTEM, urn_uuid
from pust.fhir.observation import Measurement, build_observation, identifier_value
from pust.fhir.patient import device_logical_reference
from pust.fhir.questionnaire_map import parse_map, regional_items
from pust.fhir.questionnaire_response import build_questionnaire_response, response_identifier
from pust.fhir.regional import NotLinked, RegionalContext, ServiceRequestRef, resolved_timing
from pust.fhir.timing import PlanContext, Timing

OPERATION = "$submit-measurement"


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM
    # resource types for which the target declares conditional create
    conditional_create: frozenset[str] = field(default_factory=frozenset)
    # True: Device only by a literal reference learned from FUT (pust/fhir/devices.py);
    # an unknown device raises DeviceUnknown. False: a logical reference by identifier.
    literal_devices: bool = False


@dataclass(frozen=True, slots=True)
class EntryIdentity:
    resource_type: str
    system: str
    value: str


def service_request_key(measurement: Measurement) -> str:
    type_ = MeasurementType(measurement.primary.type)
    if type_ is MeasurementType.BP_DIASTOLIC and not measurement.is_blood_pressure:
        return MeasurementType.BP_SYSTOLIC.value  # the panel's ServiceRequest
    return type_.value


def _timing(plan: PlanContext | None, service_request: ServiceRequestRef) -> Timing | None:
    if plan is None:
        return None
    return plan.resolve(include_as_extra=service_request.include_as_extra)


def observation_entry(
    measurement: Measurement,
    *,
    regional: RegionalContext,
    options: SubmitOptions | None = None,
    plan: PlanContext | None = None,
    device_reference: str | None = None,
) -> dict[str, Any]:
    """Raises regional.NotLinked when the citizen has no ServiceRequest for the type,
    observation.NoFutCode for a type outside FUT's observation-codes, devices.DeviceUnknown
    when literal references are wanted and the device's is not known yet."""
    options = options or SubmitOptions()
    key = service_request_key(measurement)
    try:
        service_request = regional.service_request(key)
    except LookupError:
        if measurement.primary.type != MeasurementType.BP_DIASTOLIC:
            raise
        service_request = regional.service_request(MeasurementType.BP_DIASTOLIC.value)
    identifier = identifier_value(measurement)
    resource = build_observation(
        measurement,
        subject=regional.patient,
        device=_device(measurement, regional, options, device_reference),
        extra_extensions=(
            regional.episode_extension(),
            resolved_timing(service_request, _timing(plan, service_request)),
        ),
        based_on={"reference": service_request.reference},
        profile=urls.PROFILE_OBSERVATION,
        identifier_system=options.identifier_system,
        fut=True,
    )
    # the server sets meta.lastUpdated; pust's own receive time is not the server's
    resource["meta"].pop("lastUpdated", None)
    return _entry(resource, "Observation", identifier, options)


def _device(
    measurement: Measurement,
    regional: RegionalContext,
    options: SubmitOptions,
    learned: str | None,
) -> dict[str, Any]:
    # ehealth-observation: device only Reference(ehealth-device), aggregation referenced --
    # a literal reference: learned from FUT (regional_device), or mapped in the link
    identifier = measurement.peripheral_system_id or measurement.primary.device_id
    mapped = learned or regional.device(identifier)
    if mapped:
        return {"reference": mapped}
    if options.literal_devices:
        raise DeviceUnknown(
            device_identity(
                measurement.primary.device_id,
                measurement.peripheral_system_id,
                options.identifier_system,
            )
        )
    return device_logical_reference(measurement.primary.device_id, measurement.peripheral_system_id)


def response_entry(
    response: QuestionnaireResponse,
    *,
    regional: RegionalContext,
    options: SubmitOptions | None = None,
    plan: PlanContext | None = None,
) -> dict[str, Any]:
    options = options or SubmitOptions()
    if not response.valid:
        raise ValueError("an invalidated response is never submitted")
    service_request = regional.service_request(response.questionnaire)
    if not service_request.questionnaire:
        raise NotLinked(f"{response.questionnaire}: no regional Questionnaire")
    resource = build_questionnaire_response(
        response,
        subject=regional.patient,
        questionnaire=service_request.questionnaire,
        extra_extensions=(
            regional.episode_extension(),
            resolved_timing(service_request, _timing(plan, service_request)),
        ),
        based_on={"reference": service_request.reference},
        profile=urls.PROFILE_QUESTIONNAIRE_RESPONSE,
        identifier_system=options.identifier_system,
    )
    resource["meta"].pop("lastUpdated", None)
    # the regional Questionnaire's own linkIds and types (questionnaire_map.py)
    raw = regional.service_requests.get(response.questionnaire)
    mapping = parse_map(raw if isinstance(raw, dict) else {}, response.questionnaire)
    resource["questionnaire"] = mapping.questionnaire
    items = regional_items(response, mapping)
    if items:
        resource["item"] = items
    else:
        resource.pop("item", None)
    return _entry(resource, "QuestionnaireResponse", response_identifier(response), options)


def _entry(
    resource: dict[str, Any], resource_type: str, identifier: str, options: SubmitOptions
) -> dict[str, Any]:
    request = {"method": "POST", "url": resource_type}
    if resource_type in options.conditional_create:
        token = f"{options.identifier_system}|{identifier}"
        request["ifNoneExist"] = f"identifier={quote(token, safe='')}"
    return {
        "fullUrl": urn_uuid(resource_type, identifier),
        "resource": resource,
        "request": request,
    }


def entry_identity(entry: dict[str, Any]) -> EntryIdentity:
    resource = entry["resource"]
    found = resource["identifier"]
    first = found[0] if isinstance(found, list) else found
    return EntryIdentity(resource["resourceType"], first["system"], first["value"])


def submit_measurement_parameters(entries: list[dict[str, Any]]) -> dict[str, Any]:
    if not entries:
        raise ValueError("a submission carries at least one resource")
    return {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "measurement",
                "resource": {"resourceType": "Bundle", "type": "transaction", "entry": entries},
            }
        ],
    }
