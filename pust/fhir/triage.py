"""Triage results as ClinicalImpressions, open work (alerts) as Tasks.

ClinicalImpression, FUT ``input/fsh/ehealth-clinicalimpression.fsh``: episodeOfCare extension
1..1, code 1..1 (``clinicalimpression-codes#TriagingResult``), subject only Patient;
investigation.item only Observation / QuestionnaireResponse; finding codes from
``clinicalimpression-finding-codes`` (red | yellow | green "overall assessment"). Shape as the
FUT test data (types/clinicalimpression.fsh): status completed, effective and date the triage
time, investigation code ``item-for-investigation``.

Task, FUT ``input/fsh/ehealth-task.fsh``: extensions episodeOfCare 1..1 (ehealth-task-
episodeOfCare), taskCategory 1..1, taskResponsible 1..* (the care team), restrictionCategory
1..*; priority 1..1. Priority is the triage colour: red -> asap, yellow -> urgent,
green -> routine; intent plan; a missed measurement is ``MissingMeasurementResolving``
(test data types/task.fsh and the POST_Task example).
"""

from __future__ import annotations

from typing import Any

from pust.db.tables import Alert, TriageResult
from pust.domain.severity import AlertKind
from pust.fhir import urls
from pust.fhir.regional import RegionalContext
from pust.fhir.time import instant

PRIORITY = {"red": "asap", "yellow": "urgent", "green": "routine"}
FINDING_DISPLAY = {
    "red": "Red overall assessment",
    "yellow": "Yellow overall assessment",
    "green": "Green overall assessment",
}
CATEGORY = {
    AlertKind.READING: ("MeasurementForAssessment", "Need assessment of measurement"),
    AlertKind.MISSED_MEASUREMENT: (
        "MissingMeasurementResolving",
        "Need resolving of why scheduled measurement has not been submitted",
    ),
    # a silent tablet also means nothing was submitted; a reading that could not be triaged
    # needs a person to assess it
    AlertKind.SILENT_DEVICE: (
        "MissingMeasurementResolving",
        "Need resolving of why scheduled measurement has not been submitted",
    ),
    AlertKind.TECHNICAL: ("MeasurementForAssessment", "Need assessment of measurement"),
}
TASK_STATUS = {"open": "requested", "acknowledged": "completed", "resolved": "completed"}


def build_clinical_impression(
    result: TriageResult, *, regional: RegionalContext | None = None
) -> dict[str, Any]:
    severity = result.severity if result.severity in PRIORITY else "red"
    if result.reading_id is not None:
        item = {"reference": f"Observation/{result.reading_id}"}
        description = "Automatisk processering grundet måling modtaget"
    else:
        item = {"reference": f"QuestionnaireResponse/{result.questionnaire_response_id}"}
        description = "Automatisk processering grundet spørgeskemabesvarelse modtaget"
    resource: dict[str, Any] = {
        "resourceType": "ClinicalImpression",
        "id": str(result.id),
        "meta": {"lastUpdated": instant(result.evaluated_at)},
    }
    if regional is not None:
        resource["meta"]["profile"] = [urls.PROFILE_CLINICAL_IMPRESSION]
        resource["extension"] = [regional.episode_extension()]
    resource.update(
        {
            "status": "completed",
            "code": {
                "coding": [
                    {
                        "system": urls.CS_CLINICALIMPRESSION_CODES,
                        "code": "TriagingResult",
                        "display": "Result of triaging",
                    }
                ]
            },
            "description": description,
            "subject": {"reference": f"Patient/{result.citizen_id}"},
            "effectiveDateTime": instant(result.evaluated_at),
            "date": instant(result.evaluated_at),
            "investigation": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": urls.CS_INVESTIGATION_ITEM,
                                "code": "item-for-investigation",
                                "display": "Item for investigation",
                            }
                        ]
                    },
                    "item": [item],
                }
            ],
            "finding": [
                {
                    "itemCodeableConcept": {
                        "coding": [
                            {
                                "system": urls.CS_CLINICALIMPRESSION_FINDING,
                                "code": severity,
                                "display": FINDING_DISPLAY[severity],
                            }
                        ]
                    }
                }
            ],
        }
    )
    rules = sorted({str(r.get("rule")) for r in result.reasons or [] if r.get("rule")})
    if rules:
        # why: the rule keys that decided it (values are in the referenced resource)
        resource["summary"] = "; ".join(rules)
    if result.late:
        resource["note"] = [{"text": "late: measured more than 48 hours before it arrived"}]
    return resource


def build_task(
    alert: Alert,
    *,
    triage_result_id: int | None = None,
    regional: RegionalContext | None = None,
) -> dict[str, Any]:
    kind = AlertKind(alert.kind) if alert.kind in AlertKind.__members__.values() else None
    category_code, category_display = CATEGORY.get(
        kind or AlertKind.TECHNICAL, CATEGORY[AlertKind.TECHNICAL]
    )
    responsible = (
        {"reference": regional.care_team_reference}
        if regional is not None and regional.care_team_reference
        else {"reference": f"CareTeam/{alert.care_team_id}"}
    )
    extensions: list[dict[str, Any]] = []
    if regional is not None:
        extensions.append(
            {
                "url": urls.EXT_TASK_EPISODE_OF_CARE,
                "valueReference": {"reference": regional.episode_of_care_reference},
            }
        )
    extensions += [
        {
            "url": urls.EXT_TASK_CATEGORY,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": urls.CS_TASK_CATEGORY,
                        "code": category_code,
                        "display": category_display,
                    }
                ]
            },
        },
        {
            "url": urls.EXT_RESTRICTION_CATEGORY,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": urls.CS_RESTRICTION_CATEGORY,
                        "code": "measurement-monitoring",
                        "display": "Monitoring of measurement(s)",
                    }
                ]
            },
        },
        {"url": urls.EXT_TASK_RESPONSIBLE, "valueReference": responsible},
    ]
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(alert.id),
        "meta": {"lastUpdated": instant(alert.updated_at)},
        "extension": extensions,
    }
    if regional is not None:
        resource["meta"]["profile"] = [urls.PROFILE_TASK]
    resource["status"] = TASK_STATUS.get(alert.status, "requested")
    resource["intent"] = "plan"
    resource["priority"] = PRIORITY.get(alert.severity, "asap")
    if kind is AlertKind.MISSED_MEASUREMENT or kind is AlertKind.SILENT_DEVICE:
        resource["description"] = "Manglende måling"
    elif alert.last_response_id is not None:
        resource["description"] = "Spørgeskemabesvarelse til evaluering"
    else:
        resource["description"] = "Måling til vurdering"
    if triage_result_id is not None:
        # test data types/task.fsh: a MeasurementForAssessment task focuses on the
        # ClinicalImpression, not on the measurement
        resource["focus"] = {"reference": f"ClinicalImpression/{triage_result_id}"}
    resource["for"] = {"reference": f"Patient/{alert.citizen_id}"}
    resource["authoredOn"] = instant(alert.first_seen_at)
    resource["lastModified"] = instant(alert.updated_at)
    if alert.acknowledge_note and alert.status != "open":
        resource["note"] = [{"text": alert.acknowledge_note}]
    return resource
