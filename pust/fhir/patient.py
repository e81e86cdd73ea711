"""Citizens as Patients, tablets and peripherals as Devices.

Patient: the CPR number is the identifier (system ``urn:oid:1.2.208.176.1.2``, FUT
ehealth-patient.fsh example); ``Cpr.reveal()`` is called here and only here for FHIR.
ehealth-patient requires ``gender 1..1``; pust does not record gender, so it is ``unknown``
(as in the profile's own example). Device: PHD system id as identifier (HL7/phd
StructureDefinition-PhgDevice-notes.md: system ``urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680``,
type SYSID); ehealth-device.fsh: ``status 1..1`` and ``patient 0..0`` (so no patient link).
"""

from __future__ import annotations

from typing import Any

from pust.db.tables import Citizen, Device, Peripheral
from pust.fhir import urls
from pust.fhir.time import instant

PERIPHERAL_PREFIX = "peripheral-"


def patient_reference(citizen_id: object) -> dict[str, Any]:
    return {"reference": f"Patient/{citizen_id}"}


def build_patient(citizen: Citizen) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(citizen.id),
        "meta": {"lastUpdated": instant(citizen.created_at)},
        "identifier": [{"use": "official", "system": urls.CPR, "value": citizen.cpr.reveal()}],
        "active": citizen.status == "active",
        "name": [{"use": "official", "family": citizen.family_name, "given": [citizen.given_name]}],
        "gender": "unknown",
    }
    if citizen.phone:
        resource["telecom"] = [{"system": "phone", "value": citizen.phone}]
    return resource


def device_reference(device_id: str, peripheral_id: int | None) -> dict[str, Any]:
    if peripheral_id is not None:
        return {"reference": f"Device/{PERIPHERAL_PREFIX}{peripheral_id}"}
    return {"reference": f"Device/{device_id}"}


def device_logical_reference(device_id: str, peripheral_system_id: str | None) -> dict[str, Any]:
    """A reference by identifier, for a server that does not know pust's Device ids."""
    if peripheral_system_id:
        return {"identifier": {"system": urls.PHD_SYSTEM_ID, "value": peripheral_system_id}}
    return {"display": "tablet", "identifier": {"value": device_id}}


def build_tablet(device: Device) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": device.id,
        "meta": {"lastUpdated": instant(device.last_seen_at or device.enrolled_at)},
        "identifier": [{"value": device.id}],
        "status": "active" if device.status == "active" else "inactive",
        "deviceName": [{"name": device.id, "type": "user-friendly-name"}],
        **({"version": [{"value": device.app_version}]} if device.app_version else {}),
    }


def build_peripheral(peripheral: Peripheral) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": f"{PERIPHERAL_PREFIX}{peripheral.id}",
        "meta": {"lastUpdated": instant(peripheral.last_seen_at)},
        "identifier": [
            {
                "system": urls.PHD_SYSTEM_ID,
                "value": peripheral.system_id,
                "type": {"coding": [{"system": urls.PHD_DEVICE_IDENTIFIERS, "code": "SYSID"}]},
            }
        ],
        "status": "active",
        "parent": {"reference": f"Device/{peripheral.device_id}"},
    }
    if peripheral.serial:
        resource["serialNumber"] = peripheral.serial
    if peripheral.model:
        resource["modelNumber"] = peripheral.model
    return resource
