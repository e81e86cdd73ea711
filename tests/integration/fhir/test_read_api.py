"""The FHIR read API: search parameters, paging, scoping, audit, OperationOutcome errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.clinicalimpression import ClinicalImpression
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.task import Task
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent
from pust.fhir import urls
from tests.integration.fhir.api_world import B_SECRETS, FhirWorld

Auth = Callable[[str], dict[str, str]]
MODELS: dict[str, Any] = {
    "Observation": Observation,
    "Patient": Patient,
    "Device": Device,
    "Task": Task,
    "QuestionnaireResponse": QuestionnaireResponse,
    "ClinicalImpression": ClinicalImpression,
}


def _get(client: TestClient, url: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    if status >= 400:
        OperationOutcome.model_validate(body)
    return body


def _search_all(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Follow next links; every page and every resource validates."""
    found: list[dict[str, Any]] = []
    while url:
        bundle = _get(client, url, headers)
        Bundle.model_validate(bundle)
        for entry in bundle.get("entry", []):
            MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
            found.append(entry["resource"])
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next", "").replace("http://testserver", "")
    return found


def test_metadata_is_a_capability_statement(fhir_client: TestClient) -> None:
    body = _get(fhir_client, "/fhir/r4/metadata", {})
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1"


def test_observation_paging_walks_every_observation_once(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    first = _get(
        fhir_client,
        f"/fhir/r4/Observation?patient=Patient/{citizen}&_count=7",
        auth("integrator-a"),
    )
    assert first["total"] == 26  # 25 SpO2 and one blood pressure (two readings, one resource)
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_count=7&_offset=7" in links["next"] and "previous" not in links
    found = _search_all(
        fhir_client, f"/fhir/r4/Observation?patient={citizen}&_count=7", auth("integrator-a")
    )
    ids = [o["id"] for o in found]
    assert len(ids) == len(set(ids)) == 26
    systolic, diastolic = fhir_world.a.bp_ids
    assert str(systolic) in ids and str(diastolic) not in ids
    (pressure,) = [o for o in found if "component" in o]
    assert {c["code"]["coding"][0]["code"] for c in pressure["component"]} == {
        "DNK05472",
        "DNK05473",
    }
    spo2 = next(o for o in found if o["id"] == str(fhir_world.a.reading_ids[0]))
    assert spo2["code"]["coding"][0] == {
        "system": urls.NPU,
        "code": "NPU03011",
        "display": "Hb(Fe; O2-bind.; aB)—Oxygen(O2); mætn. = ?",  # the IG's NPU display
    }
    assert spo2["referenceRange"]  # the limits in force at triage
    assert spo2["device"]["reference"].startswith("Device/peripheral-")


CODE_CASES = [
    ("NPU03011", 25),
    ("http://loinc.org|59408-5", 25),
    ("urn:iso:std:iso:11073:10101|150456", 25),
    ("http://loinc.org|85354-9", 1),  # the blood pressure panel
    ("DNK05473", 0),  # a paired diastolic is a component, not an Observation of its own
    ("8867-4", 0),
    ("NPU03011,85354-9", 26),
    ("http://loinc.org|NPU03011", 0),  # the right code in the wrong system
]


def test_search_by_code(fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    for code, expected in CODE_CASES:
        url = f"/fhir/r4/Observation?patient={citizen}&code={quote(code)}"
        assert _get(fhir_client, url, auth("nurse-a"))["total"] == expected, code


def test_search_by_date_ranges_and_last_updated(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    base = f"/fhir/r4/Observation?patient={citizen}&code=NPU03011"
    # readings at NOW-25h ... NOW-1h, hourly
    window = _get(
        fhir_client,
        base + "&date=ge2026-11-23T00:00:00Z&date=lt2026-11-23T05:00:00Z",
        auth("nurse-a"),
    )
    assert window["total"] == 5
    assert _get(fhir_client, base + "&date=2026-11-22", auth("nurse-a"))["total"] == 15
    assert (
        _get(fhir_client, base + "&date=gt2026-11-23T08:00:00%2B00:00", auth("nurse-a"))["total"]
        == 1
    )
    assert _get(fhir_client, base + "&date=le2026-11-22", auth("nurse-a"))["total"] == 15
    assert (
        _get(fhir_client, base + "&_lastUpdated=gt2026-11-23T08:00:05Z", auth("nurse-a"))["total"]
        == 1
    )
    assert _get(fhir_client, base + "&date=2026", auth("nurse-a"))["total"] == 25


def test_scoping_an_integrator_sees_only_its_municipality(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    b_citizen = fhir_world.b.citizen_ids[0]
    for username in ("integrator-a", "nurse-a"):
        headers = auth(username)
        texts = []
        for resource_type in MODELS:
            texts.append(
                str(_search_all(fhir_client, f"/fhir/r4/{resource_type}?_count=500", headers))
            )
        assert _get(fhir_client, f"/fhir/r4/Observation?patient={b_citizen}", headers)["total"] == 0
        _get(fhir_client, f"/fhir/r4/Patient/{b_citizen}", headers, 404)
        _get(fhir_client, f"/fhir/r4/Observation/{fhir_world.b.reading_ids[0]}", headers, 404)
        _get(fhir_client, "/fhir/r4/Device/tablet-10", headers, 404)
        for secret in B_SECRETS:
            assert secret not in "".join(texts)
    # and the other way round
    _get(fhir_client, f"/fhir/r4/Patient/{fhir_world.a.citizen_ids[0]}", auth("nurse-b"), 404)
    patients = _search_all(fhir_client, "/fhir/r4/Patient", auth("nurse-b"))
    assert [p["id"] for p in patients] == [str(b_citizen)]


def test_every_read_is_audited(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld, engine: Engine
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    _get(fhir_client, f"/fhir/r4/Patient/{citizen}", auth("integrator-a"))
    _get(fhir_client, f"/fhir/r4/Observation?patient={citizen}&_count=2", auth("integrator-a"))
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.actor_username == "integrator-a")).all()
    actions = {(e.action, e.citizen_id) for e in events}
    assert ("fhir.read", citizen) in actions
    assert ("fhir.search.Observation", citizen) in actions


def test_patient_by_cpr_identifier_and_devices(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    found = _search_all(
        fhir_client, f"/fhir/r4/Patient?identifier={urls.CPR}|0101001234", auth("nurse-a")
    )
    assert [p["id"] for p in found] == [str(fhir_world.a.citizen_ids[0])]
    assert _search_all(fhir_client, "/fhir/r4/Patient?identifier=0303003456", auth("nurse-a")) == []
    devices = _search_all(
        fhir_client, f"/fhir/r4/Device?patient={fhir_world.a.citizen_ids[0]}", auth("nurse-a")
    )
    assert sorted(d["id"] for d in devices)[1] == "tablet-00"
    peripheral = next(d for d in devices if d["id"].startswith("peripheral-"))
    assert _get(fhir_client, f"/fhir/r4/Device/{peripheral['id']}", auth("nurse-a"))["parent"]


def test_tasks_impressions_and_responses(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    headers = auth("integrator-a")
    tasks = _search_all(fhir_client, "/fhir/r4/Task?status=requested", headers)
    by_priority = {t["priority"]: t for t in tasks}
    assert set(by_priority) == {"asap", "urgent"}
    categories = {
        t["priority"]: next(e for e in t["extension"] if e["url"] == urls.EXT_TASK_CATEGORY)
        for t in tasks
    }
    code = categories["urgent"]["valueCodeableConcept"]["coding"][0]["code"]
    assert code == "MissingMeasurementResolving"
    assert by_priority["asap"]["meta"]["profile"] == [urls.PROFILE_TASK]  # linked citizen
    assert by_priority["asap"]["focus"]["reference"].startswith("ClinicalImpression/")
    assert len(_search_all(fhir_client, "/fhir/r4/Task?priority=asap", headers)) == 1
    assert _search_all(fhir_client, "/fhir/r4/Task?status=completed", headers) == []
    impressions = _search_all(fhir_client, "/fhir/r4/ClinicalImpression?_count=100", headers)
    assert len(impressions) == 28
    red = [
        i
        for i in impressions
        if i["finding"][0]["itemCodeableConcept"]["coding"][0]["code"] == "red"
    ]
    assert red and all(i["code"]["coding"][0]["code"] == "TriagingResult" for i in red)
    (response,) = _search_all(fhir_client, "/fhir/r4/QuestionnaireResponse", headers)
    assert response["item"][0]["answer"] == [{"valueBoolean": True}]
    _get(fhir_client, f"/fhir/r4/QuestionnaireResponse/{response['id']}", headers)
    _get(fhir_client, f"/fhir/r4/ClinicalImpression/{impressions[0]['id']}", headers)
    _get(fhir_client, f"/fhir/r4/Task/{tasks[0]['id']}", headers)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/fhir/r4/Observation?date=yesterday", 400),
        ("GET", "/fhir/r4/Observation?_count=many", 400),
        ("GET", "/fhir/r4/Observation?patient=Group/1", 400),
        ("GET", "/fhir/r4/Observation/abc", 404),
        ("GET", "/fhir/r4/Observation/999999", 404),
        ("GET", "/fhir/r4/Observation/99999999999999999999999", 404),  # beyond a bigint
        ("GET", "/fhir/r4/QuestionnaireResponse/%C2%B2", 404),  # a digit, but not ASCII
        ("GET", "/fhir/r4/Device/peripheral-9223372036854775808", 404),
        ("GET", "/fhir/r4/Observation?date=le9999-12-31", 400),
        ("GET", "/fhir/r4/Medication", 404),
        ("POST", "/fhir/r4/Observation", 405),
        ("DELETE", "/fhir/r4/Patient/1", 405),
    ],
)
def test_errors_are_operation_outcomes(
    fhir_client: TestClient, auth: Auth, method: str, url: str, status: int
) -> None:
    response = fhir_client.request(method, url, headers=auth("nurse-a"))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/fhir+json")
    OperationOutcome.model_validate(response.json())


def test_unauthenticated_is_an_operation_outcome(fhir_client: TestClient) -> None:
    response = fhir_client.get("/fhir/r4/Patient")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_bridge_status_for_administrators_only(
    fhir_client: TestClient, auth: Auth, engine: Engine
) -> None:
    from pust.db.engine import session_scope
    from pust.db.tables import OutboxMessage
    from tests.integration.fhir.api_world import NOW

    with session_scope(engine) as s:
        s.add(
            OutboxMessage(
                channel="fhir",
                destination="$submit-measurement",
                payload={"reading_ids": [1]},
                dedup_key="fhir:reading:1",
                status="dead",
                attempts=12,
                last_error="http 422 (processing)",
                created_at=NOW,
                available_at=NOW,
            )
        )
        s.add(
            OutboxMessage(
                channel="fhir",
                destination="$submit-measurement",
                payload={"reading_ids": [2]},
                dedup_key="fhir:reading:2",
                created_at=NOW,
                available_at=NOW,
            )
        )
        s.add(
            OutboxMessage(
                channel="fhir",
                destination="$submit-measurement",
                payload={"reading_ids": [3]},
                dedup_key="fhir:reading:3",
                status="skipped",
                last_error="no FUT code for fev6",
                created_at=NOW,
                available_at=NOW,
            )
        )
    body = _get(fhir_client, "/fhir/r4/$bridge-status", auth("admin-a"))
    Parameters.model_validate(body)
    values = {p["name"]: p.get("valueInteger") for p in body["parameter"]}
    assert values["pending"] == 1 and values["dead"] == 1 and values["sent"] == 0
    (dead,) = [p for p in body["parameter"] if p["name"] == "deadSubmission"]
    assert {"name": "lastError", "valueString": "http 422 (processing)"} in dead["part"]
    (not_sendable,) = [p for p in body["parameter"] if p["name"] == "notSendable"]
    parts = {p["name"]: p.get("valueString", p.get("valueInteger")) for p in not_sendable["part"]}
    assert parts["type"] == "fev6" and parts["count"] == 1
    _get(fhir_client, "/fhir/r4/$bridge-status", auth("integrator-a"), 403)
