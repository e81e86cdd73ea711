"""A citizen's records: readings (and marking one invalid), questionnaire answers, alert
history and notes. Every read is audited in the request's unit of work. Thin: the work is in
``commands.py`` and ``queries.py``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pust.db.tables import Citizen, Reading
from services.api.alerts.models import AlertPublic
from services.api.auth.current import CurrentStaff
from services.api.citizens import commands, queries
from services.api.citizens.models import (
    NoteCreate,
    NotePublic,
    QuestionnaireResponsePublic,
    ReadingInvalidate,
    ReadingPublic,
)
from services.api.deps import ClockDep
from services.api.ids import BigIdPath
from services.api.in_scope import citizen_read, reading_read
from services.api.pagination import Page, PageDep
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1", tags=["citizen records"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


@router.get(
    "/citizens/{citizen_id}/readings",
    response_model=Page[ReadingPublic],
    summary="A citizen's readings, newest first",
    responses=_READ,
)
def list_readings(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.readings.read"))],
    uow: UnitOfWorkDep,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[ReadingPublic]:
    return queries.readings(
        uow.session, citizen_id=citizen.id, type_=type, since=since, until=until, page=page
    )


@router.get(
    "/readings/{reading_id}", response_model=ReadingPublic, summary="One reading", responses=_READ
)
def read_reading(
    *, reading: Annotated[Reading, Depends(reading_read("reading.read"))], uow: UnitOfWorkDep
) -> ReadingPublic:
    return queries.reading(uow.session, reading)


@router.post(
    "/readings/{reading_id}/invalidate",
    response_model=ReadingPublic,
    summary="Mark a reading invalid with a reason (it is never deleted)",
    responses=_ACT,
)
def invalidate_reading(
    *,
    reading_id: BigIdPath,
    body: ReadingInvalidate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> ReadingPublic:
    reading = commands.invalidate_reading(
        uow, actor=principal, reading_id=reading_id, command=body, now=clock.now()
    )
    return queries.reading(uow.session, reading)


@router.get(
    "/citizens/{citizen_id}/questionnaire-responses",
    response_model=Page[QuestionnaireResponsePublic],
    summary="A citizen's questionnaire answers, newest first",
    responses=_READ,
)
def list_responses(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.responses.read"))],
    uow: UnitOfWorkDep,
    page: PageDep,
) -> Page[QuestionnaireResponsePublic]:
    return queries.responses(uow.session, citizen.id, page)


@router.get(
    "/citizens/{citizen_id}/alerts",
    response_model=Page[AlertPublic],
    summary="A citizen's alerts (open and past), newest first",
    responses=_READ,
)
def list_citizen_alerts(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.alerts.read"))],
    uow: UnitOfWorkDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved)$")] = None,
) -> Page[AlertPublic]:
    return queries.alerts(uow.session, citizen.id, status, page)


@router.get(
    "/citizens/{citizen_id}/notes",
    response_model=Page[NotePublic],
    summary="Notes about a citizen, newest first",
    responses=_READ,
)
def list_notes(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.notes.read"))],
    uow: UnitOfWorkDep,
    page: PageDep,
) -> Page[NotePublic]:
    return queries.notes(uow.session, citizen.id, page)


@router.post(
    "/citizens/{citizen_id}/notes",
    response_model=NotePublic,
    status_code=201,
    summary="Write a note about a citizen",
    responses=_ACT,
)
def create_note(
    *,
    citizen_id: uuid.UUID,
    body: NoteCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> NotePublic:
    note = commands.write_note(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
    return NotePublic.model_validate(note, from_attributes=True)


@router.get(
    "/citizens/{citizen_id}/notes/{note_id}",
    response_model=NotePublic,
    summary="One note",
    responses=_READ,
)
def read_note(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("note.read", resource=("note", "note_id")))],
    note_id: uuid.UUID,
    uow: UnitOfWorkDep,
) -> NotePublic:
    return queries.note(uow.session, citizen, note_id)
