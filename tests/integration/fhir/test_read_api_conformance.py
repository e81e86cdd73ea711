"""The read API does what its CapabilityStatement says: every claimed search parameter of
every type works (it finds the resource it was derived from), paging links never loop,
unknown parameters are lenient unless ``Prefer: handling=strict``, XML is 406."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.integration.fhir.api_world import FhirWorld

Auth = Callable[[str], dict[str, str]]


def _get(client: TestClient, url: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, (url, response.text)
    assert response.headers["content-type"].startswith("application/fhir+json")
    return response.json()


def _links(bundle: dict[str, Any]) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def _matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _value_for(name: str, kind: str, resource: dict[str, Any]) -> str | None:
    """A value of the parameter that the resource itself satisfies."""
    if name == "_id":
        return str(resource["id"])
    if name == "_count":
        return "500"
    if kind == "date":
        return "ge2000-01-01"
    if kind == "reference":
        subject = resource.get("subject") or resource.get("for") or {}
        if "reference" in subject:
            return str(subject["reference"])
        patient = resource.get("patient", {}).get("reference")
        return str(patient) if patient else None
    if name == "identifier":
        found = resource["identifier"][0]
        return f"{found['system']}|{found['value']}"
    if name == "code":
        coding = resource["code"]["coding"][0]
        return f"{coding['system']}|{coding['code']}"
    if name in ("status", "priority"):
        return str(resource[name])
    raise AssertionError(f"no value for {name} ({kind})")


def test_every_claimed_search_parameter_works(fhir_client: TestClient, auth: Auth) -> None:
    headers = auth("integrator-a")
    statement = _get(fhir_client, "/fhir/r4/metadata", {})
    exercised = 0
    for declared in statement["rest"][0]["resource"]:
        resource_type = declared["type"]
        first = _matches(_get(fhir_client, f"/fhir/r4/{resource_type}?_count=500", headers))
        assert first, resource_type
        for param in declared["searchParam"]:
            # the first resource that can give a value for this parameter
            for resource in first:
                value = _value_for(param["name"], param["type"], resource)
                if value is not None:
                    break
            assert value is not None, (resource_type, param["name"])
            url = f"/fhir/r4/{resource_type}?{param['name']}={quote(value, safe='')}&_count=500"
            strict = {**headers, "Prefer": "handling=strict"}  # a claimed one is never unknown
            bundle = _get(fhir_client, url, strict)
            ids = [r["id"] for r in _matches(bundle)]
            assert resource["id"] in ids, (resource_type, param["name"], value)
            if param["name"] == "_id":
                assert ids == [resource["id"]]
            exercised += 1
    assert exercised >= 30


def test_count_zero_gives_the_total_and_no_next_link(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    url = f"/fhir/r4/Observation?patient=Patient/{citizen}&_count=0"
    bundle = _get(fhir_client, url, auth("integrator-a"))
    assert bundle["total"] == 26 and _matches(bundle) == []
    assert set(_links(bundle)) == {"self"}


def test_an_offset_past_the_end_links_back_to_the_last_page_only(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    url = f"/fhir/r4/Observation?patient=Patient/{citizen}&_count=10&_offset=500"
    bundle = _get(fhir_client, url, auth("integrator-a"))
    links = _links(bundle)
    assert "next" not in links and links["previous"].endswith("_count=10&_offset=20")
    previous = _get(
        fhir_client, links["previous"].replace("http://testserver", ""), auth("integrator-a")
    )
    assert len(_matches(previous)) == 6  # 26 = 10 + 10 + 6: a page with matches


def test_unknown_parameters_are_ignored_and_said_so_unless_strict(
    fhir_client: TestClient, auth: Auth, fhir_world: FhirWorld
) -> None:
    citizen = fhir_world.a.citizen_ids[0]
    url = f"/fhir/r4/Observation?patient=Patient/{citizen}&_summary=true&_sort=date&_count=50"
    bundle = _get(fhir_client, url, auth("integrator-a"))
    assert bundle["total"] == 26 and len(_matches(bundle)) == 26
    (outcome,) = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert "_sort, _summary" in outcome["issue"][0]["diagnostics"]
    assert "_summary" not in _links(bundle)["self"]  # self shows what was applied
    strict = {**auth("integrator-a"), "Prefer": "handling=strict"}
    refused = _get(fhir_client, url, strict, status=400)
    assert refused["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("query", "accept", "status"),
    [
        ("", "application/fhir+xml", 406),
        ("", "application/xml, text/xml", 406),
        ("?_format=xml", "application/fhir+json", 406),
        ("?_format=application/fhir+xml", "", 406),
        ("", "application/fhir+xml;q=1.0, application/fhir+json;q=0.9", 200),
        ("?_format=json", "application/fhir+xml", 200),
        ("", "*/*", 200),
    ],
)
def test_xml_is_not_acceptable(
    fhir_client: TestClient, auth: Auth, query: str, accept: str, status: int
) -> None:
    headers = {**auth("integrator-a"), "Accept": accept}
    body = _get(fhir_client, f"/fhir/r4/Patient{query}", headers, status=status)
    assert body["resourceType"] == ("Bundle" if status == 200 else "OperationOutcome")
