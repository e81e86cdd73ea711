"""If the audit write fails, the read fails: no citizen data leaves without its audit event."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.api.conftest import problem
from tests.integration.api.world import World

Headers = Callable[[str], dict[str, str]]


def _break_audit(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_event "
                    "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'audit store unavailable'; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_event "
                    "FOR EACH ROW EXECUTE FUNCTION audit_broken()"
                )
            )


@pytest.mark.expect_error_logs("unhandled_error")  # the audit write fails
def test_reads_fail_when_the_audit_cannot_be_written(
    app: FastAPI, headers: Headers, engine: Engine, world: World
) -> None:
    auth = headers("nurse-a")  # log in before the audit store breaks
    _break_audit(engine)
    client = TestClient(app, raise_server_exceptions=False)
    for url in (
        f"/api/v1/citizens/{world.a.citizen_ids[0]}",
        "/api/v1/worklist",
        f"/api/v1/citizens/{world.a.citizen_ids[0]}/readings",
        f"/fhir/r4/Patient/{world.a.citizen_ids[0]}",  # FHIR commits with the unit of work too
    ):
        response = client.get(url, headers=auth)
        assert response.status_code == 500, url
        assert problem(response)["status"] == 500
        assert "Anna" not in response.text
        assert "Andersen" not in response.text
