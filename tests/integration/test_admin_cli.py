"""`pust admin create` on the configured database: the password is asked twice (getpass,
fed by the test), weak ones are refused, an existing username changes nothing, and the
account created logs in to the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.config.settings import Settings
from pust.db.tables import AuditEvent, CareTeam, StaffMembership, StaffUser
from pust_cli.main import main
from services.api.app import create_app
from services.api.settings import ApiSettings

GOOD = "Lang-og-sikker-kode-7"


@pytest.fixture
def configured(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUST_DATABASE_URL", db_url)
    monkeypatch.setenv("PUST_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("PUST_SERVICE_MQTT_PASSWORD", "cli-test-password")


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """``typed("a", "b")``: what the person types at the password prompts; returns the
    prompts shown. A prompt beyond those typed fails the test."""

    def feed(*answers: str) -> list[str]:
        pending = list(answers)
        prompts: list[str] = []

        def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
            prompts.append(prompt)
            assert pending, f"unexpected prompt {prompt!r}"
            return pending.pop(0)

        monkeypatch.setattr("getpass.getpass", fake_getpass)
        return prompts

    return feed


def _accounts(engine: Engine, username: str) -> list[StaffUser]:
    with Session(engine) as s:
        return list(s.exec(select(StaffUser).where(StaffUser.username == username)))


@pytest.fixture
def api(db_url: str, make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    app = create_app(make_settings(db_url=db_url), api_settings=ApiSettings(insecure_http=True))
    with TestClient(app) as client:
        yield client


@pytest.mark.usefixtures("configured")
def test_the_first_administrator_is_created_and_logs_in(
    engine: Engine,
    typed: Callable[..., list[str]],
    api: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompts = typed(GOOD, GOOD)
    code = main(
        ["admin", "create", "--username", "anne", "--role", "administrator",
         "--display-name", "Anne Admin"]
    )  # fmt: skip
    assert code == 0
    assert len(prompts) == 2
    assert "created administrator 'anne'" in capsys.readouterr().out
    token = api.post("/api/v1/auth/token", data={"username": "anne", "password": GOOD})
    assert token.status_code == 200
    me = api.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["role"] == "administrator"
    assert me.json()["display_name"] == "Anne Admin"
    with Session(engine) as s:
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "staff.create")).one()
    assert audit.actor_username.startswith("cli:")
    assert GOOD not in (audit.resource_id or "")


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(
    ("answers", "why"),
    [
        (("kort-kode",), "at least 12 characters"),
        (("Sommer2026!!!!",), "too easy to guess"),
        (("123456789012345",), "too easy to guess"),
        (("anne-er-chefen-2026",), "must not contain the username"),
        (("aaaaaaaaaaaaaaaa",), "5 different characters"),
        ((GOOD, GOOD + "x"), "the passwords differ"),
    ],
)
def test_a_weak_or_mistyped_password_creates_nothing(
    engine: Engine,
    typed: Callable[..., list[str]],
    capsys: pytest.CaptureFixture[str],
    answers: tuple[str, ...],
    why: str,
) -> None:
    typed(*answers)
    assert main(["admin", "create", "--username", "anne", "--role", "administrator"]) == 1
    assert why in capsys.readouterr().err
    assert _accounts(engine, "anne") == []


@pytest.mark.usefixtures("configured")
def test_an_existing_username_is_an_error_that_changes_nothing(
    engine: Engine,
    typed: Callable[..., list[str]],
    api: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typed(GOOD, GOOD)
    assert main(["admin", "create", "--username", "anne", "--role", "administrator"]) == 0
    before = _accounts(engine, "anne")
    prompts = typed()  # no prompt at all: it stops before asking
    assert main(["admin", "create", "--username", "anne", "--role", "nurse"]) == 3
    assert prompts == []
    assert "exists already; nothing was changed" in capsys.readouterr().err
    after = _accounts(engine, "anne")
    assert [(u.id, u.role, u.password_hash) for u in after] == [
        (u.id, u.role, u.password_hash) for u in before
    ]
    assert (
        api.post("/api/v1/auth/token", data={"username": "anne", "password": GOOD}).status_code
        == 200
    )


@pytest.mark.usefixtures("configured")
def test_the_password_is_never_taken_on_the_command_line(typed: Callable[..., list[str]]) -> None:
    typed()
    with pytest.raises(SystemExit) as refused:
        main(["admin", "create", "--username", "anne", "--role", "administrator",
              "--password", GOOD])  # fmt: skip
    assert refused.value.code == 2


@pytest.mark.usefixtures("configured")
def test_teams_are_joined_by_name_and_an_unknown_team_is_refused(
    engine: Engine, typed: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    with Session(engine) as s:
        team = CareTeam(name="Sygeplejeklinikken Nord")
        s.add(team)
        s.commit()
        team_id = team.id
    typed()
    assert main(["admin", "create", "--username", "lise", "--role", "team_lead",
                 "--team", "Sygeplejeklinikken Øst"]) == 1  # fmt: skip
    assert "no care team named 'Sygeplejeklinikken Øst'" in capsys.readouterr().err
    typed(GOOD, GOOD)
    assert main(["admin", "create", "--username", "lise", "--role", "team_lead",
                 "--team", "Sygeplejeklinikken Nord"]) == 0  # fmt: skip
    (lise,) = _accounts(engine, "lise")
    with Session(engine) as s:
        teams = s.exec(
            select(StaffMembership.care_team_id).where(StaffMembership.staff_id == lise.id)
        )
        assert list(teams) == [team_id]
