"""OIDC login (authorization code + PKCE) and OIDC bearer tokens against a local issuer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.config.settings import Settings
from pust.db.tables import StaffUser
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.integration.api.oidc_issuer import CLIENT_ID, CLIENT_SECRET, LocalIssuer
from tests.integration.api.world import World

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive

SUBJECT = "a7c1-nurse-a"


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer(subject=SUBJECT)
    yield local
    local.close()


@pytest.fixture
def oidc_client(
    db_url: str,
    make_settings: Callable[..., Settings],
    clock: FrozenClock,
    world: World,
    issuer: LocalIssuer,
    engine: Engine,
) -> Iterator[TestClient]:
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "nurse-a")).one()
        user.oidc_issuer, user.oidc_subject = issuer.url, SUBJECT
        s.add(user)
        s.commit()
    app = create_app(
        make_settings(db_url=db_url),
        clock=clock,
        api_settings=ApiSettings(
            oidc_issuer=issuer.url,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            insecure_http=True,
        ),
    )
    with TestClient(app) as client:
        yield client


def _login(client: TestClient) -> httpx.Response:
    start = client.get("/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 303
    authorize = httpx.get(start.headers["location"], follow_redirects=False)
    assert authorize.status_code == 302
    back = httpx.URL(authorize.headers["location"])
    return client.get(f"{back.path}?{back.query.decode()}", follow_redirects=False)


def test_oidc_login_starts_a_session(oidc_client: TestClient) -> None:
    done = _login(oidc_client)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/"
    me = oidc_client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "nurse-a"
    assert oidc_client.get("/").status_code == 200


def test_a_forged_state_is_refused(oidc_client: TestClient) -> None:
    start = oidc_client.get("/auth/oidc/login", follow_redirects=False)
    authorize = httpx.get(start.headers["location"], follow_redirects=False)
    back = httpx.URL(authorize.headers["location"])
    code = back.params["code"]
    response = oidc_client.get(
        f"/auth/oidc/callback?code={code}&state=forged", follow_redirects=False
    )
    assert response.status_code == 401


def test_unknown_subject_gets_no_account(oidc_client: TestClient, issuer: LocalIssuer) -> None:
    issuer.subject = "someone-else"
    assert _login(oidc_client).status_code == 403


def test_issuer_bearer_tokens_work_on_the_api(oidc_client: TestClient, issuer: LocalIssuer) -> None:
    good = oidc_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issuer.token()}"})
    assert good.status_code == 200
    assert good.json()["username"] == "nurse-a"
    wrong_audience = issuer.token(audience="another-client")
    assert (
        oidc_client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {wrong_audience}"}
        ).status_code
        == 401
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = issuer.token(key=stranger)
    assert (
        oidc_client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}
        ).status_code
        == 401
    )
