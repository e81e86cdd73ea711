"""``ClinicalImpression/$set-measurement-validity``: a measurement already sent is invalid.

Shape from FUT ``pagecontent/POST_ClinicalImpression_set-measurement-validity.md``:
Parameters ``clinicalImpression`` = an ehealth-clinicalimpression with code
``MeasurementValidityUpdate``, the episode-of-care extension, the decision extension
(``invalidated-fulfills`` or ``invalidated-is-not-fulfillment``), subject, one investigation
``item-for-investigation`` naming the Observation (versioned and unversioned, as the example),
and the finding ``measurement-invalidated``. A QuestionnaireResponse is a measurement too
(``$submit-measurement`` carries both; ehealth-clinicalimpression's ``investigation.item``
allows ``Reference(ehealth-questionnaireresponse)``), so answers are invalidated the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from pust.fhir import urls

OPERATION_PATH = "ClinicalImpression/$set-measurement-validity"
EXT_DECISION = urls.FUT_BASE + "ehealth-clinicalimpression-decision"
Decision = Literal["invalidated-fulfills", "invalidated-is-not-fulfillment"]


def set_measurement_validity_parameters(
    *,
    measurement: str,
    version: str | None,
    patient_reference: str,
    episode_of_care_reference: str,
    decision: Decision = "invalidated-is-not-fulfillment",
) -> dict[str, Any]:
    """``measurement``: the server's literal reference to what was submitted
    (``https://…/Observation/67651`` or ``…/QuestionnaireResponse/12``)."""
    items = [{"reference": f"{measurement}/_history/{version}"}] if version else []
    items.append({"reference": measurement})
    impression = {
        "resourceType": "ClinicalImpression",
        "meta": {"profile": [urls.PROFILE_CLINICAL_IMPRESSION]},
        "extension": [
            {
                "url": urls.EXT_EPISODE_OF_CARE,
                "valueReference": {"reference": episode_of_care_reference},
            },
            {
                "url": EXT_DECISION,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": urls.CS_CLINICALIMPRESSION_DECISION,
                            "code": decision,
                            "display": decision,
                        }
                    ]
                },
            },
        ],
        "status": "completed",
        "code": {
            "coding": [
                {"system": urls.CS_CLINICALIMPRESSION_CODES, "code": "MeasurementValidityUpdate"}
            ]
        },
        "subject": {"reference": patient_reference},
        "investigation": [
            {
                "code": {
                    "coding": [
                        {"system": urls.CS_INVESTIGATION_ITEM, "code": "item-for-investigation"}
                    ]
                },
                "item": items,
            }
        ],
        "finding": [
            {
                "itemCodeableConcept": {
                    "coding": [
                        {
                            "system": urls.CS_CLINICALIMPRESSION_FINDING,
                            "code": "measurement-invalidated",
                            "display": "measurement-invalidated",
                        }
                    ]
                }
            }
        ],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "clinicalImpression", "resource": impression}],
    }
