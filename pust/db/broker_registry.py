"""The device registry as the broker should see it, and what was last seen on the broker
(``device.broker_state``, ``broker_reconcile_run``) for the administration page."""

from __future__ import annotations

from datetime import datetime

from cryptography.exceptions import InvalidTag
from sqlmodel import Session, col, select

from pust.db.device_credentials import PasswordSeal
from pust.db.tables import BrokerReconcileRun, Device
from pust.messaging.broker_provisioning import DesiredDevice

ACTIVE = "active"


def desired(device: Device, seal: PasswordSeal) -> DesiredDevice:
    """Enabled while active and paired (a password exists); otherwise disabled."""
    password = None
    if device.status == ACTIVE and device.mqtt_password_sealed:
        try:
            password = seal.open(device.id, device.mqtt_password_sealed)
        except (InvalidTag, ValueError):
            password = None  # sealed under another secret key: the tablet must pair again
    return DesiredDevice(device.id, enabled=password is not None, password=password)


def desired_device(session: Session, device_id: str, seal: PasswordSeal) -> DesiredDevice | None:
    device = session.get(Device, device_id)
    return None if device is None else desired(device, seal)


def desired_devices(session: Session, seal: PasswordSeal) -> list[DesiredDevice]:
    devices = session.exec(select(Device).order_by(col(Device.id))).all()
    return [desired(d, seal) for d in devices]


def record_broker_state(session: Session, *, device_id: str, state: str, now: datetime) -> None:
    device = session.get(Device, device_id)
    if device is not None:
        device.broker_state = state
        device.broker_checked_at = now


def record_reconcile_run(
    session: Session,
    *,
    started_at: datetime,
    finished_at: datetime,
    drift: dict[str, int],
    error: str | None,
) -> None:
    session.add(
        BrokerReconcileRun(
            started_at=started_at,
            finished_at=finished_at,
            ok=error is None,
            drift=drift,
            error=error[:500] if error else None,
        )
    )


def last_reconcile_run(session: Session) -> BrokerReconcileRun | None:
    return session.exec(
        select(BrokerReconcileRun).order_by(col(BrokerReconcileRun.started_at).desc()).limit(1)
    ).first()
