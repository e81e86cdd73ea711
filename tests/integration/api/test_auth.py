"""Staff auth: password grant, lockout, bearer tokens, session cookie and CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent
from pust.domain.clock import FrozenClock
from tests.integration.api.conftest import problem


def test_password_grant_gives_a_bearer_token_that_works(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token",
        data={"username": "nurse-a", "password": "correct horse battery", "grant_type": "password"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "nurse-a"
    assert me.json()["role"] == "nurse"


def test_wrong_password_is_401_problem_and_audited(client: TestClient, engine: Engine) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "nurse-a", "password": "no"})
    assert response.status_code == 401
    assert problem(response)["status"] == 401
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    assert [e.outcome for e in events] == ["denied"]


def test_unknown_user_is_401(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x"})
    assert response.status_code == 401


def test_repeated_failures_slow_the_account_here_but_never_lock_it(
    client: TestClient, clock: FrozenClock
) -> None:
    # the nurse's own typos from one address: 5 free, then she waits 1 s, 2 s, ...
    for _ in range(5):
        wrong = client.post("/api/v1/auth/token", data={"username": "nurse-a", "password": "x"})
        assert wrong.status_code == 401
    waiting = client.post(
        "/api/v1/auth/token", data={"username": "nurse-a", "password": "correct horse battery"}
    )
    assert waiting.status_code == 429
    assert problem(waiting)["status"] == 429
    assert waiting.headers["retry-after"] == "1"
    clock.advance(timedelta(seconds=1))
    ok = client.post(
        "/api/v1/auth/token", data={"username": "nurse-a", "password": "correct horse battery"}
    )
    assert ok.status_code == 200


def test_no_or_bad_token_is_401(client: TestClient) -> None:
    assert problem(client.get("/api/v1/auth/me"))["status"] == 401
    bad = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_expired_token_is_refused(
    client: TestClient, clock: FrozenClock, headers: Callable[[str], dict[str, str]]
) -> None:
    auth = headers("nurse-a")
    assert client.get("/api/v1/auth/me", headers=auth).status_code == 200
    clock.advance(timedelta(hours=2))
    assert client.get("/api/v1/auth/me", headers=auth).status_code == 401
