"""What a validated inbound message is. Every datetime is timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pust.domain.device_protocol.errors import ProtocolError
from pust.domain.measurement_types import Entry, MeasurementType


@dataclass(frozen=True, slots=True)
class PeripheralInfo:
    system_id: str  # normalised: upper-case hex pairs joined by '-'
    model: str | None
    serial: str | None


@dataclass(frozen=True, slots=True)
class Observation:
    type: MeasurementType
    value: float  # canonical unit
    unit: str  # canonical UCUM unit
    original_value: float
    original_unit: str
    measured_at: datetime
    entry: Entry
    peripheral: PeripheralInfo | None
    late: bool


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """Fields every message that carries a ``message_id`` has."""

    device_id: str
    message_id: str
    sent_at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class MeasurementSubmission(InboundMessage):
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    item: str
    value: bool | int

    def as_json(self) -> dict[str, bool | int | str]:
        return {"item": self.item, "value": self.value}


@dataclass(frozen=True, slots=True)
class QuestionnaireSubmission(InboundMessage):
    questionnaire: str
    answered_at: datetime
    answers: tuple[Answer, ...]
    late: bool


@dataclass(frozen=True, slots=True)
class StatusReport(InboundMessage):
    battery_pct: int | None
    app_version: str | None
    outbox_depth: int | None
    clock_synced: bool | None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """The retained ``online``/``offline`` presence; it has no message id and no receipt."""

    device_id: str
    online: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that can never be accepted as it is.

    ``message_id`` is the id recovered from the payload (even an invalid one) when there is
    exactly one usable candidate; without it no receipt can be sent, only quarantine.
    """

    device_id: str
    channel: str
    message_id: str | None
    received_at: datetime
    errors: tuple[ProtocolError, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted({error.code.value for error in self.errors}))


ValidationResult = (
    MeasurementSubmission | QuestionnaireSubmission | StatusReport | PresenceChange | Rejection
)
