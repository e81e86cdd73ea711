"""Topic names of device protocol v1, built from a configurable root (default ``pust/v1``).

Tests give each test its own root so parallel tests on one broker never meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")


class DeviceChannel(StrEnum):
    MEASUREMENTS = "measurements"
    QUESTIONNAIRE_RESPONSES = "questionnaire-responses"
    STATUS = "status"
    PRESENCE = "presence"
    RECEIPTS = "receipts"
    PLAN = "plan"
    NOTICES = "notices"


INBOUND = (
    DeviceChannel.MEASUREMENTS,
    DeviceChannel.QUESTIONNAIRE_RESPONSES,
    DeviceChannel.STATUS,
    DeviceChannel.PRESENCE,
)


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    device_id: str
    channel: DeviceChannel


@dataclass(frozen=True, slots=True)
class Topics:
    root: str = "pust/v1"

    def device(self, device_id: str, channel: DeviceChannel) -> str:
        return f"{self.root}/devices/{device_id}/{channel.value}"

    def inbound_filter(self, channel: DeviceChannel) -> str:
        return f"{self.root}/devices/+/{channel.value}"

    def shared(self, group: str, topic_filter: str) -> str:
        return f"$share/{group}/{topic_filter}"

    @property
    def readings_committed(self) -> str:
        """Hint from ingest to alerts: new rows exist (the rows are the truth)."""
        return f"{self.root}/internal/readings-committed"

    def parse_device_topic(self, topic: str) -> DeviceTopic | None:
        """The device id and channel of an inbound topic, or None if it is not one.

        The device id is returned even when it breaks the id pattern, so the caller can
        reject (and quarantine) the message with a reason instead of dropping it.
        """
        prefix = f"{self.root}/devices/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 2:
            return None
        try:
            channel = DeviceChannel(parts[1])
        except ValueError:
            return None
        return DeviceTopic(parts[0], channel)
