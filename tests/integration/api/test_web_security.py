"""Production-safe web defaults through the real app: the session cookie is Secure outside
demo mode unless PUST_API_INSECURE_HTTP says otherwise (with a warning), and HSTS is sent
when the request came over HTTPS, directly or through a trusted proxy only."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import pytest
from fastapi.testclient import TestClient

from pust.config.settings import Settings
from pust.domain.clock import FrozenClock
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.integration.api.world import NOW, PASSWORD, World


class ClientFor(Protocol):
    def __call__(
        self, *, demo: bool = ..., base_url: str = ..., peer: str = ..., **api: object
    ) -> AbstractContextManager[TestClient]: ...


@pytest.fixture
def client_for(db_url: str, make_settings: Callable[..., Settings], world: World) -> ClientFor:
    del world

    @contextmanager
    def build(
        *,
        demo: bool = False,
        base_url: str = "http://testserver",
        peer: str = "testclient",
        **api: object,
    ) -> Iterator[TestClient]:
        app = create_app(
            make_settings(db_url=db_url, demo=demo),
            clock=FrozenClock(NOW),
            api_settings=ApiSettings(**api),  # type: ignore[arg-type]
        )
        with TestClient(app, base_url=base_url, client=(peer, 50000)) as client:
            yield client

    return build


def _session_cookie_of_login(client: TestClient, **headers: str) -> str:
    page = client.get("/login", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    # the login form's own cookie (Secure too outside demo mode: the test puts it in the jar
    # itself, so that the plain-HTTP cases can log in at all)
    login_csrf = re.search(r"pust_login_csrf=([^;]+)", page.headers["set-cookie"])
    assert login_csrf is not None
    client.cookies.set("pust_login_csrf", login_csrf.group(1))
    response = client.post(
        "/login",
        data={"username": "nurse-a", "password": PASSWORD, "csrf_token": token.group(1)},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("pust_session=")]
    assert len(cookies) == 1
    return cookies[0]


def _flags(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def test_outside_demo_mode_the_session_cookie_is_secure_by_default(client_for: ClientFor) -> None:
    with client_for() as client:
        flags = _flags(_session_cookie_of_login(client))
    assert "secure" in flags
    assert "httponly" in flags
    assert "samesite=lax" in flags


def test_a_secure_cookie_is_not_sent_back_over_plain_http(client_for: ClientFor) -> None:
    # what the browser does: the login "works" but the next page is the login page again
    with client_for() as client:
        _session_cookie_of_login(client)
        assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    with client_for(base_url="https://testserver") as client:
        _session_cookie_of_login(client)
        assert client.get("/", follow_redirects=False).status_code == 200


def test_insecure_http_turns_secure_off_and_warns_at_start_up(
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with client_for(insecure_http=True) as client:
        flags = _flags(_session_cookie_of_login(client))
        assert client.get("/", follow_redirects=False).status_code == 200
    assert "secure" not in flags
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("PUST_API_INSECURE_HTTP" in r.getMessage() for r in warnings)


def test_demo_mode_serves_plain_http_without_a_warning(
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with client_for(demo=True) as client:
        flags = _flags(_session_cookie_of_login(client))
    assert "secure" not in flags
    assert not [r for r in caplog.records if "INSECURE_HTTP" in r.getMessage()]


def test_a_request_over_https_gets_a_secure_cookie_even_when_http_is_allowed(
    client_for: ClientFor,
) -> None:
    with client_for(insecure_http=True, base_url="https://testserver") as client:
        assert "secure" in _flags(_session_cookie_of_login(client))


def test_the_deprecated_secure_cookies_setting_still_forces_secure_and_warns(
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with client_for(demo=True, secure_cookies=True) as client:
        assert "secure" in _flags(_session_cookie_of_login(client))
    assert any("PUST_API_SECURE_COOKIES is deprecated" in r.getMessage() for r in caplog.records)


def test_hsts_over_direct_https_and_not_over_http(client_for: ClientFor) -> None:
    with client_for(base_url="https://testserver") as client:
        hsts = client.get("/login").headers.get("strict-transport-security")
    assert hsts == "max-age=31536000"
    with client_for() as client:
        assert "strict-transport-security" not in client.get("/login").headers


def test_hsts_and_secure_cookie_through_a_trusted_proxy(client_for: ClientFor) -> None:
    # the TLS ends at the proxy on this machine (loopback is trusted by default)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    with client_for(peer="127.0.0.1", insecure_http=True) as client:
        page = client.get("/login", headers=forwarded)
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in _flags(_session_cookie_of_login(client, **forwarded))
    with client_for(peer="10.1.2.3", trusted_proxies="10.0.0.0/8") as client:
        page = client.get("/login", headers=forwarded)
        assert "strict-transport-security" in page.headers


def test_forwarded_headers_from_an_untrusted_address_are_ignored(client_for: ClientFor) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
    with client_for(peer="203.0.113.9", insecure_http=True) as client:
        page = client.get("/login", headers=forwarded)
        assert "strict-transport-security" not in page.headers
        assert "secure" not in _flags(_session_cookie_of_login(client, **forwarded))


def test_a_bad_trusted_proxy_setting_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        ApiSettings(trusted_proxies="127.0.0.1, not-an-address")
