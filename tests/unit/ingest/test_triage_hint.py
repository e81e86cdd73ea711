"""The ordering hint, from a validated message and from the raw payload (during a drain)."""

import json
from datetime import UTC, datetime

import pytest

from pust.domain.device_protocol import validate_message
from pust.domain.severity import Severity
from services.ingest.triage_hint import TriageHint

NOW = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
HINT = TriageHint()


def _measurement(type_: str, value: object, unit: str) -> bytes:
    at = NOW.isoformat()
    observation = {"type": type_, "value": value, "unit": unit, "measured_at": at}
    document = {"message_id": "0b5c7d9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e", "sent_at": at}
    return json.dumps({**document, "observations": [observation]}).encode()


@pytest.mark.parametrize(
    ("type_", "value", "unit", "expected"),
    [
        ("spo2", 80, "%", Severity.RED),
        ("spo2", 89, "%", Severity.YELLOW),
        ("spo2", 96, "%", Severity.GREEN),
        ("pulse", 70, "/min", Severity.GREEN),
        ("pulse", 130, "/min", Severity.RED),
    ],
)
def test_the_raw_payload_gives_the_hint_of_the_validated_message(
    type_: str, value: float, unit: str, expected: Severity
) -> None:
    payload = _measurement(type_, value, unit)
    result = validate_message(
        device_id="tablet-1", channel="measurements", payload=payload, received_at=NOW
    )
    assert HINT.severity(result) is expected
    assert HINT.severity_of_payload("measurements", payload) is expected


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1]",
        b'{"observations": 3}',
        _measurement("spo2", "80", "%"),
        _measurement("spo2", True, "%"),
        _measurement("spo2", 80, "furlongs"),
        _measurement("unknown", 1, "%"),
    ],
)
def test_what_cannot_be_read_is_green(payload: bytes) -> None:
    assert HINT.severity_of_payload("measurements", payload) is Severity.GREEN


def test_a_yes_answer_is_yellow_and_status_is_green() -> None:
    answers = [{"item": "more_cough", "value": False}, {"item": "more_breathless", "value": True}]
    payload = json.dumps({"answers": answers}).encode()
    assert HINT.severity_of_payload("questionnaire-responses", payload) is Severity.YELLOW
    assert HINT.severity_of_payload("status", payload) is Severity.GREEN
