"""Devices as FUT knows them: learned once, then referenced literally.

ehealth-observation: ``device only Reference(ehealth-device)`` with ``aggregation
#referenced`` -- a reference to a Device resource the receiving side can resolve, not an
identifier-only (logical) reference. FUT's device service (``CapabilityStatement-device``)
declares Device ``search-type`` by ``identifier``, ``create`` and ``conditionalCreate``.

So the bridge, before the first submission from a device, searches
``GET [device base]/Device?identifier=<system>|<value>``; if nothing is there it creates an
ehealth-device (``POST [device base]/Device`` with ``If-None-Exist``, so two bridges cannot
create two); the answer's reference is kept in ``regional_device`` and every submission then
says ``"device": {"reference": "https://…/Device/70544"}``. Until the device is known the
submission is not sent (the lookup runs in the same attempt; a device service that cannot
be reached is a retry), because a logical reference is what the profile's aggregation rules
out. ``PUST_BRIDGE_DEVICE_REFERENCES=identifier`` keeps the logical reference for a target
without a device service (the read API and tests of shapes use it).

Identifiers: a Bluetooth peripheral by its PHD system id (EUI-64, ``urn:oid:1.2.840.10004.
1.1.1.0.0.1.0.0.1.2680``, what Continua/PHD devices carry); a tablet (manual entry, no
peripheral) by pust's tablet id under ``<identifier system>/device`` (pust's NamingSystem).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from pust.db.tables import RegionalDevice
from pust.fhir import urls


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    system: str
    value: str
    kind: str  # "peripheral" | "tablet"


class DeviceUnknown(LookupError):
    """The device's FUT id is not known yet: learn it, then build the submission again."""

    def __init__(self, identity: DeviceIdentity) -> None:
        super().__init__("device not known to the regional backend yet")
        self.identity = identity


def tablet_system(identifier_system: str) -> str:
    return identifier_system.rstrip("/") + "/device"


def device_identity(
    tablet_id: str, peripheral_system_id: str | None, identifier_system: str
) -> DeviceIdentity:
    if peripheral_system_id:
        return DeviceIdentity(urls.PHD_SYSTEM_ID, peripheral_system_id, "peripheral")
    return DeviceIdentity(tablet_system(identifier_system), tablet_id, "tablet")


def known_reference(session: Session, identity: DeviceIdentity) -> str | None:
    row = session.get(RegionalDevice, (identity.system, identity.value))
    return row.reference if row is not None else None


def remember(session: Session, identity: DeviceIdentity, reference: str, now: datetime) -> None:
    """Keep the learned reference (the first one kept wins: a second lane that learned the
    same device finds the row and leaves it)."""
    if session.get(RegionalDevice, (identity.system, identity.value)) is None:
        session.add(
            RegionalDevice(
                identifier_system=identity.system,
                identifier_value=identity.value,
                reference=reference,
                learned_at=now,
            )
        )


def ehealth_device(identity: DeviceIdentity) -> dict[str, Any]:
    """The Device pust creates when FUT does not know it: ehealth-device needs ``status``;
    ``type`` (required binding to device-types, which holds no code for a tablet or an
    oximeter of the kind pust uses but ``59181002``) is left out."""
    return {
        "resourceType": "Device",
        "meta": {"profile": [urls.PROFILE_DEVICE]},
        "identifier": [{"system": identity.system, "value": identity.value}],
        "status": "active",
        "deviceName": [
            {
                "name": "pust tablet" if identity.kind == "tablet" else identity.value,
                "type": "user-friendly-name",
            }
        ],
    }
