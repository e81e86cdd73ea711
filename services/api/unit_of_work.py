"""The unit of work: one transaction per request, committed when the route returns and rolled
back when it raises. Use cases reach the database only through its repositories, so their
unit tests run on the fakes in ``tests/unit/api/fakes.py``; read models (``queries.py``) use
the session directly and are tested against a database.

The commit happens in the dependency's exit, after the route has built its answer and before
the answer is sent (``Depends(scope="function")``): an audit event that cannot be written
fails the request. Form actions that turn an error into a redirect roll back first
(:func:`services.api.web.actions.form_action`), so nothing half-done is committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Protocol

import anyio
from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from pust.db.device_credentials import PasswordSeal
from services.api.admin.repository import (
    SqlStaffRepository,
    SqlTeamRepository,
    StaffRepository,
    TeamRepository,
)
from services.api.alerts.repository import AlertRepository, SqlAlertRepository
from services.api.audit.trail import AuditTrail, SqlAuditTrail
from services.api.citizens.repository import (
    CitizenRecords,
    CitizenRepository,
    SqlCitizenRecords,
    SqlCitizenRepository,
)
from services.api.deps import SessionDep, SettingsDep
from services.api.enrolment.repository import EnrolmentRepository, SqlEnrolmentRepository
from services.api.tablets import SqlTabletOutbox, TabletOutbox


class UnitOfWork(Protocol):
    """What a use case may touch. The fake has the same attributes."""

    audit: AuditTrail
    alerts: AlertRepository
    citizens: CitizenRepository
    enrolment: EnrolmentRepository
    records: CitizenRecords
    tablets: TabletOutbox
    teams: TeamRepository
    staff: StaffRepository

    def flush(self) -> None:
        """Make pending rows visible to the queries that follow (ids, constraints)."""

    def rollback(self) -> None: ...


class SqlUnitOfWork:
    def __init__(self, session: Session, *, topic_root: str, seal: PasswordSeal) -> None:
        self.session = session
        self.audit: AuditTrail = SqlAuditTrail(session)
        self.alerts: AlertRepository = SqlAlertRepository(session)
        self.citizens: CitizenRepository = SqlCitizenRepository(session)
        self.enrolment: EnrolmentRepository = SqlEnrolmentRepository(session, seal=seal)
        self.records: CitizenRecords = SqlCitizenRecords(session)
        self.tablets: TabletOutbox = SqlTabletOutbox(session, topic_root=topic_root)
        self.teams: TeamRepository = SqlTeamRepository(session)
        self.staff: StaffRepository = SqlStaffRepository(session)

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


@lru_cache(maxsize=4)
def _seal(secret_key: str) -> PasswordSeal:
    """The device-password cipher of a secret key (its key derivation once, not per
    request)."""
    return PasswordSeal(secret_key)


async def get_unit_of_work(
    session: SessionDep, settings: SettingsDep
) -> AsyncIterator[SqlUnitOfWork]:
    """Built on the event loop (nothing to wait for); the commit, or the rollback when the
    route raised, is sent to the thread pool."""
    uow = SqlUnitOfWork(
        session,
        topic_root=settings.topic_root,
        seal=_seal(settings.secret_key.get_secret_value()),
    )
    try:
        yield uow
    except BaseException:
        with anyio.CancelScope(shield=True):  # rolled back even when the request is cancelled
            await run_in_threadpool(uow.rollback)
        raise
    if session.in_transaction():  # a route that committed itself left nothing to send
        await run_in_threadpool(uow.commit)


UnitOfWorkDep = Annotated[SqlUnitOfWork, Depends(get_unit_of_work, scope="function")]


async def get_unit_of_work_session(uow: UnitOfWorkDep) -> Session:
    """The unit of work's session, for the routes not (yet) written as use cases over
    repositories: committed when the route returns, rolled back when it raises, like every
    use case, so that such a route writes no ``commit()`` of its own."""
    return uow.session


WorkSessionDep = Annotated[Session, Depends(get_unit_of_work_session)]
