"""Protocol-v1 messages as a simulated tablet sends them, and the wire's time format."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pust.messaging.topics import DeviceChannel

_TIME_KEYS = ("sent_at", "answered_at", "measured_at")


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message the tablet publishes at ``publish_at`` (UTC, simulated time)."""

    publish_at: datetime
    device_id: str
    channel: DeviceChannel
    payload: dict[str, Any]

    @property
    def message_id(self) -> str:
        return str(self.payload["message_id"])

    def shifted(self, delta: timedelta, tz: ZoneInfo) -> SimMessage:
        """The same message with every timestamp moved by ``delta`` (a live run stamps
        messages with the wall clock; late uploads keep their delay)."""
        return replace(
            self,
            publish_at=self.publish_at + delta,
            payload=_shift_payload(self.payload, delta, tz),
        )


def wire_time(moment: datetime, tz: ZoneInfo) -> str:
    """ISO 8601 with the clinic's offset, as tablets send it."""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def parse_wire_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def message_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _shift_payload(payload: dict[str, Any], delta: timedelta, tz: ZoneInfo) -> dict[str, Any]:
    shifted: dict[str, Any] = {}
    for key, value in payload.items():
        if key in _TIME_KEYS and isinstance(value, str):
            shifted[key] = wire_time(parse_wire_time(value) + delta, tz)
        elif key == "observations" and isinstance(value, list):
            shifted[key] = [_shift_payload(item, delta, tz) for item in value]
        else:
            shifted[key] = value
    return shifted
