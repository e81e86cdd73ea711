"""Every example of the contract, and every error code the validator decides."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.device_protocol import (
    ErrorCode,
    MeasurementSubmission,
    PresenceChange,
    QuestionnaireSubmission,
    Rejection,
    StatusReport,
    validate_message,
)
from pust.domain.measurement_types import Entry, MeasurementType
from tests.data import CONTRACT_EXAMPLES

EXAMPLES = CONTRACT_EXAMPLES
# the examples were taken on the morning of 2026-11-23 (Copenhagen, +01:00)
RECEIVED = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
DEVICE = "tablet-0001"


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def validate(channel: str, payload: bytes, received_at: datetime = RECEIVED):
    return validate_message(
        device_id=DEVICE, channel=channel, payload=payload, received_at=received_at
    )


def rejection(channel: str, payload: bytes, received_at: datetime = RECEIVED) -> Rejection:
    result = validate(channel, payload, received_at)
    assert isinstance(result, Rejection), result
    assert result.errors
    return result


def measurement(**overrides: object) -> bytes:
    observation = {
        "type": "spo2",
        "value": 93,
        "unit": "%",
        "measured_at": "2026-11-23T07:14:40+01:00",
    }
    observation.update(overrides)
    return json.dumps(
        {
            "message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21",
            "sent_at": "2026-11-23T07:15:02+01:00",
            "observations": [observation],
        }
    ).encode()


def test_the_examples_directory_is_there() -> None:
    assert len(list(EXAMPLES.glob("*.json"))) >= 6


def test_oximeter_example_is_accepted_with_peripheral() -> None:
    result = validate("measurements", example("measurements-oximeter.json"))
    assert isinstance(result, MeasurementSubmission)
    assert result.message_id == "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"
    assert result.sent_at == datetime(2026, 11, 23, 6, 15, 2, 120000, tzinfo=UTC)
    spo2, pulse = result.observations
    assert (spo2.type, spo2.value, spo2.unit) == (MeasurementType.SPO2, 93, "%")
    assert (pulse.type, pulse.value, pulse.unit) == (MeasurementType.PULSE, 88, "/min")
    assert spo2.measured_at == datetime(2026, 11, 23, 6, 14, 40, tzinfo=UTC)
    assert spo2.entry is Entry.DEVICE
    assert spo2.peripheral is not None
    assert spo2.peripheral.system_id == "FE-ED-AB-EE-DE-AD-77-C3"
    assert spo2.peripheral.model == "Nonin 3230"
    assert spo2.peripheral.serial == "501234"
    assert not spo2.late


def test_blood_pressure_example_defaults_to_device_entry() -> None:
    result = validate("measurements", example("measurements-blood-pressure.json"))
    assert isinstance(result, MeasurementSubmission)
    assert [o.type for o in result.observations] == [
        MeasurementType.BP_SYSTOLIC,
        MeasurementType.BP_DIASTOLIC,
        MeasurementType.PULSE,
    ]
    assert all(o.entry is Entry.DEVICE and o.peripheral is None for o in result.observations)


def test_weight_in_pounds_is_converted_and_keeps_the_original() -> None:
    result = validate("measurements", example("measurements-weight-manual-lb.json"))
    assert isinstance(result, MeasurementSubmission)
    (weight,) = result.observations
    assert weight.value == pytest.approx(80.01, abs=0.01)
    assert weight.unit == "kg"
    assert (weight.original_value, weight.original_unit) == (176.4, "[lb_av]")
    assert weight.entry is Entry.MANUAL


def test_questionnaire_example_is_accepted() -> None:
    result = validate("questionnaire-responses", example("questionnaire-kol-symptoms.json"))
    assert isinstance(result, QuestionnaireSubmission)
    assert result.questionnaire == "kol-symptoms-v1"
    assert result.answered_at == datetime(2026, 11, 23, 6, 16, 10, tzinfo=UTC)
    assert {a.item: a.value for a in result.answers} == {
        "more_breathless": True,
        "more_cough": False,
        "more_sputum": True,
        "sputum_colour_changed": True,
        "cat_score": 18,
    }


def test_status_example_is_accepted() -> None:
    result = validate("status", example("status.json"))
    assert isinstance(result, StatusReport)
    assert (result.battery_pct, result.app_version, result.outbox_depth) == (82, "2.3.1", 0)
    assert result.clock_synced is True


def test_status_needs_only_message_id_and_sent_at() -> None:
    payload = (
        b'{"message_id": "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d", "sent_at": "2026-11-23T07:30:00Z"}'
    )
    result = validate("status", payload)
    assert isinstance(result, StatusReport)
    assert result.battery_pct is None


def test_rejected_unit_example_says_why() -> None:
    result = rejection("measurements", example("rejected-unit.json"))
    assert result.message_id == "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f"
    (error,) = result.errors
    assert error.path == "observations[0].unit"
    assert error.code is ErrorCode.UNIT_NOT_SUPPORTED
    assert error.message == "unit 'mmol/L' is not accepted for type 'spo2'"


@pytest.mark.parametrize(
    ("payload", "online"), [(b"online", True), (b"offline", False), (b"online\n", True)]
)
def test_presence(payload: bytes, online: bool) -> None:
    result = validate("presence", payload)
    assert isinstance(result, PresenceChange)
    assert result.online is online


def test_presence_of_anything_else_is_a_schema_violation() -> None:
    result = rejection("presence", b"maybe")
    assert result.codes == ("schema_violation",)
    assert result.message_id is None


def test_invalid_json_recovers_the_message_id() -> None:
    payload = b'{"message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21", "sent_at": '
    result = rejection("measurements", payload)
    assert result.codes == ("invalid_json",)
    assert result.message_id == "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe not utf-8", b"", b"NaN", b'{"value": Infinity}', b"[" * 5000 + b"]" * 5000],
)
def test_invalid_json_without_id(payload: bytes) -> None:
    result = rejection("measurements", payload)
    assert result.codes == ("invalid_json",)
    assert result.message_id is None


def test_schema_violation_keeps_the_message_id_and_names_every_path() -> None:
    payload = json.dumps(
        {
            "message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21",
            "sent_at": "yesterday",
            "observations": [{"type": "spo2", "value": "93", "unit": "%"}],
            "colour": "blue",
        }
    ).encode()
    result = rejection("measurements", payload)
    assert result.message_id == "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"
    assert {(e.path, e.code) for e in result.errors} == {
        ("colour", ErrorCode.SCHEMA_VIOLATION),
        ("sent_at", ErrorCode.SCHEMA_VIOLATION),
        ("observations[0].value", ErrorCode.SCHEMA_VIOLATION),
        ("observations[0].measured_at", ErrorCode.SCHEMA_VIOLATION),
    }


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"sent_at": "2026-11-23T07:15:02+01:00", "observations": []},
        {"message_id": "not-a-uuid", "sent_at": "2026-11-23T07:15:02+01:00"},
        {"message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21", "sent_at": "2026-11-23T07:15:02"},
    ],
)
def test_schema_violations(document: object) -> None:
    result = rejection("measurements", json.dumps(document).encode())
    assert "schema_violation" in result.codes


def test_observations_must_number_one_to_fifty() -> None:
    document = json.loads(measurement())
    document["observations"] = document["observations"] * 51
    assert "schema_violation" in rejection("measurements", json.dumps(document).encode()).codes
    document["observations"] = []
    assert "schema_violation" in rejection("measurements", json.dumps(document).encode()).codes


def test_payload_device_id_must_match_the_topic() -> None:
    document = json.loads(measurement())
    document["device_id"] = "someone-else"
    result = rejection("measurements", json.dumps(document).encode())
    assert [(e.path, e.code) for e in result.errors] == [("device_id", ErrorCode.SCHEMA_VIOLATION)]


def test_unknown_type() -> None:
    result = rejection("measurements", measurement(type="glucose", unit="mmol/L"))
    assert [(e.path, e.code) for e in result.errors] == [
        ("observations[0].type", ErrorCode.UNKNOWN_TYPE)
    ]


@pytest.mark.parametrize(
    ("overrides", "canonical"),
    [
        ({"value": 0.93, "unit": "1"}, 93.0),
        ({"type": "temperature", "value": 100.4, "unit": "[degF]"}, 38.0),
        ({"type": "pef", "value": 5, "unit": "L/s"}, 300.0),
    ],
)
def test_alternative_units_are_converted(overrides: dict[str, object], canonical: float) -> None:
    result = validate("measurements", measurement(**overrides))
    assert isinstance(result, MeasurementSubmission)
    assert result.observations[0].value == pytest.approx(canonical)


@pytest.mark.parametrize(
    "overrides",
    [
        {"value": 49},
        {"value": 101},
        {"value": 1.5, "unit": "1"},
        {"type": "pulse", "value": 251, "unit": "/min"},
    ],
)
def test_implausible_values(overrides: dict[str, object]) -> None:
    result = rejection("measurements", measurement(**overrides))
    assert [(e.path, e.code) for e in result.errors] == [
        ("observations[0].value", ErrorCode.IMPLAUSIBLE_VALUE)
    ]
    assert "49" not in result.errors[0].message and "101" not in result.errors[0].message


def test_the_plausible_range_is_inclusive() -> None:
    assert isinstance(validate("measurements", measurement(value=50)), MeasurementSubmission)
    assert isinstance(validate("measurements", measurement(value=100)), MeasurementSubmission)


def test_clock_skew_over_ten_minutes_is_rejected() -> None:
    measured = RECEIVED + timedelta(minutes=10, seconds=1)
    result = rejection("measurements", measurement(measured_at=measured.isoformat()))
    assert [(e.path, e.code) for e in result.errors] == [
        ("observations[0].measured_at", ErrorCode.CLOCK_SKEW)
    ]
    at_limit = (RECEIVED + timedelta(minutes=10)).isoformat()
    assert isinstance(
        validate("measurements", measurement(measured_at=at_limit)), MeasurementSubmission
    )


def test_readings_older_than_48_hours_are_late_but_accepted() -> None:
    old = (RECEIVED - timedelta(hours=48, seconds=1)).isoformat()
    result = validate("measurements", measurement(measured_at=old))
    assert isinstance(result, MeasurementSubmission)
    assert result.observations[0].late
    recent = (RECEIVED - timedelta(hours=47)).isoformat()
    result = validate("measurements", measurement(measured_at=recent))
    assert isinstance(result, MeasurementSubmission)
    assert not result.observations[0].late


def test_payload_too_large_recovers_the_message_id() -> None:
    payload = measurement()[:-1] + b', "padding": "' + b"x" * 70_000 + b'"}'
    result = rejection("measurements", payload)
    assert result.codes == ("payload_too_large",)
    assert result.message_id == "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"


def test_a_malformed_topic_device_id_is_an_unknown_device() -> None:
    result = validate_message(
        device_id="Not A Device",
        channel="measurements",
        payload=measurement(),
        received_at=RECEIVED,
    )
    assert isinstance(result, Rejection)
    assert result.codes == ("unknown_device",)
    assert result.message_id == "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"


def questionnaire(**overrides: object) -> bytes:
    document = json.loads(example("questionnaire-kol-symptoms.json"))
    document.update(overrides)
    return json.dumps(document).encode()


def test_unknown_questionnaire() -> None:
    result = rejection("questionnaire-responses", questionnaire(questionnaire="kol-symptoms-v9"))
    assert [(e.path, e.code) for e in result.errors] == [
        ("questionnaire", ErrorCode.UNKNOWN_QUESTIONNAIRE)
    ]


@pytest.mark.parametrize(
    ("answers", "path", "code"),
    [
        ([{"item": "more_breathless", "value": 1}], "answers[0].value", "schema_violation"),
        ([{"item": "favourite_colour", "value": True}], "answers[0].item", "schema_violation"),
        ([{"item": "cat_score", "value": 41}], "answers[0].value", "implausible_value"),
        ([{"item": "cat_score", "value": True}], "answers[0].value", "schema_violation"),
        ([{"item": "more_cough", "value": True}], "answers", "schema_violation"),
    ],
)
def test_answers_are_checked_against_the_definition(
    answers: list[dict[str, object]], path: str, code: str
) -> None:
    document = json.loads(questionnaire())
    kept = [a for a in document["answers"] if a["item"] not in {x["item"] for x in answers}]
    if path == "answers":  # the required item more_breathless is left out
        kept = [a for a in kept if a["item"] != "more_breathless"]
    document["answers"] = answers + kept
    result = rejection("questionnaire-responses", json.dumps(document).encode())
    assert (path, code) in {(e.path, e.code.value) for e in result.errors}


def test_questionnaire_answered_in_the_future_is_clock_skew() -> None:
    future = (RECEIVED + timedelta(hours=1)).isoformat()
    result = rejection("questionnaire-responses", questionnaire(answered_at=future))
    assert result.codes == ("clock_skew",)


def test_status_fields_are_typed() -> None:
    payload = json.dumps(
        {
            "message_id": "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d",
            "sent_at": "2026-11-23T07:30:00+01:00",
            "battery_pct": 140,
            "clock_synced": "yes",
        }
    ).encode()
    result = rejection("status", payload)
    assert {(e.path, e.code.value) for e in result.errors} == {
        ("battery_pct", "implausible_value"),
        ("clock_synced", "schema_violation"),
    }


def test_peripheral_system_ids_are_normalised() -> None:
    peripheral = {"system_id": "fe:ed:ab:ee:de:ad"}
    result = validate("measurements", measurement(peripheral=peripheral))
    assert isinstance(result, MeasurementSubmission)
    assert result.observations[0].peripheral is not None
    assert result.observations[0].peripheral.system_id == "FE-ED-AB-EE-DE-AD"
    bad = rejection("measurements", measurement(peripheral={"system_id": "nonsense"}))
    assert bad.errors[0].path == "observations[0].peripheral.system_id"
