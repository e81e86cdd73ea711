"""The machine-readable reasons of a rejected message (device protocol v1, "Receipt")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_TYPE = "unknown_type"
    UNIT_NOT_SUPPORTED = "unit_not_supported"
    IMPLAUSIBLE_VALUE = "implausible_value"
    CLOCK_SKEW = "clock_skew"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_NOT_ASSIGNED = "device_not_assigned"
    UNKNOWN_QUESTIONNAIRE = "unknown_questionnaire"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    # not the tablet's fault: the backend failed on this message again and again, so it is
    # quarantined for an operator instead of blocking the tablet's outbox forever
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """One reason, as sent in a receipt. ``message`` never repeats a measured value."""

    path: str
    code: ErrorCode
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code.value, "message": self.message}
