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

The identifier slice has ``system ..0`` and ``type ..0`` (PhdBaseObservation.fsh), so only
``value`` is set, and conditional create matches on ``identifier=<value>``.
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


def phd_observation_identifier(
    *, device_part: str, citizen_id: uuid.UUID, mdc_code: str, measured_at: datetime
) -> str:
    return "-".join((device_part, str(citizen_id), mdc_code, phd_timestamp(measured_at)))


def deterministic_uuid(*parts: str) -> uuid.UUID:
    """The same parts give the same UUID on every machine and every run."""
    return uuid.uuid5(PUST_NAMESPACE, "|".join(parts))


def urn_uuid(*parts: str) -> str:
    return f"urn:uuid:{deterministic_uuid(*parts)}"
