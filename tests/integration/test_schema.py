"""The migrations build exactly the tables the code declares, on PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, select

import pust.db.tables  # noqa: F401
from pust.db.engine import session_scope
from pust.db.tables import AuditEvent, CareTeam, Citizen
from pust.domain.cpr import Cpr


def test_migrations_match_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    created = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    with session_scope(engine) as session:
        team = CareTeam(name="Team", created_at=created)
        session.add(team)
    with Session(engine) as session:
        loaded = session.exec(select(CareTeam)).one()
    assert loaded.created_at == created
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as session:
        session.add(CareTeam(name="Naive", created_at=datetime(2026, 1, 1)))


def test_cpr_round_trips_and_stays_masked(engine: Engine) -> None:
    with session_scope(engine) as session:
        team = CareTeam(name="Nord")
        session.add(team)
        session.flush()
        session.add(
            Citizen(care_team_id=team.id, cpr=Cpr("010101-1230"), given_name="A", family_name="B")
        )
    with Session(engine) as session:
        citizen = session.exec(select(Citizen)).one()
    assert citizen.cpr.reveal() == "0101011230"
    assert "0101011230" not in repr(citizen)
    assert "010101" not in f"{citizen.cpr}"


def test_audit_log_is_append_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            AuditEvent(
                at=datetime.now(UTC),
                actor_username="nurse",
                actor_role="nurse",
                citizen_id=uuid.uuid4(),
                action="citizen.read",
                resource_type="citizen",
                outcome="success",
            )
        )
    for statement in ("UPDATE audit_event SET outcome = 'denied'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as session:
        assert session.exec(select(AuditEvent)).one().outcome == "success"
