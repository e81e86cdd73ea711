"""Done-when of issue 18: every resource the bridge sends for SpO2 + pulse (one device
session, with the symptom questionnaire), weight, FEV1, blood pressure and temperature, the
ClinicalImpression of ``$set-measurement-validity`` and the Device it creates pass an R4
validator (Medplum's, R4 4.0.1 definitions; tests/r4_validation.py) against FUT's profiles,
and the IG's required bindings (tests/fut_bindings.py). FUT's own ``$submit-measurement``
example passes the same test; a broken resource fails it."""

from __future__ import annotations

import copy
import json
from typing import Any

from pust.domain.measurement_types import SPECS, MeasurementType
from pust.fhir.devices import device_identity, ehealth_device
from pust.fhir.observation import Measurement
from pust.fhir.regional import RegionalContext
from pust.fhir.submission import (
    SubmitOptions,
    observation_entry,
    response_entry,
    submit_measurement_parameters,
)
from pust.fhir.validity import set_measurement_validity_parameters
from tests.fut_bindings import DATA, submission_errors
from tests.r4_validation import profile_of, validate_r4
from tests.unit.fhir import factories as f

DEVICE = "https://device.example.test/fhir/Device/70544"
OPTIONS = SubmitOptions(
    conditional_create=frozenset({"QuestionnaireResponse"}), literal_devices=True
)


def _regional() -> RegionalContext:
    link = f.link()
    sr = "https://careplan.example.test/fhir/ServiceRequest/"
    link.service_requests = {
        **link.service_requests,
        **{t.value: f"{sr}{100 + i}/_history/2" for i, t in enumerate(MeasurementType)},
        "bp_systolic": {"reference": f"{sr}74366", "version": "3"},
    }
    return RegionalContext.from_link(link)


def _one(type_: MeasurementType, value: float, id_: int) -> Measurement:
    return Measurement((f.reading(type_.value, value, SPECS[type_].unit, id_=id_),), f.SYSTEM_ID)


def _submissions() -> dict[str, dict[str, Any]]:
    regional = _regional()

    def entry(measurement: Measurement) -> dict[str, Any]:
        return observation_entry(
            measurement, regional=regional, options=OPTIONS, device_reference=DEVICE
        )

    session = [
        entry(_one(MeasurementType.SPO2, 93, 1)),
        entry(_one(MeasurementType.PULSE, 80, 2)),
        response_entry(f.response(), regional=regional, options=OPTIONS),
    ]
    bp = Measurement(
        (
            f.reading("bp_systolic", 150, "mm[Hg]", id_=3),
            f.reading("bp_diastolic", 95, "mm[Hg]", id_=4),
        ),
        f.SYSTEM_ID,
    )
    return {
        "spo2+pulse+questionnaire": submit_measurement_parameters(session),
        "weight": submit_measurement_parameters([entry(_one(MeasurementType.WEIGHT, 80.4, 5))]),
        "fev1": submit_measurement_parameters([entry(_one(MeasurementType.FEV1, 1.9, 6))]),
        "blood pressure": submit_measurement_parameters([entry(bp)]),
        "temperature": submit_measurement_parameters(
            [entry(_one(MeasurementType.TEMPERATURE, 37.2, 7))]
        ),
    }


def _items(parameters: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """The Parameters as a whole (base R4), then each resource against its FUT profile."""
    items: list[tuple[dict[str, Any], str | None]] = [(parameters, None)]
    for parameter in parameters["parameter"]:
        resource = parameter["resource"]
        if resource["resourceType"] == "Bundle":
            items += [(e["resource"], profile_of(e["resource"])) for e in resource["entry"]]
        else:
            items.append((resource, profile_of(resource)))
    return items


def test_everything_the_bridge_sends_passes_r4_and_futs_profiles_and_bindings() -> None:
    bodies = _submissions()
    bodies["set-measurement-validity"] = set_measurement_validity_parameters(
        measurement="https://measurement.example.test/fhir/Observation/67651",
        version="1",
        patient_reference="https://patient.example.test/fhir/Patient/71112",
        episode_of_care_reference="https://careplan.example.test/fhir/EpisodeOfCare/99992",
    )
    device = ehealth_device(device_identity("tab-1", f.SYSTEM_ID, OPTIONS.identifier_system))
    items = [(body, name) for name, body in bodies.items()]
    batch = [item for body, _ in items for item in _items(body)] + [(device, "ehealth-device.json")]
    results = validate_r4(batch)
    failures = {
        f"{resource['resourceType']} ({profile})": issues
        for (resource, profile), issues in zip(batch, results, strict=True)
        if issues
    }
    assert failures == {}
    for name, body in bodies.items():
        assert submission_errors(body) == [], name  # the IG's required bindings and units
    observations = [
        e["resource"]
        for body in bodies.values()
        for p in body["parameter"]
        if p["resource"]["resourceType"] == "Bundle"
        for e in p["resource"]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert len(observations) == 6 and {o["device"]["reference"] for o in observations} == {DEVICE}


def test_futs_own_example_passes_the_same_test_and_a_broken_resource_fails_it() -> None:
    example = json.loads((DATA / "submit-measurement-example.json").read_text())
    validity = json.loads((DATA / "set-measurement-validity-example.json").read_text())
    broken = copy.deepcopy(_submissions()["weight"])
    observation = broken["parameter"][0]["resource"]["entry"][0]["resource"]
    del observation["subject"]  # ehealth-observation: subject 1..1
    observation["valueQuantity"]["value"] = "80,4"  # not a decimal
    batch = [*_items(example), *_items(validity), *_items(broken)]
    results = validate_r4(batch)
    example_and_validity = len(_items(example)) + len(_items(validity))
    assert results[:example_and_validity] == [[]] * example_and_validity
    assert submission_errors(example) == [] and submission_errors(validity) == []
    problems = [issue for issues in results[example_and_validity:] for issue in issues]
    assert any("Observation.subject" in p for p in problems), problems
    assert any("value" in p and "number" in p for p in problems), problems
