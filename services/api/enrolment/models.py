"""Request and response bodies of tablet enrolment by pairing code."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from pust.messaging.topics import DEVICE_ID


class PairingCodeCreate(BaseModel):
    citizen_id: uuid.UUID


class PairingCodePublic(BaseModel):
    """The code itself is shown once, here; the database keeps only its hash."""

    code: str
    citizen_id: uuid.UUID
    expires_at: datetime


class PairRequest(BaseModel):
    code: str = Field(min_length=4, max_length=32)
    device_id: str = Field(pattern=DEVICE_ID.pattern)


class MqttCredentials(BaseModel):
    """What a tablet needs to log in to the broker (given once: pairing, rotation)."""

    device_id: str
    mqtt_username: str
    mqtt_password: str
    mqtt_client_id: str
    topic_root: str

    @classmethod
    def for_device(cls, device_id: str, *, password: str, topic_root: str) -> MqttCredentials:
        """The device id is the tablet's MQTT username and client id too."""
        return cls(
            device_id=device_id,
            mqtt_username=device_id,
            mqtt_password=password,
            mqtt_client_id=device_id,
            topic_root=topic_root,
        )
