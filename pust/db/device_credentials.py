"""MQTT credentials: the service account and each enrolled, active device."""

from __future__ import annotations

import base64
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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
        account, separator, _client_id = username.partition(":")
        if hmac.compare_digest(username, self._service_username) or (
            separator and hmac.compare_digest(account, self._service_username)
        ):
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


class PasswordSeal:
    """AES-256-GCM for device passwords at rest (``device.mqtt_password_sealed``), with a key
    derived by HKDF-SHA256 from the secret key and the device id as associated data (a
    sealed password copied to another device's row does not open)."""

    _INFO = b"pust device mqtt password v1"

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self._INFO).derive(
                secret_key.encode()
            )
        )

    def seal(self, device_id: str, password: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, password.encode(), device_id.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, device_id: str, sealed: str) -> str:
        """The password; raises ``cryptography.exceptions.InvalidTag`` for a wrong key."""
        raw = base64.urlsafe_b64decode(sealed.encode())
        return self._aead.decrypt(raw[:12], raw[12:], device_id.encode()).decode()


def new_device_password() -> str:
    """A random MQTT password for a tablet (nobody types it: pairing hands it over)."""
    return secrets.token_urlsafe(24)
