"""Fixtures of the FHIR tests: the app ``pust api`` serves (``create_app``, which mounts the
FHIR routes itself) on a fresh database holding the FHIR test world, bearer tokens per user;
and the mock regional server (strict like FUT, with its token endpoint) the bridge tests
send to (their helpers: ``bridge_world.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from tests.integration.fhir.api_world import NOW, PASSWORD, FhirWorld, build
from tests.integration.fhir.regional_server import RegionalServer


@pytest.fixture
def regional() -> Iterator[RegionalServer]:
    server = RegionalServer(timeout_sleep=1.0).start()
    yield server
    server.stop()


@pytest.fixture
def fhir_world(engine: Engine) -> FhirWorld:
    return build(engine)


@pytest.fixture
def fhir_app(db_url: str, make_settings: Callable[..., Settings], fhir_world: FhirWorld) -> FastAPI:
    # the factory services/api/main.py runs: no router is added here
    return create_app(make_settings(db_url=db_url), clock=FrozenClock(NOW))


@pytest.fixture
def fhir_client(fhir_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fhir_app) as client:
        yield client


@pytest.fixture
def auth(fhir_client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            response = fhir_client.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            cache[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return cache[username]

    return headers
