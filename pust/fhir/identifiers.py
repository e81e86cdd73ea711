"""Deterministic identifiers: the same reading always maps to the same identifiers, so a
resend can never create a second resource on a server that does conditional create.

The PHD conditional-create identifier (HL7/phd
input/intro-notes/StructureDefinition-PhdBaseObservation-notes.md, "Conditional-create
Identifier"): ``device-patient-type-timestamp[-duration][-supplemental]`` where

- device: the PHD system id, hexadecimal, capitals, without dashes (EUI-64: 16 characters);
- patient: ``Patient.identifier.value-Patient.identifier.system`` *or a provided logical id*
  -- pust uses the citizen's own id, so no CPR number ends up in an identifier;
- type: the MDC code (decimal);
- timestamp: the PHD timestamp (not a re-stamped effective time), HL7 DTM
  ``YYYYMMDDTHHMMSS.ss`` (pages/GeneratingtheReportedTimeStampIdentifier.md).

FUT's ehealth-observation does not derive from the PHD profile and says nothing about the
identifier; a value without a system is not a business identifier a server can be searched
by. pust therefore sends ``system`` = a pust NamingSystem URI (``PUST_BRIDGE_IDENTIFIER_SYSTEM``,
default :data:`DEFAULT_IDENTIFIER_SYSTEM`) and a value built from what the *device* knows:
the tablet id in place of the patient part (no internal UUID, no CPR), the PHD system id of the
peripheral, the MDC code (or pust's type name when there is none) and the PHD timestamp.
The same reading gives the same identifier on every machine, so a resend can be recognised
by a search ``identifier=<system>|<value>``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

# A fixed namespace for pust's name-based (version 5) UUIDs. Changing it would change every
# deterministic id, so it never changes.
PUST_NAMESPACE = uuid.UUID("5c0f6a52-8d0e-4b0e-9a57-6b7a1f0c2e31")

_HEX = re.compile(r"[^0-9A-Fa-f]")


def phd_device_part(system_id: str) -> str:
    """EUI-64 / EUI-48 as hexadecimal capitals without separators ("FE-ED-.." -> "FEED..")."""
    hex_only = _HEX.sub("", system_id).upper()
    return hex_only or system_id.upper()


def phd_timestamp(moment: datetime) -> str:
    """HL7 DTM with hundredths, in UTC: 20261123T061440.00."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S") + f".{utc.microsecond // 10_000:02d}"


# pust's NamingSystem for the identifiers of what it sends (README "Identifiers"); a
# municipality may set its own URI, but never change it after go-live (resends would no
# longer be recognised)
DEFAULT_IDENTIFIER_SYSTEM = "https://pust.dk/fhir/NamingSystem/measurement-identifier"


def phd_observation_identifier(
    *, device_part: str, tablet_id: str, type_code: str, measured_at: datetime
) -> str:
    return "-".join((device_part, tablet_id.upper(), type_code, phd_timestamp(measured_at)))


def identifier(value: str, system: str = DEFAULT_IDENTIFIER_SYSTEM) -> dict[str, str]:
    return {"system": system, "value": value}


def deterministic_uuid(*parts: str) -> uuid.UUID:
    """The same parts give the same UUID on every machine and every run."""
    return uuid.uuid5(PUST_NAMESPACE, "|".join(parts))


def urn_uuid(*parts: str) -> str:
    return f"urn:uuid:{deterministic_uuid(*parts)}"
