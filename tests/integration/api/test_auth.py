"""Staff auth: password grant, lockout, bearer tokens, session cookie and CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent, StaffUser
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


def test_lockout_after_repeated_failures_then_unlock_later(
    client: TestClient, clock: FrozenClock, engine: Engine
) -> None:
    for _ in range(4):
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": "nurse-a", "password": "bad"}
            ).status_code
            == 401
        )
    fifth = client.post("/api/v1/auth/token", data={"username": "nurse-a", "password": "bad"})
    assert fifth.status_code == 429
    # even the right password is refused while locked
    locked = client.post(
        "/api/v1/auth/token", data={"username": "nurse-a", "password": "correct horse battery"}
    )
    assert locked.status_code == 429
    assert problem(locked)["status"] == 429
    clock.advance(timedelta(minutes=16))
    ok = client.post(
        "/api/v1/auth/token", data={"username": "nurse-a", "password": "correct horse battery"}
    )
    assert ok.status_code == 200
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "nurse-a")).one()
    assert user.failed_logins == 0


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
