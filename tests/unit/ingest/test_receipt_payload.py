"""A receipt is the same JSON whichever way it is built."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pust.domain.device_protocol import ErrorCode, ProtocolError
from services.ingest.arrivals import Decision, Outcome

RECEIVED = datetime(2026, 11, 23, 6, 31, 2, 345678, tzinfo=UTC)


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize(
    "message_id", ["6f7c8dc2-8328-4e64-b766-c0513acb1994", "not-a-uuid", 'a"b\\c', "æøå"]
)
def test_a_receipt_is_what_json_makes_of_it(outcome: Outcome, message_id: str) -> None:
    errors = (ProtocolError("sent_at", ErrorCode.SCHEMA_VIOLATION, "must be a date-time"),)
    decision = Decision("tablet-1", message_id, outcome, RECEIVED, errors)
    document: dict[str, object] = {
        "message_id": message_id,
        "outcome": outcome.value,
        "received_at": "2026-11-23T06:31:02.345+00:00",
    }
    if outcome is Outcome.REJECTED:
        document["errors"] = [error.as_json() for error in errors]
    expected = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    assert decision.receipt_payload() == expected
