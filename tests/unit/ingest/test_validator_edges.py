"""The contract's edges: text the database cannot store, repeated keys, explicit nulls where
the contract has a default, and message ids that are not UUIDs or not in UTF-8."""

import json
from datetime import UTC, datetime

import pytest

from pust.domain.device_protocol import (
    ErrorCode,
    MeasurementSubmission,
    Rejection,
    StatusReport,
    validate_message,
)
from tests.data import CONTRACT_EXAMPLES

RECEIVED = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
DEVICE = "tablet-0001"
OXIMETER_ID = "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"


def validate(channel: str, payload: bytes):
    return validate_message(
        device_id=DEVICE, channel=channel, payload=payload, received_at=RECEIVED
    )


def rejection(channel: str, payload: bytes) -> Rejection:
    result = validate(channel, payload)
    assert isinstance(result, Rejection), result
    return result


def example(name: str) -> dict:
    return json.loads((CONTRACT_EXAMPLES / name).read_bytes())


def encoded(document: object) -> bytes:
    # ensure_ascii: a lone surrogate travels as the JSON escape "\ud800", as a tablet sends it
    return json.dumps(document).encode()


UNSTORABLE = ["\ud800", "a\udfffb", "nul\x00byte"]


@pytest.mark.parametrize("text", UNSTORABLE)
@pytest.mark.parametrize(
    ("channel", "example_name", "path"),
    [
        ("measurements", "measurements-oximeter.json", "observations[0].peripheral.model"),
        ("measurements", "measurements-oximeter.json", "observations[1].peripheral.serial"),
        ("measurements", "measurements-oximeter.json", "observations[0].type"),
        ("measurements", "measurements-oximeter.json", "observations[0].unit"),
        ("status", "status.json", "app_version"),
        ("questionnaire-responses", "questionnaire-kol-symptoms.json", "answers[0].item"),
        ("questionnaire-responses", "questionnaire-kol-symptoms.json", "questionnaire"),
    ],
)
def test_text_the_database_cannot_store_is_refused_with_its_path(
    text: str, channel: str, example_name: str, path: str
) -> None:
    document = example(example_name)
    _set(document, path, text)
    result = rejection(channel, encoded(document))
    assert (path, ErrorCode.SCHEMA_VIOLATION) in {(e.path, e.code) for e in result.errors}
    assert result.message_id == document["message_id"]
    _assert_storable(result)


@pytest.mark.parametrize("text", UNSTORABLE)
def test_an_unstorable_key_or_message_id_is_refused_and_never_echoed(text: str) -> None:
    document = example("status.json")
    document[f"colour{text}"] = "blue"
    result = rejection("status", encoded(document))
    assert result.message_id == document["message_id"]
    _assert_storable(result)
    document = example("status.json")
    document["message_id"] = f"id-{text}"
    result = rejection("status", encoded(document))
    assert result.message_id is None  # nothing a receipt could carry
    _assert_storable(result)


def test_repeated_keys_are_refused_with_the_path_of_the_repeat() -> None:
    first = '"message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21"'
    second = '"message_id": "5b8a3c1e-0f0d-4d8c-8a3e-1f2b3c4d5e6f"'
    payload = f'{{{first}, "sent_at": "2026-11-23T07:30:00+01:00", {second}}}'.encode()
    result = rejection("status", payload)
    assert [(e.path, e.code) for e in result.errors] == [("message_id", ErrorCode.SCHEMA_VIOLATION)]
    assert result.message_id == OXIMETER_ID  # the first one: nothing is taken from the repeat

    observation = (
        '{"type": "spo2", "value": 93, "value": 12, "unit": "%", '
        '"measured_at": "2026-11-23T07:14:40+01:00"}'
    )
    payload = (
        f'{{"message_id": "{OXIMETER_ID}", "sent_at": "2026-11-23T07:15:02+01:00", '
        f'"observations": [{observation}]}}'
    ).encode()
    result = rejection("measurements", payload)
    assert ("observations[0].value", ErrorCode.SCHEMA_VIOLATION) in {
        (e.path, e.code) for e in result.errors
    }


def test_null_entry_is_not_the_default() -> None:
    document = example("measurements-oximeter.json")
    document["observations"][0]["entry"] = None
    result = rejection("measurements", encoded(document))
    assert [(e.path, e.code) for e in result.errors] == [
        ("observations[0].entry", ErrorCode.SCHEMA_VIOLATION)
    ]
    del document["observations"][0]["entry"]
    assert isinstance(validate("measurements", encoded(document)), MeasurementSubmission)


def test_optional_status_fields_may_still_be_null() -> None:
    document = example("status.json")
    document["app_version"] = None
    assert isinstance(validate("status", encoded(document)), StatusReport)


@pytest.mark.parametrize("message_id", ["42", "msg-0007", "not a uuid at all", "ø" * 10])
def test_a_message_id_that_is_not_a_uuid_is_echoed_in_the_rejection(message_id: str) -> None:
    document = example("status.json")
    document["message_id"] = message_id
    result = rejection("status", encoded(document))
    assert result.message_id == message_id
    assert [(e.path, e.code) for e in result.errors] == [("message_id", ErrorCode.SCHEMA_VIOLATION)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_payload_is_refused_but_its_message_id_recovered(encoding: str) -> None:
    payload = (CONTRACT_EXAMPLES / "status.json").read_text("utf-8").encode(encoding)
    result = rejection("status", payload)
    assert result.codes == ("invalid_json",)
    assert "UTF-" in result.errors[0].message
    assert result.message_id == "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d"


def test_a_utf16_payload_without_an_id_is_refused_without_one() -> None:
    result = rejection("status", '{"sent_at": "2026-11-23T07:30:00+01:00"}'.encode("utf-16"))
    assert result.codes == ("invalid_json",)
    assert result.message_id is None


def test_invalid_json_recovers_a_message_id_that_is_not_a_uuid() -> None:
    result = rejection("measurements", b'{"message_id": "tablet-msg-17", "sent_at": ')
    assert result.codes == ("invalid_json",)
    assert result.message_id == "tablet-msg-17"


def _assert_storable(result: Rejection) -> None:
    """What goes into the receipt and the quarantine encodes as UTF-8 and has no NUL."""
    for error in result.errors:
        for text in (error.path, error.message):
            assert "\x00" not in text
            text.encode("utf-8")


def _set(document: dict, path: str, value: str) -> None:
    target: object = document
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]  # type: ignore[index]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value  # type: ignore[index]
