"""Fixtures of the api tests: the app on a fresh database with a known world, and clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pust.config.settings import Settings
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.integration.api.world import NOW, PASSWORD, World, build_world


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def app(
    db_url: str, make_settings: Callable[..., Settings], clock: FrozenClock, world: World
) -> FastAPI:
    settings = make_settings(db_url=db_url)
    # the TestClient speaks plain HTTP: the cookie tests (test_web_security.py) build their own
    api_settings = ApiSettings(live_stream_seconds=3, insecure_http=True)
    return create_app(settings, clock=clock, api_settings=api_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def headers(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def build(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = {"Authorization": f"Bearer {token_for(client, username)}"}
        return cache[username]

    return build


def problem(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return body
