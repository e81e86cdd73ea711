"""Canonical URLs and code systems, each with where it was read.

FUT = the Danish eHealth Infrastructure implementation guide, repository
``fut-infrastructure/implementation-guide`` (sushi-config.yaml: canonical
``http://ehealth.sundhed.dk/fhir``). PHD = ``HL7/phd``. Nothing here is guessed: a URL that
the guides do not give is not used.
"""

from __future__ import annotations

# --- profiles (FUT input/fsh/ehealth-*.fsh; meta.profile as in
#     input/pagecontent/POST_submit-measurement.md) ---
FUT_BASE = "http://ehealth.sundhed.dk/fhir/StructureDefinition/"
PROFILE_OBSERVATION = FUT_BASE + "ehealth-observation"
PROFILE_QUESTIONNAIRE_RESPONSE = FUT_BASE + "ehealth-questionnaireresponse"
PROFILE_CLINICAL_IMPRESSION = FUT_BASE + "ehealth-clinicalimpression"
PROFILE_TASK = FUT_BASE + "ehealth-task"
PROFILE_PATIENT = FUT_BASE + "ehealth-patient"
PROFILE_DEVICE = FUT_BASE + "ehealth-device"

# --- extensions ---
# ehealth-observation.fsh / ehealth-questionnaireresponse.fsh / ehealth-clinicalimpression.fsh:
# "extension contains http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare ... 1..1"
EXT_EPISODE_OF_CARE = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"
# ehealth-media.fsh "Extension: ehealth-resolved-timing" (serviceRequestVersionId 1..1,
# start 0..1, end 0..1, type 1..1); URL as in POST_submit-measurement.md
EXT_RESOLVED_TIMING = FUT_BASE + "ehealth-resolved-timing"
# ehealth-ext-quality.fsh (qualityType 1..1, qualityCode 1..1)
EXT_QUALITY = FUT_BASE + "ehealth-quality"
# ehealth-task.fsh: ehealth-task-episodeOfCare, ehealth-task-category, ehealth-task-responsible;
# ehealth-restriction-category (URLs as in the Task example exampleOperations POST_Task)
EXT_TASK_EPISODE_OF_CARE = FUT_BASE + "ehealth-task-episodeOfCare"
EXT_TASK_CATEGORY = FUT_BASE + "ehealth-task-category"
EXT_TASK_RESPONSIBLE = FUT_BASE + "ehealth-task-responsible"
EXT_RESTRICTION_CATEGORY = FUT_BASE + "ehealth-restriction-category"

# --- FUT code systems ---
CS_RESOLVED_TIMING_TYPE = "http://ehealth.sundhed.dk/cs/resolved-timing-type"  # Adhoc, Extra, ...
CS_QUALITY_TYPES = "http://ehealth.sundhed.dk/cs/quality-types"  # UQ = usage quality
CS_USAGE_QUALITY = "http://ehealth.sundhed.dk/cs/usage-quality"  # entered-manually, ...
CS_EHEALTH_UNIT = "http://ehealth.sundhed.dk/cs/ehealth-unit-code"  # 1/30sec
CS_CLINICALIMPRESSION_DECISION = "http://ehealth.sundhed.dk/cs/clinicalimpression-decision-codes"
CS_CLINICALIMPRESSION_CODES = "http://ehealth.sundhed.dk/cs/clinicalimpression-codes"
CS_CLINICALIMPRESSION_FINDING = "http://ehealth.sundhed.dk/cs/clinicalimpression-finding-codes"
CS_INVESTIGATION_ITEM = "http://ehealth.sundhed.dk/cs/clinicalimpression-investigation-item-codes"
CS_TASK_CATEGORY = "http://ehealth.sundhed.dk/cs/task-category"
CS_RESTRICTION_CATEGORY = "http://ehealth.sundhed.dk/cs/restriction-category"
# absolute reference-range types GAL (yellow) / RAL (red), read by FUT triage
# (implementation-guide-test-data input/fsh/aliases.fsh "$absolute-range")
CS_ABSOLUTE_RANGE = "urn:oid:1.2.208.184.100.1"

# --- national and international code systems (BACKGROUND.md codes table) ---
NPU = "urn:oid:1.2.208.176.2.1"
MEDCOM_MCS = "urn:oid:1.2.208.184.100.8"
# SKS (observation-codes include: ZZ3170, the home blood pressure panel)
SKS = "urn:oid:1.2.208.176.2.4"
LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
# CPR (FUT ehealth-patient.fsh example identifier.system)
CPR = "urn:oid:1.2.208.176.1.2"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# PHD StructureDefinition.PhdBaseObservation.fsh: category PHD-Observation 1..1
PHD_OBSERVATION_CATEGORIES = "http://hl7.org/fhir/uv/phd/CodeSystem/PhdObservationCategories"
# PHD StructureDefinition-PhgDevice-notes.md: the IEEE EUI-64 system id
PHD_SYSTEM_ID = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
PHD_DEVICE_IDENTIFIERS = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"
