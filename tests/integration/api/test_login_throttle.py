"""Login throttling through the real app, with the app's injected clock (no sleeps):
per source address, per account and per (account, address); a stranger's failures never
keep the nurse out at her usual place, and nothing is locked for good."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent, StaffUser
from pust.domain.clock import FrozenClock
from tests.integration.api.conftest import problem
from tests.integration.api.world import PASSWORD

Headers = Callable[[str], dict[str, str]]

NURSE_PLACE = "192.0.2.10"  # the clinic's address, where nurse-a logs in every day
SPRAYER = "198.51.100.7"


def from_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000))


def token_status(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return response.status_code


def test_thirty_accounts_from_one_address_are_throttled_after_ten(
    app: FastAPI, clock: FrozenClock, engine: Engine
) -> None:
    sprayer = from_address(app, SPRAYER)
    answers = [
        sprayer.post("/api/v1/auth/token", data={"username": f"user-{n}", "password": "Sommer2026"})
        for n in range(30)
    ]
    assert [a.status_code for a in answers] == [401] * 10 + [429] * 20
    assert {a.headers["retry-after"] for a in answers[10:]} == {"1"}
    assert problem(answers[10])["title"] == "Too many attempts"
    # an existing account with its right password is refused as well: no oracle while waiting
    assert token_status(sprayer, "nurse-a", PASSWORD) == 429
    # the delay doubles with each further failure
    clock.advance(timedelta(seconds=1))
    assert token_status(sprayer, "user-30", "Sommer2026") == 401
    again = sprayer.post("/api/v1/auth/token", data={"username": "user-31", "password": "x"})
    assert again.status_code == 429 and again.headers["retry-after"] == "2"
    # another address is not slowed
    assert token_status(from_address(app, NURSE_PLACE), "nurse-a", PASSWORD) == 200
    with Session(engine) as s:
        outcomes = s.exec(select(AuditEvent.outcome).where(AuditEvent.action == "auth.login"))
        counted = list(outcomes)
    assert counted.count("throttled") == 22


def test_forwarded_addresses_from_an_untrusted_peer_do_not_escape_the_throttle(
    app: FastAPI,
) -> None:
    sprayer = from_address(app, SPRAYER)
    statuses = [
        sprayer.post(
            "/api/v1/auth/token",
            data={"username": f"user-{n}", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        ).status_code
        for n in range(12)
    ]
    assert statuses == [401] * 10 + [429] * 2


def test_behind_the_trusted_proxy_each_client_address_is_counted_apart(app: FastAPI) -> None:
    proxy = from_address(app, "127.0.0.1")

    def via_proxy(client_address: str, username: str, password: str) -> int:
        return proxy.post(
            "/api/v1/auth/token",
            data={"username": username, "password": password},
            headers={"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https"},
        ).status_code

    assert [via_proxy(SPRAYER, f"user-{n}", "x") for n in range(11)] == [401] * 10 + [429]
    # the proxy itself is not blocked: the nurse behind it logs in
    assert via_proxy(NURSE_PLACE, "nurse-a", PASSWORD) == 200


def test_a_strangers_failures_do_not_keep_the_nurse_out_at_her_usual_place(
    app: FastAPI, clock: FrozenClock
) -> None:
    nurse = from_address(app, NURSE_PLACE)
    assert token_status(nurse, "nurse-a", PASSWORD) == 200  # she worked here yesterday
    clock.advance(timedelta(hours=20))
    # someone tries her account from 20 addresses, 3 guesses each (under each address's
    # limit): after 10 failures the account is slowed for every unfamiliar address
    statuses = []
    for n in range(20):
        stranger = from_address(app, f"203.0.113.{n}")
        for guess in ("Sommer2026", "Kode1234", "nurse-a"):
            statuses.append(token_status(stranger, "nurse-a", guess))
    assert statuses == [401] * 10 + [429] * 50
    # the account is slowed for unfamiliar addresses ...
    newcomer = from_address(app, "203.0.113.200")
    slowed = newcomer.post("/api/v1/auth/token", data={"username": "nurse-a", "password": PASSWORD})
    assert slowed.status_code == 429
    # ... but the nurse, at her usual place, logs in at once with her password
    assert token_status(nurse, "nurse-a", PASSWORD) == 200
    # and the newcomer is only slowed, not locked out: after the wait the password works
    clock.advance(timedelta(seconds=int(slowed.headers["retry-after"])))
    assert token_status(newcomer, "nurse-a", PASSWORD) == 200


def test_a_stranger_hammering_one_account_from_one_address_is_slowed_ever_more(
    app: FastAPI, clock: FrozenClock
) -> None:
    nurse = from_address(app, NURSE_PLACE)
    stranger = from_address(app, SPRAYER)
    waits: list[int] = []
    while len(waits) < 7:
        answer = stranger.post("/api/v1/auth/token", data={"username": "nurse-a", "password": "x"})
        if answer.status_code == 429:
            waits.append(int(answer.headers["retry-after"]))
            clock.advance(timedelta(seconds=waits[-1]))
        else:
            assert answer.status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 64]
    # meanwhile the nurse logs in from her place, even the first time from there: the
    # stranger's address and the account were slowed for seconds, the pair for a minute
    assert token_status(nurse, "nurse-a", PASSWORD) == 200


def test_the_login_page_says_how_long_to_wait_in_danish(app: FastAPI) -> None:
    browser = from_address(app, SPRAYER)
    answer = None
    for n in range(11):
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        answer = browser.post(
            "/login",
            data={"username": f"user-{n}", "password": "x", "csrf_token": token.group(1)},
        )
    assert answer is not None
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    assert "For mange forkerte forsøg. Prøv igen om 1 sekunder." in answer.text


def test_an_administrator_sees_the_slowed_account_and_unlocks_it(
    app: FastAPI, engine: Engine, headers: Headers
) -> None:
    for n in range(11):
        stranger = from_address(app, f"203.0.113.{n}")
        token_status(stranger, "nurse-a", "Sommer2026")
    with Session(engine) as s:
        nurse_id: uuid.UUID = (
            s.exec(select(StaffUser).where(StaffUser.username == "nurse-a")).one().id
        )
    admin = headers("admin")
    listed = from_address(app, NURSE_PLACE).get("/api/v1/staff?limit=100", headers=admin)
    assert [
        r["locked_until"] is not None for r in listed.json()["items"] if r["id"] == str(nurse_id)
    ] == [True]
    newcomer = from_address(app, "203.0.113.200")
    assert token_status(newcomer, "nurse-a", PASSWORD) == 429
    unlocked = newcomer.patch(f"/api/v1/staff/{nurse_id}", json={"unlock": True}, headers=admin)
    assert unlocked.status_code == 200
    assert unlocked.json()["locked_until"] is None
    assert token_status(newcomer, "nurse-a", PASSWORD) == 200
