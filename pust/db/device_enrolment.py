"""A tablet's MQTT credentials over its life: set (pairing, rotation) and revoked. Every
change is written with a ``broker`` outbox row in the same transaction, so a broker with
dynamic security follows (``services/alerts/broker_sync.py``); the embedded broker reads
the row itself."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from pust.db.device_credentials import PasswordSeal, hash_device_password, new_device_password
from pust.db.outbox import enqueue_broker_sync
from pust.db.tables import Device

REVOKED = "revoked"


def issue_password(session: Session, device: Device, *, seal: PasswordSeal, now: datetime) -> str:
    """A new random password for the tablet (the old one stops working once the broker has
    it); returns the plain password, to be handed over once."""
    password = new_device_password()
    device.mqtt_password_hash = hash_device_password(password)
    device.mqtt_password_sealed = seal.seal(device.id, password)
    session.add(device)
    enqueue_broker_sync(session, device_id=device.id, now=now)
    return password


def revoke(session: Session, device: Device, *, now: datetime) -> None:
    """The tablet may no longer connect: its broker client is disabled (a connected tablet
    is disconnected) and its password forgotten. Enrolling it again needs a new pairing."""
    device.status = REVOKED
    device.mqtt_password_hash = None
    device.mqtt_password_sealed = None
    session.add(device)
    enqueue_broker_sync(session, device_id=device.id, now=now)
