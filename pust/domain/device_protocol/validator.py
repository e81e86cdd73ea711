"""The one entry point: bytes from a device topic in, a validated message or a rejection out.

It never raises on any input, and a rejection always has at least one error code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pust.domain.device_protocol.errors import ErrorCode, ProtocolError
from pust.domain.device_protocol.fields import MAX_ECHOED_ID, Problems, echoable_id
from pust.domain.device_protocol.json_text import check_text, decode_document, not_utf8_reason
from pust.domain.device_protocol.measurements import validate_observations
from pust.domain.device_protocol.messages import (
    MeasurementSubmission,
    PresenceChange,
    QuestionnaireSubmission,
    Rejection,
    StatusReport,
    ValidationResult,
)
from pust.domain.device_protocol.questionnaire_responses import (
    validate_answered_at,
    validate_answers,
    validate_questionnaire,
)

MAX_PAYLOAD_BYTES = 64 * 1024
CLOCK_SKEW_TOLERANCE = timedelta(minutes=10)
LATE_AFTER = timedelta(hours=48)
DEVICE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")

MEASUREMENTS = "measurements"
QUESTIONNAIRE_RESPONSES = "questionnaire-responses"
STATUS = "status"
PRESENCE = "presence"

_ENVELOPE = frozenset({"message_id", "sent_at", "device_id"})
_TOP_LEVEL_FIELDS = {
    MEASUREMENTS: _ENVELOPE | {"observations"},
    QUESTIONNAIRE_RESPONSES: _ENVELOPE | {"questionnaire", "answered_at", "answers"},
    STATUS: _ENVELOPE | {"battery_pct", "app_version", "outbox_depth", "clock_synced"},
}
# recovery of the id (any string without quotes or escapes) from a payload that is not
# valid JSON: the first 64 KiB are searched
_MESSAGE_ID = rf'"message_id"\s*:\s*"([^"\\\x00-\x1f]{{1,{MAX_ECHOED_ID}}})"'
_MESSAGE_ID_IN_BYTES = re.compile(_MESSAGE_ID.encode())
_MESSAGE_ID_IN_TEXT = re.compile(_MESSAGE_ID)


def validate_message(
    *,
    device_id: str,
    channel: str,
    payload: bytes,
    received_at: datetime,
    clock_skew_tolerance: timedelta = CLOCK_SKEW_TOLERANCE,
    late_after: timedelta = LATE_AFTER,
) -> ValidationResult:
    """Validate one message from ``<root>/devices/{device_id}/{channel}``."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")

    def reject(code: ErrorCode, path: str, text: str, message_id: str | None) -> Rejection:
        error = ProtocolError(path, code, text)
        return Rejection(device_id, channel, message_id, received_at, (error,))

    if not DEVICE_ID_PATTERN.match(device_id):
        return reject(
            ErrorCode.UNKNOWN_DEVICE,
            "topic",
            "the topic's device id is not a valid device id",
            recover_message_id(payload),
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        return reject(
            ErrorCode.PAYLOAD_TOO_LARGE,
            "",
            f"payload is larger than {MAX_PAYLOAD_BYTES} bytes",
            recover_message_id(payload),
        )
    if channel == PRESENCE:
        return _presence(device_id, payload, received_at, reject)
    if channel not in _TOP_LEVEL_FIELDS:
        return reject(ErrorCode.SCHEMA_VIOLATION, "topic", "not an inbound channel", None)
    document, text_to_check = decode_document(payload)
    if document is None:
        return reject(
            ErrorCode.INVALID_JSON, "", not_utf8_reason(payload), recover_message_id(payload)
        )
    if not isinstance(document, dict):
        return reject(ErrorCode.SCHEMA_VIOLATION, "", "payload must be a JSON object", None)
    return _validate_document(
        document,
        check=text_to_check,
        device_id=device_id,
        channel=channel,
        received_at=received_at,
        clock_skew_tolerance=clock_skew_tolerance,
        late_after=late_after,
    )


def _validate_document(
    document: dict[str, Any],
    *,
    check: bool,
    device_id: str,
    channel: str,
    received_at: datetime,
    clock_skew_tolerance: timedelta,
    late_after: timedelta,
) -> ValidationResult:
    problems = Problems()
    if check:
        check_text(document, problems)
    problems.unknown_keys(document, _TOP_LEVEL_FIELDS[channel], "")
    message_id = problems.message_id(document)
    sent_at = problems.timestamp(document, "sent_at", "")
    claimed_device = document.get("device_id")
    if claimed_device is not None and claimed_device != device_id:
        problems.schema("device_id", "does not match the device id of the topic")

    result: ValidationResult | None = None
    if channel == MEASUREMENTS:
        observations = validate_observations(
            document,
            problems,
            received_at=received_at,
            clock_skew_tolerance=clock_skew_tolerance,
            late_after=late_after,
        )
        if not problems and message_id is not None and sent_at is not None:
            result = MeasurementSubmission(
                device_id, message_id, sent_at, received_at, observations
            )
    elif channel == QUESTIONNAIRE_RESPONSES:
        questionnaire = validate_questionnaire(document, problems)
        answered_at = validate_answered_at(
            document, problems, received_at=received_at, clock_skew_tolerance=clock_skew_tolerance
        )
        answers = validate_answers(document, questionnaire, problems)
        if (
            not problems
            and message_id is not None
            and sent_at is not None
            and questionnaire is not None
            and answered_at is not None
        ):
            result = QuestionnaireSubmission(
                device_id,
                message_id,
                sent_at,
                received_at,
                questionnaire.id,
                answered_at,
                answers,
                received_at - answered_at > late_after,
            )
    else:
        battery = problems.integer(document, "battery_pct", "", minimum=0, maximum=100)
        version = problems.string(document, "app_version", "", max_length=40, required=False)
        depth = problems.integer(document, "outbox_depth", "", minimum=0, maximum=10**9)
        synced = problems.boolean(document, "clock_synced", "")
        if not problems and message_id is not None and sent_at is not None:
            result = StatusReport(
                device_id, message_id, sent_at, received_at, battery, version, depth, synced
            )
    if result is not None:
        return result
    if not problems:  # defensive: a missing piece must never pass silently
        problems.schema("", "message is incomplete")
    # a rejection echoes the id as sent, UUID or not, so that the tablet's outbox clears
    echoed = message_id or echoable_id(document.get("message_id"))
    return Rejection(device_id, channel, echoed, received_at, tuple(problems.errors))


def _presence(
    device_id: str,
    payload: bytes,
    received_at: datetime,
    reject: Callable[[ErrorCode, str, str, str | None], Rejection],
) -> ValidationResult:
    text = payload.strip()
    if text in (b"online", b"offline"):
        return PresenceChange(device_id, text == b"online", received_at)
    return reject(ErrorCode.SCHEMA_VIOLATION, "", "presence must be 'online' or 'offline'", None)


def recover_message_id(payload: bytes) -> str | None:
    """The message id of a payload that cannot be parsed, when exactly one is visible: in
    the raw bytes, else in the text of the encoding the payload seems to be in (UTF-16…)."""
    head = payload[:MAX_PAYLOAD_BYTES]
    candidates: set[str | None] = {
        _decoded(match.group(1), "utf-8") for match in _MESSAGE_ID_IN_BYTES.finditer(head)
    }
    if not candidates:
        encoding = json.detect_encoding(head)
        text = _decoded(head, encoding) if encoding != "utf-8" else None
        if text is not None:
            candidates = {match.group(1) for match in _MESSAGE_ID_IN_TEXT.finditer(text)}
    if len(candidates) != 1:
        return None
    (candidate,) = candidates
    return echoable_id(candidate)


def _decoded(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
