"""Property-based: no input makes the validator raise, every rejection has a code, and
whatever is accepted carries what was sent (device, message id, measured values)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pust.domain.device_protocol import ErrorCode, Rejection, validate_message
from pust.domain.device_protocol.messages import (
    InboundMessage,
    MeasurementSubmission,
    QuestionnaireSubmission,
)

CHANNELS = st.sampled_from(
    ["measurements", "questionnaire-responses", "status", "presence", "receipts", "x"]
)
DEVICE_IDS = st.one_of(st.just("tablet-0001"), st.text(max_size=80))
RECEIVED = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=6)
    ),
    max_leaves=30,
)
FIELD_NAMES = st.sampled_from(
    [
        "message_id",
        "sent_at",
        "observations",
        "type",
        "value",
        "unit",
        "measured_at",
        "entry",
        "peripheral",
        "system_id",
        "questionnaire",
        "answered_at",
        "answers",
        "item",
        "battery_pct",
        "app_version",
        "outbox_depth",
        "clock_synced",
        "device_id",
    ]
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(
        [
            "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21",
            "2026-11-23T07:14:40+01:00",
            "spo2",
            "%",
            "kol-symptoms-v1",
            "cat_score",
            "manual",
            "[lb_av]",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
        ]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
PROTOCOL_LIKE = st.recursive(
    FIELD_VALUES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(FIELD_NAMES, children, max_size=8)
    ),
    max_leaves=40,
)


def check(device_id: str, channel: str, payload: bytes, received_at: datetime) -> object:
    result = validate_message(
        device_id=device_id, channel=channel, payload=payload, received_at=received_at
    )
    if isinstance(result, Rejection):
        assert result.errors
        assert all(isinstance(e.code, ErrorCode) and e.message for e in result.errors)
        json.dumps([e.as_json() for e in result.errors])
    elif isinstance(result, InboundMessage):
        _assert_round_trip(result, device_id, json.loads(payload), received_at)
    return result


def _assert_round_trip(
    result: InboundMessage, device_id: str, document: dict[str, Any], received_at: datetime
) -> None:
    """An accepted message is the message that was sent, not a default or a neighbour."""
    assert result.device_id == device_id
    assert result.message_id == document["message_id"]
    assert result.received_at == received_at
    if isinstance(result, MeasurementSubmission):
        sent = document["observations"]
        assert [(o.type.value, o.original_value, o.original_unit) for o in result.observations] == [
            (item["type"], float(item["value"]), item["unit"]) for item in sent
        ]
    if isinstance(result, QuestionnaireSubmission):
        assert result.questionnaire == document["questionnaire"]
        assert {a.item: a.value for a in result.answers} == {
            a["item"]: a["value"] for a in document["answers"]
        }


@settings(max_examples=300, deadline=None)
@given(DEVICE_IDS, CHANNELS, st.binary(max_size=2000), RECEIVED)
def test_arbitrary_bytes_never_raise(
    device_id: str, channel: str, payload: bytes, received_at: datetime
) -> None:
    check(device_id, channel, payload, received_at)


@settings(max_examples=300, deadline=None)
@given(CHANNELS, JSON_VALUES, RECEIVED)
def test_arbitrary_json_never_raises(channel: str, document: object, received_at: datetime) -> None:
    check("tablet-0001", channel, json.dumps(document).encode(), received_at)


@settings(max_examples=500, deadline=None)
@given(CHANNELS, PROTOCOL_LIKE, RECEIVED)
def test_protocol_shaped_json_never_raises(
    channel: str, document: object, received_at: datetime
) -> None:
    check("tablet-0001", channel, json.dumps(document).encode(), received_at)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["spo2", "pulse", "weight", "temperature", "pef", "crp", "nope"]),
    st.one_of(st.integers(), st.floats(), st.booleans(), st.text(max_size=5)),
    st.sampled_from(["%", "1", "/min", "kg", "[lb_av]", "Cel", "[degF]", "L/s", "mg/L", "?"]),
    st.timedeltas(min_value=timedelta(days=-5), max_value=timedelta(hours=1)),
)
def test_observations_are_accepted_or_rejected_with_a_code(
    type_name: str, value: object, unit: str, offset: timedelta
) -> None:
    received = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
    document = {
        "message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21",
        "sent_at": received.isoformat(),
        "observations": [
            {
                "type": type_name,
                "value": value,
                "unit": unit,
                "measured_at": (received + offset).isoformat(),
            }
        ],
    }
    payload = json.dumps(document, allow_nan=True).encode()
    check("tablet-0001", "measurements", payload, received)


def test_a_valid_measurement_is_accepted_as_sent() -> None:
    # the properties above hold for rejections and acceptances alike; this one must accept
    received = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
    document = {
        "message_id": "7d0e3f5c-3b1a-4c7e-9f57-2b8f0b6f1e21",
        "sent_at": received.isoformat(),
        "observations": [
            {"type": "spo2", "value": 93, "unit": "%", "measured_at": received.isoformat()},
            {"type": "pulse", "value": 71, "unit": "/min", "measured_at": received.isoformat()},
        ],
    }
    result = check("tablet-0001", "measurements", json.dumps(document).encode(), received)
    assert isinstance(result, MeasurementSubmission)
