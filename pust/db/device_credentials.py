"""MQTT credentials: the service account and each enrolled, active device."""

from __future__ import annotations

import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from pust.db.tables import Device

_hasher = PasswordHasher()


def hash_device_password(password: str) -> str:
    return _hasher.hash(password)


class MqttCredentialCheck:
    def __init__(self, *, engine: Engine, service_username: str, service_password: str) -> None:
        self._engine = engine
        self._service_username = service_username
        self._service_password = service_password

    def __call__(self, username: str, password: str) -> bool:
        if hmac.compare_digest(username, self._service_username):
            return hmac.compare_digest(password, self._service_password)
        with Session(self._engine) as session:
            row = session.execute(
                select(col(Device.mqtt_password_hash)).where(
                    col(Device.id) == username, col(Device.status) == "active"
                )
            ).first()
        if row is None or row[0] is None:
            return False
        try:
            return _hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return False
