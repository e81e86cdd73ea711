"""A message as it came off the broker, validated, and what became of it after the commit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pust.domain.device_protocol import ProtocolError, ValidationResult
from pust.messaging.mqtt_client import ReceivedMessage

_PLAIN_ID = re.compile(r"[0-9A-Fa-f-]{1,64}\Z")


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
        if self.outcome is not Outcome.REJECTED and _PLAIN_ID.match(self.message_id or ""):
            # what json.dumps makes of it below, without its cost (a receipt per message):
            # a validated UUID needs no escaping
            return (
                f'{{"message_id":"{self.message_id}","outcome":"{self.outcome.value}",'
                f'"received_at":"{self.received_at.isoformat(timespec="milliseconds")}"}}'
            ).encode()
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
