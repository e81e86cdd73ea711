"""schemathesis over every FHIR route in the OpenAPI document: no input makes a server error,
and every answer (errors included) is FHIR JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.integration.fhir.api_world import FhirWorld

MAX_EXAMPLES = 30


def test_fhir_routes_never_answer_a_server_error(
    fhir_app: FastAPI,
    fhir_client: TestClient,
    auth: Callable[[str], dict[str, str]],
    fhir_world: FhirWorld,
) -> None:
    headers = auth("integrator-a")
    schema = schemathesis.openapi.from_asgi("/openapi.json", fhir_app).include(
        path_regex=r"^/fhir/r4/"
    )
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 13  # metadata plus read and search of six resource types
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.path, case.query, response.text[:300])
            (content_type,) = response.headers["content-type"]
            assert content_type.startswith("application/fhir+json")

        check()
