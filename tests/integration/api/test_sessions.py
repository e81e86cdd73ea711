"""Server-side browser sessions through the real app: logout, deactivation and a password
change end them, so an old cookie is refused afterwards (401 from the API, the login page
from the UI); the table keeps only a hash of the cookie's token."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent, StaffSession, StaffUser
from pust.domain.clock import FrozenClock
from tests.integration.api.test_web import login

Headers = Callable[[str], dict[str, str]]


def _session_cookie(client: TestClient) -> str:
    cookie = client.cookies.get("pust_session")
    assert cookie
    return cookie


def _with_cookie(client: TestClient, cookie: str) -> None:
    client.cookies.clear()
    client.cookies.set("pust_session", cookie)


def _logged_in(client: TestClient) -> bool:
    """What the nurse sees: her own account in the API, and the worklist (not the login)."""
    me = client.get("/api/v1/auth/me")
    page = client.get("/", follow_redirects=False)
    if me.status_code == 200:
        assert page.status_code == 200
        return True
    assert me.status_code == 401
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    return False


def _staff_id(engine: Engine, username: str) -> uuid.UUID:
    with Session(engine) as s:
        return s.exec(select(StaffUser).where(StaffUser.username == username)).one().id


def test_logout_revokes_the_session_and_the_old_cookie_is_refused(
    client: TestClient, engine: Engine
) -> None:
    csrf = login(client, "nurse-a")
    cookie = _session_cookie(client)
    assert _logged_in(client)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # a copy of the cookie taken before the logout (a shared PC, a stolen cookie)
    _with_cookie(client, cookie)
    assert not _logged_in(client)
    with Session(engine) as s:
        logout = s.exec(select(AuditEvent).where(AuditEvent.action == "auth.logout")).one()
    assert logout.actor_username == "nurse-a"


def test_logging_out_one_browser_keeps_the_other_logged_in(client: TestClient) -> None:
    login(client, "nurse-a")
    first = _session_cookie(client)
    client.cookies.clear()
    csrf = login(client, "nurse-a")
    second = _session_cookie(client)
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    _with_cookie(client, second)
    assert not _logged_in(client)
    _with_cookie(client, first)
    assert _logged_in(client)


def test_deactivating_a_staff_member_ends_all_her_sessions(
    client: TestClient, engine: Engine, headers: Headers
) -> None:
    cookies = []
    for _ in range(2):
        client.cookies.clear()
        login(client, "nurse-a")
        cookies.append(_session_cookie(client))
    nurse = _staff_id(engine, "nurse-a")
    admin = headers("admin")
    off = client.patch(f"/api/v1/staff/{nurse}", json={"active": False}, headers=admin)
    assert off.status_code == 200, off.text
    # reactivated: she logs in again, but the sessions that were open stay ended
    on = client.patch(f"/api/v1/staff/{nurse}", json={"active": True}, headers=admin)
    assert on.status_code == 200
    for cookie in cookies:
        _with_cookie(client, cookie)
        assert not _logged_in(client)
    client.cookies.clear()
    login(client, "nurse-a")
    assert _logged_in(client)


def test_deactivation_from_the_admin_page_ends_the_sessions(
    client: TestClient, engine: Engine
) -> None:
    login(client, "nurse-a")
    nurse_cookie = _session_cookie(client)
    client.cookies.clear()
    csrf = login(client, "admin")
    nurse = _staff_id(engine, "nurse-a")
    done = client.post(
        f"/ui/staff/{nurse}/status",
        data={"csrf_token": csrf, "change": "deactivate", "confirm": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "error" not in done.headers["location"]
    _with_cookie(client, nurse_cookie)
    assert not _logged_in(client)


def test_a_new_password_set_by_an_administrator_ends_the_old_sessions(
    client: TestClient, engine: Engine, headers: Headers
) -> None:
    login(client, "nurse-a")
    cookie = _session_cookie(client)
    nurse = _staff_id(engine, "nurse-a")
    changed = client.patch(
        f"/api/v1/staff/{nurse}",
        json={"password": "a new long passphrase"},
        headers=headers("admin"),
    )
    assert changed.status_code == 200
    _with_cookie(client, cookie)
    assert not _logged_in(client)
    client.cookies.clear()
    login(client, "nurse-a", password="a new long passphrase")
    assert _logged_in(client)


def test_a_session_ends_after_its_lifetime(client: TestClient, clock: FrozenClock) -> None:
    login(client, "nurse-a")
    clock.advance(timedelta(hours=9, minutes=59))
    assert _logged_in(client)
    clock.advance(timedelta(minutes=2))
    assert not _logged_in(client)


def test_the_table_holds_no_usable_token(client: TestClient, engine: Engine) -> None:
    login(client, "nurse-a")
    cookie = _session_cookie(client)
    with Session(engine) as s:
        rows = s.exec(select(StaffSession)).all()
    assert len(rows) == 1
    assert rows[0].id != cookie
    # someone with a copy of the table cannot turn a row into a session
    _with_cookie(client, rows[0].id)
    assert not _logged_in(client)
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].id)


def test_an_old_style_signed_cookie_is_refused(client: TestClient) -> None:
    _with_cookie(client, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    assert not _logged_in(client)
