"""A message as it came off the broker, validated, and what became of it after the commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pust.domain.device_protocol import ProtocolError, ValidationResult
from pust.messaging.mqtt_client import ReceivedMessage


@dataclass(frozen=True, slots=True)
class Arrival:
    message: ReceivedMessage  # kept for the ack after the commit
    received_at: datetime
    result: ValidationResult


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    """The committed fate of one arrival. ``message_id`` None: no receipt can be sent."""

    device_id: str
    message_id: str | None
    outcome: Outcome
    received_at: datetime
    errors: tuple[ProtocolError, ...] = ()

    def receipt_payload(self) -> bytes:
        document: dict[str, object] = {
            "message_id": self.message_id,
            "outcome": self.outcome.value,
            "received_at": self.received_at.isoformat(timespec="milliseconds"),
        }
        if self.outcome is Outcome.REJECTED:
            document["errors"] = [error.as_json() for error in self.errors]
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode()
        except UnicodeEncodeError:  # an unpaired surrogate slipped through: send its escape
            return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class BatchResult:
    decisions: tuple[Decision, ...]  # one per arrival, in arrival order
    readings_written: int
    responses_written: int
