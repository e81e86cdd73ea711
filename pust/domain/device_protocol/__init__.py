"""Device protocol v1, the backend side: pure validation of what a tablet sends.

:func:`validate_message` turns (topic device id, channel, payload bytes, received_at) into a
validated message or a :class:`Rejection` carrying the contract's error codes. Whether the
device is enrolled and assigned is a database question, answered by the ingest service.
"""

from pust.domain.device_protocol.errors import ErrorCode, ProtocolError
from pust.domain.device_protocol.messages import (
    Answer,
    InboundMessage,
    MeasurementSubmission,
    Observation,
    PeripheralInfo,
    PresenceChange,
    QuestionnaireSubmission,
    Rejection,
    StatusReport,
    ValidationResult,
)
from pust.domain.device_protocol.validator import (
    CLOCK_SKEW_TOLERANCE,
    LATE_AFTER,
    MAX_PAYLOAD_BYTES,
    validate_message,
)

__all__ = [
    "CLOCK_SKEW_TOLERANCE",
    "LATE_AFTER",
    "MAX_PAYLOAD_BYTES",
    "Answer",
    "ErrorCode",
    "InboundMessage",
    "MeasurementSubmission",
    "Observation",
    "PeripheralInfo",
    "PresenceChange",
    "ProtocolError",
    "QuestionnaireSubmission",
    "Rejection",
    "StatusReport",
    "ValidationResult",
    "validate_message",
]
