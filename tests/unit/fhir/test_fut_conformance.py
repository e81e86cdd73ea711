"""What the bridge sends, checked against FUT's IG 8.0.0 (copied under tests/data/fut):
R4 structure (fhir.resources models) and the IG's required bindings, cardinalities and units
(tests/fut_bindings.py). FUT's own examples pass the same check; a wrong code fails it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.parameters import Parameters

from pust.domain.limits import parse_rule_set
from pust.domain.measurement_types import SPECS, MeasurementType
from pust.fhir import codes
from pust.fhir.observation import Measurement, NoFutCode, ranges_from_rules
from pust.fhir.regional import RegionalContext
from pust.fhir.submission import (
    SubmitOptions,
    observation_entry,
    response_entry,
    submit_measurement_parameters,
)
from pust.fhir.validity import set_measurement_validity_parameters
from tests.fut_bindings import DATA, submission_errors, value_set_codes
from tests.unit.fhir import factories as f

OBSERVATION_CODES = "http://ehealth.sundhed.dk/vs/observation-codes"
NOT_IN_FUT = {
    MeasurementType.FEV6,
    MeasurementType.PEF,
    MeasurementType.RESPIRATORY_RATE,
    MeasurementType.CRP,
}


def _display(system: str, code: str) -> str:
    document = json.loads((DATA / "ValueSet-ehealth-observation-codes.json").read_text())
    for include in document["compose"]["include"]:
        for concept in include.get("concept", ()):
            if (include["system"], concept["code"]) == (system, code):
                return str(concept["display"])
    raise AssertionError(f"{system}|{code} not in observation-codes")


def test_every_mapped_type_has_a_fut_code_from_the_value_set_or_is_not_sent() -> None:
    allowed = value_set_codes(OBSERVATION_CODES)
    assert allowed is not None
    for type_ in MeasurementType:
        code = codes.fut_code_for(type_)
        if type_ in NOT_IN_FUT:
            assert code is None, type_
            continue
        assert code is not None, type_
        assert (code.system, code.code) in allowed
        assert code.display == _display(code.system, code.code)
    panel = codes.fut_panel_code()
    assert (panel.system, panel.code) in allowed and panel.code == "ZZ3170"
    assert codes.fut_code_for(MeasurementType.BP_SYSTOLIC).code == "DNK05472"  # type: ignore[union-attr]
    assert codes.fut_code_for(MeasurementType.BP_DIASTOLIC).code == "DNK05473"  # type: ignore[union-attr]


def _regional() -> RegionalContext:
    link = f.link()
    sr = "https://careplan.example.test/fhir/ServiceRequest/"
    link.service_requests = {
        **link.service_requests,
        **{t.value: f"{sr}{100 + i}/_history/2" for i, t in enumerate(MeasurementType)},
        "bp_systolic": {"reference": f"{sr}74366", "version": "3"},
    }
    return RegionalContext.from_link(link)


def _one(type_: MeasurementType, value: float, **kwargs: Any) -> Measurement:
    return Measurement((f.reading(type_.value, value, SPECS[type_].unit, **kwargs),), f.SYSTEM_ID)


def _sendable() -> list[tuple[str, Measurement]]:
    rules = parse_rule_set(
        {
            "absolute": [
                {"kind": "absolute", "type": "spo2", "unit": "%", "red_low": 88, "yellow_low": 92}
            ]
        }
    )
    spo2 = Measurement(
        (f.reading("spo2", 93, "%"),),
        f.SYSTEM_ID,
        ranges={"spo2": ranges_from_rules(rules, "spo2")},
    )
    bp = Measurement(
        (
            f.reading("bp_systolic", 150, "mm[Hg]", id_=1),
            f.reading("bp_diastolic", 95, "mm[Hg]", id_=2),
        ),
        f.SYSTEM_ID,
    )
    return [
        ("spo2", spo2),
        ("pulse", _one(MeasurementType.PULSE, 80, id_=3)),
        ("weight", _one(MeasurementType.WEIGHT, 80.4, id_=4)),
        ("fev1", _one(MeasurementType.FEV1, 1.9, id_=5)),
        ("temperature", _one(MeasurementType.TEMPERATURE, 37.2, id_=6)),
        ("blood pressure", bp),
        ("sit-to-stand", _one(MeasurementType.SIT_TO_STAND, 11, id_=7)),
    ]


@pytest.mark.parametrize(("name", "measurement"), _sendable(), ids=[n for n, _ in _sendable()])
def test_each_submitted_observation_passes_the_ig(name: str, measurement: Measurement) -> None:
    entry = observation_entry(measurement, regional=_regional())
    parameters = submit_measurement_parameters([entry])
    Parameters.model_validate(parameters)
    assert submission_errors(parameters) == [], name
    resource = entry["resource"]
    assert [c["system"] for c in resource["code"]["coding"]] != [codes.urls.LOINC]
    assert "ifNoneExist" not in entry["request"]  # FUT declares none for Observation


def test_pulse_is_one_per_minute_and_integer_sit_to_stand_is_futs_own_unit() -> None:
    regional = _regional()
    pulse = observation_entry(_one(MeasurementType.PULSE, 80), regional=regional)["resource"]
    assert pulse["valueQuantity"] == {
        "value": 80,
        "unit": "1/min",
        "system": "http://unitsofmeasure.org",
        "code": "1/min",
    }
    sts = observation_entry(_one(MeasurementType.SIT_TO_STAND, 11), regional=regional)["resource"]
    assert sts["valueQuantity"]["system"] == "http://ehealth.sundhed.dk/cs/ehealth-unit-code"
    assert sts["valueQuantity"]["code"] == "1/30sec"


def test_the_questionnaire_response_passes_the_ig_with_conditional_create() -> None:
    options = SubmitOptions(conditional_create=frozenset({"QuestionnaireResponse"}))
    entry = response_entry(f.response(), regional=_regional(), options=options)
    parameters = submit_measurement_parameters([entry])
    Parameters.model_validate(parameters)
    assert submission_errors(parameters) == []
    system, value = (
        entry["resource"]["identifier"]["system"],
        entry["resource"]["identifier"]["value"],
    )
    assert system.startswith("https://") and str(f.CITIZEN_ID) not in value
    assert entry["request"]["ifNoneExist"].startswith("identifier=https%3A%2F%2F")


@pytest.mark.parametrize("type_", sorted(NOT_IN_FUT))
def test_a_type_without_fut_code_is_not_built(type_: MeasurementType) -> None:
    with pytest.raises(NoFutCode):
        observation_entry(_one(type_, 1.0), regional=_regional())


def test_an_invalidated_reading_is_never_a_new_measurement() -> None:
    reading = f.reading()
    reading.valid = False
    with pytest.raises(ValueError, match="invalidated"):
        observation_entry(Measurement((reading,), f.SYSTEM_ID), regional=_regional())


def test_futs_own_examples_pass_and_a_removed_code_fails() -> None:
    example = json.loads((DATA / "submit-measurement-example.json").read_text())
    Parameters.model_validate(example)
    assert submission_errors(example) == []
    validity = json.loads((DATA / "set-measurement-validity-example.json").read_text())
    assert submission_errors(validity) == []
    # the check can fail: MCS88019 left observation-codes in IG 8.0.0, /min is not FUT's unit
    bp = observation_entry(_sendable()[5][1], regional=_regional())
    broken = copy.deepcopy(bp)
    broken["resource"]["component"][0]["code"]["coding"][0]["code"] = "MCS88019"
    errors = submission_errors(submit_measurement_parameters([broken]))
    assert any("MCS88019 not in the ValueSet" in e for e in errors)
    pulse = observation_entry(_one(MeasurementType.PULSE, 80), regional=_regional())
    pulse["resource"]["valueQuantity"]["code"] = "/min"
    errors = submission_errors(submit_measurement_parameters([pulse]))
    assert errors == ["unit /min for NPU21692, FUT uses 1/min"]


def test_set_measurement_validity_passes_the_ig() -> None:
    body = set_measurement_validity_parameters(
        measurement="https://measurement.example.test/fhir/Observation/67651",
        version="1",
        patient_reference="https://patient.example.test/fhir/Patient/71112",
        episode_of_care_reference="https://careplan.example.test/fhir/EpisodeOfCare/99992",
    )
    Parameters.model_validate(body)
    assert submission_errors(body) == []
