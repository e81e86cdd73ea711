"""Every resource pust emits validates against the FHIR R4B models (fhir.resources) and carries
the elements its FUT profile requires.

Profile rules checked here, as read in fut-infrastructure/implementation-guide:

ehealth-observation (input/fsh/ehealth-observation.fsh)
  - extension workflow-episodeOfCare 1..1; extension ehealth-resolved-timing 1..1
  - basedOn 1..1 (ServiceRequest); subject 1..1; effective[x] 1..1; performer 1..1
  - value[x] only Quantity or CodeableConcept; component.value[x] likewise
ehealth-resolved-timing (input/fsh/ehealth-media.fsh): serviceRequestVersionId 1..1, type 1..1
ehealth-questionnaireresponse (input/fsh/ehealth-questionnaireresponse.fsh)
  - extension episodeOfCare 1..1, resolvedTiming 1..1; basedOn 1..1; questionnaire 1..1;
    subject 1..1; authored 1..1; source 1..1
ehealth-clinicalimpression (input/fsh/ehealth-clinicalimpression.fsh)
  - extension episodeOfCare 1..1; code 1..1 (clinicalimpression-codes); subject Patient
ehealth-task (input/fsh/ehealth-task.fsh)
  - extensions ehealth-task-episodeOfCare 1..1, ehealth-task-category 1..1,
    ehealth-task-responsible 1..*, ehealth-restriction-category 1..*; priority 1..1
$submit-measurement (input/pagecontent/POST_submit-measurement.md)
  - Parameters.parameter[name=measurement].resource is a transaction Bundle of POST entries
HL7/phd PhdBaseObservation: category phd-observation 1..1; code has an MDC coding 1..1;
  identifier conditional-create slice with value only (device-patient-type-timestamp).
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.clinicalimpression import ClinicalImpression
from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirQR
from fhir.resources.R4B.task import Task

from pust.db.tables import Device, Peripheral
from pust.domain.limits import parse_rule_set
from pust.fhir import urls
from pust.fhir.bundle import operation_outcome, searchset
from pust.fhir.capability import capability_statement
from pust.fhir.identifiers import DEFAULT_IDENTIFIER_SYSTEM
from pust.fhir.observation import (
    Measurement,
    ReferenceRange,
    build_observation,
    pair_blood_pressure,
    ranges_from_rules,
)
from pust.fhir.patient import build_patient, build_peripheral, build_tablet, device_reference
from pust.fhir.questionnaire_response import build_questionnaire_response, local_author
from pust.fhir.regional import NotLinked, RegionalContext, UnknownVersion
from pust.fhir.submission import (
    observation_entry,
    response_entry,
    submit_measurement_parameters,
)
from pust.fhir.triage import build_clinical_impression, build_task
from tests.unit.fhir import factories as f


def _ext(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == url]


def _local_observation(measurement: Measurement) -> dict[str, Any]:
    return build_observation(
        measurement,
        subject={"reference": f"Patient/{f.CITIZEN_ID}"},
        device=device_reference("tab-0001", 7),
        resource_id=str(measurement.primary.id),
    )


def test_observation_has_national_loinc_mdc_codes_ucum_and_phd_identifier() -> None:
    obs = _local_observation(Measurement((f.reading(),), f.SYSTEM_ID))
    Observation.model_validate(obs)
    systems = {c["system"]: c["code"] for c in obs["code"]["coding"]}
    assert systems == {urls.NPU: "NPU03011", urls.LOINC: "59408-5", urls.MDC: "150456"}
    assert obs["code"]["coding"][0]["system"] == urls.NPU  # the national code first
    assert obs["valueQuantity"] == {"value": 93.0, "unit": "%", "system": urls.UCUM, "code": "%"}
    # pust's NamingSystem; from the device's view: no internal UUID, no CPR
    assert obs["identifier"] == [
        {
            "system": DEFAULT_IDENTIFIER_SYSTEM,
            "value": "FEEDABEEDEAD77C3-TAB-0001-150456-20261123T061440.00",
        }
    ]
    assert obs["device"] == {"reference": "Device/peripheral-7"}
    assert obs["performer"] == [obs["subject"]]
    assert {"system": urls.PHD_OBSERVATION_CATEGORIES, "code": "phd-observation"} in [
        c["coding"][0] for c in obs["category"]
    ]


@pytest.mark.parametrize(
    ("entry", "code"), [("device", "automatically-transferred"), ("manual", "entered-manually")]
)
def test_manual_versus_device_entry_is_a_usage_quality(entry: str, code: str) -> None:
    obs = _local_observation(Measurement((f.reading(entry=entry),)))
    (quality,) = _ext(obs, urls.EXT_QUALITY)
    parts = {e["url"]: e["valueCodeableConcept"]["coding"][0]["code"] for e in quality["extension"]}
    assert parts == {"qualityType": "UQ", "qualityCode": code}
    # without a peripheral the tablet stands in for the device in the identifier
    if entry == "manual":
        assert obs["identifier"][0]["value"].startswith("TAB-0001-")


def test_blood_pressure_is_one_observation_with_two_components() -> None:
    systolic = f.reading("bp_systolic", 150, "mm[Hg]", id_=1)
    diastolic = f.reading("bp_diastolic", 95, "mm[Hg]", id_=2)
    other = f.reading("pulse", 80, "/min", id_=3)
    groups = pair_blood_pressure([diastolic, other, systolic])
    assert [tuple(r.id for r in g) for g in groups] == [(1, 2), (3,)]
    ranges = {"bp_systolic": (ReferenceRange("red", low=180),)}
    obs = _local_observation(Measurement(groups[0], ranges=ranges))
    Observation.model_validate(obs)
    assert "valueQuantity" not in obs
    assert {c["code"] for c in obs["code"]["coding"]} == {"ZZ3170", "85354-9", "150020"}
    components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert components["DNK05472"]["valueQuantity"]["value"] == 150
    assert components["DNK05473"]["valueQuantity"]["value"] == 95
    assert components["DNK05472"]["referenceRange"][0]["low"]["value"] == 180
    assert "150020" in obs["identifier"][0]["value"]


def test_reference_ranges_in_force_come_from_the_absolute_rules() -> None:
    rules = parse_rule_set(
        {
            "absolute": [
                {"kind": "absolute", "type": "spo2", "unit": "%", "red_low": 88, "yellow_low": 90}
            ]
        }
    )
    bands = ranges_from_rules(rules, "spo2")
    assert bands == (ReferenceRange("red", None, 88.0), ReferenceRange("yellow", 88.0, 90.0))
    obs = _local_observation(Measurement((f.reading(),), ranges={"spo2": bands}))
    Observation.model_validate(obs)
    kinds = [r["type"]["coding"][0] for r in obs["referenceRange"]]
    assert kinds[0] == {"system": urls.CS_ABSOLUTE_RANGE, "code": "RAL"}
    assert kinds[1] == {"system": urls.CS_ABSOLUTE_RANGE, "code": "GAL"}
    assert ranges_from_rules(rules, "pulse") == ()
    assert ranges_from_rules(None, "spo2") == ()


def test_an_invalidated_reading_is_entered_in_error() -> None:
    obs = _local_observation(Measurement((f.reading(valid=False),)))
    assert obs["status"] == "entered-in-error"


def test_patient_and_devices_validate() -> None:
    patient = build_patient(f.citizen())
    Patient.model_validate(patient)
    assert patient["identifier"][0] == {
        "use": "official",
        "system": urls.CPR,
        "value": "0101901234",
    }
    assert patient["gender"] == "unknown"  # ehealth-patient: gender 1..1
    tablet = build_tablet(Device(id="tab-0001", enrolled_at=f.T0, app_version="2.3.1"))
    FhirDevice.model_validate(tablet)
    peripheral = build_peripheral(
        Peripheral(
            id=7,
            device_id="tab-0001",
            system_id=f.SYSTEM_ID,
            model="Nonin 3230",
            serial="501234",
            first_seen_at=f.T0,
            last_seen_at=f.T0,
        )
    )
    FhirDevice.model_validate(peripheral)
    assert "patient" not in peripheral  # ehealth-device: patient 0..0
    assert peripheral["identifier"][0]["system"] == urls.PHD_SYSTEM_ID


def test_questionnaire_response_validates_with_answers() -> None:
    qr = build_questionnaire_response(
        f.response(),
        subject={"reference": "Patient/x"},
        resource_id="5",
        author=local_author(f.response()),
    )
    FhirQR.model_validate(qr)
    answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert answers == {
        "more_breathless": {"valueBoolean": True},
        "more_cough": {"valueBoolean": False},
        "cat_score": {"valueInteger": 18},
    }
    assert qr["questionnaire"] == "urn:pust:questionnaire:kol-symptoms-v1|1"


@pytest.mark.parametrize(
    ("severity", "priority"), [("red", "asap"), ("yellow", "urgent"), ("green", "routine")]
)
def test_task_priority_is_the_triage_colour(severity: str, priority: str) -> None:
    regional = RegionalContext.from_link(f.link())
    task = build_task(f.alert(severity=severity), triage_result_id=3, regional=regional)
    Task.model_validate(task)
    assert task["priority"] == priority
    assert task["meta"]["profile"] == [urls.PROFILE_TASK]
    for url in (
        urls.EXT_TASK_EPISODE_OF_CARE,
        urls.EXT_TASK_CATEGORY,
        urls.EXT_TASK_RESPONSIBLE,
        urls.EXT_RESTRICTION_CATEGORY,
    ):
        assert len(_ext(task, url)) >= 1, url
    (category,) = _ext(task, urls.EXT_TASK_CATEGORY)
    assert category["valueCodeableConcept"]["coding"][0]["code"] == "MeasurementForAssessment"
    assert task["focus"] == {"reference": "ClinicalImpression/3"}
    assert task["intent"] == "plan"


def test_missed_measurement_task_category() -> None:
    task = build_task(f.alert(kind="missed_measurement", status="acknowledged"))
    Task.model_validate(task)
    (category,) = _ext(task, urls.EXT_TASK_CATEGORY)
    assert category["valueCodeableConcept"]["coding"][0]["code"] == "MissingMeasurementResolving"
    assert task["status"] == "completed"
    assert "profile" not in task["meta"]  # no episode of care without a regional link


@pytest.mark.parametrize("reading_id", [1, None])
def test_clinical_impression_is_a_triaging_result(reading_id: int | None) -> None:
    regional = RegionalContext.from_link(f.link())
    ci = build_clinical_impression(f.triage(reading_id=reading_id), regional=regional)
    ClinicalImpression.model_validate(ci)
    assert ci["code"]["coding"][0]["code"] == "TriagingResult"
    assert ci["finding"][0]["itemCodeableConcept"]["coding"][0] == {
        "system": urls.CS_CLINICALIMPRESSION_FINDING,
        "code": "red",
        "display": "Red overall assessment",
    }
    assert len(_ext(ci, urls.EXT_EPISODE_OF_CARE)) == 1
    item = ci["investigation"][0]["item"][0]["reference"]
    assert item == ("Observation/1" if reading_id else "QuestionnaireResponse/5")


def _check_submitted(resource: dict[str, Any], profile: str) -> None:
    assert resource["meta"]["profile"] == [profile]
    assert len(_ext(resource, urls.EXT_EPISODE_OF_CARE)) == 1
    (timing,) = _ext(resource, urls.EXT_RESOLVED_TIMING)
    parts = {e["url"] for e in timing["extension"]}
    assert {"serviceRequestVersionId", "type"} <= parts
    assert len(resource["basedOn"]) == 1
    assert resource["subject"] == {"reference": "https://patient.example.test/fhir/Patient/71112"}


def test_submit_measurement_parameters() -> None:
    regional = RegionalContext.from_link(f.link())
    bp = Measurement(
        (
            f.reading("bp_systolic", 150, "mm[Hg]", id_=1),
            f.reading("bp_diastolic", 95, "mm[Hg]", id_=2),
        ),
        f.SYSTEM_ID,
    )
    entries = [
        observation_entry(Measurement((f.reading(),), f.SYSTEM_ID), regional=regional),
        observation_entry(bp, regional=regional),
        response_entry(f.response(), regional=regional),
    ]
    parameters = submit_measurement_parameters(entries)
    Parameters.model_validate(parameters)
    bundle = parameters["parameter"][0]["resource"]
    assert parameters["parameter"][0]["name"] == "measurement"
    Bundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    spo2, pressure, answer = (e["resource"] for e in bundle["entry"])
    Observation.model_validate(spo2)
    FhirQR.model_validate(answer)
    _check_submitted(spo2, urls.PROFILE_OBSERVATION)
    _check_submitted(pressure, urls.PROFILE_OBSERVATION)
    _check_submitted(answer, urls.PROFILE_QUESTIONNAIRE_RESPONSE)
    assert spo2["performer"] == [spo2["subject"]]  # performer 1..1
    assert spo2["effectiveDateTime"] == "2026-11-23T06:14:40.000Z"
    assert spo2["device"]["identifier"]["value"] == f.SYSTEM_ID
    assert spo2["basedOn"] == [
        {"reference": "https://careplan.example.test/fhir/ServiceRequest/74365"}
    ]
    (timing,) = _ext(spo2, urls.EXT_RESOLVED_TIMING)
    assert timing["extension"][0] == {"url": "serviceRequestVersionId", "valueId": "42"}
    (timing,) = _ext(pressure, urls.EXT_RESOLVED_TIMING)
    assert timing["extension"][0]["valueId"] == "3"
    assert answer["questionnaire"].endswith("/Questionnaire/78460|3")  # pinned version
    for entry in bundle["entry"]:
        assert entry["request"]["method"] == "POST"
        # FUT declares no conditional create for Observation: none unless the target does
        assert "ifNoneExist" not in entry["request"]
        assert entry["fullUrl"].startswith("urn:uuid:")


def test_submission_is_deterministic() -> None:
    regional = RegionalContext.from_link(f.link())
    one = observation_entry(Measurement((f.reading(),), f.SYSTEM_ID), regional=regional)
    two = observation_entry(Measurement((f.reading(),), f.SYSTEM_ID), regional=regional)
    assert one == two
    later = observation_entry(
        Measurement((f.reading(at=f.T0.replace(minute=15)),), f.SYSTEM_ID),
        regional=regional,
    )
    assert later["fullUrl"] != one["fullUrl"]


def test_not_linked_for_a_type_without_service_request() -> None:
    regional = RegionalContext.from_link(f.link())
    with pytest.raises(NotLinked):
        observation_entry(
            Measurement((f.reading("weight", 80, "kg"),)),
            regional=regional,
        )
    # the ServiceRequest's real version, never a guessed "1"
    unversioned = RegionalContext.from_link(f.link(with_versions=False))
    assert unversioned.service_request("spo2").version is None
    with pytest.raises(UnknownVersion):
        observation_entry(Measurement((f.reading(),), f.SYSTEM_ID), regional=unversioned)


def test_searchset_paging_links_and_outcome_and_capability() -> None:
    obs = _local_observation(Measurement((f.reading(),)))
    page = searchset(
        base="https://pust.test/fhir/r4",
        resource_type="Observation",
        resources=[obs],
        total=3,
        params=[("patient", "x")],
        offset=1,
        count=1,
        now=f.T0,
    )
    Bundle.model_validate(page)
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert links["next"].endswith("patient=x&_count=1&_offset=2")
    assert links["previous"].endswith("_offset=0")
    assert page["entry"][0]["fullUrl"] == "https://pust.test/fhir/r4/Observation/1"
    OperationOutcome.model_validate(operation_outcome(404, "no such resource"))
    CapabilityStatement.model_validate(
        capability_statement(base="https://pust.test/fhir/r4", software_version="1", now=f.T0)
    )


def test_a_known_regional_device_is_referenced_literally() -> None:
    link = f.link()
    link.service_requests = {
        **link.service_requests,
        f"device:{f.SYSTEM_ID}": "https://device.example.test/fhir/Device/70544",
    }
    entry = observation_entry(
        Measurement((f.reading(),), f.SYSTEM_ID),
        regional=RegionalContext.from_link(link),
    )
    assert entry["resource"]["device"] == {
        "reference": "https://device.example.test/fhir/Device/70544"
    }


def test_answers_need_the_regional_questionnaire() -> None:
    link = f.link()
    link.service_requests = {
        **link.service_requests,
        "kol-symptoms-v1": "https://careplan.example.test/fhir/ServiceRequest/74367",
    }
    regional = RegionalContext.from_link(link)
    assert regional.has("kol-symptoms-v1") and not regional.has_questionnaire("kol-symptoms-v1")
    with pytest.raises(NotLinked):
        response_entry(f.response(), regional=regional)


def test_a_merged_alert_is_one_task_focused_on_the_result_that_names_both_rules() -> None:
    """One SpO2 84 that broke the absolute and the baseline rule is one alert (issue 14): one
    Task, asap, whose ClinicalImpression's summary names both rules."""
    both = [
        {"rule": "spo2.absolute", "severity": "red"},
        {"rule": "spo2.baseline", "severity": "red"},
    ]
    result = f.triage(severity="red")
    result.reasons = both
    ci = build_clinical_impression(result)
    ClinicalImpression.model_validate(ci)
    assert ci["summary"] == "spo2.absolute; spo2.baseline"
    merged = f.alert(severity="red")
    merged.reasons, merged.concern = both, "spo2.*"
    task = build_task(merged, triage_result_id=result.id)
    Task.model_validate(task)
    assert (task["priority"], task["focus"]) == ("asap", {"reference": "ClinicalImpression/3"})
