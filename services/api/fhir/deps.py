"""The ``Ask`` dependency and the documented query parameters shared by the endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.api.auth.current import CurrentStaff
from services.api.deps import ClockDep
from services.api.fhir.search import Ask
from services.api.unit_of_work import WorkSessionDep


def get_ask(
    request: Request, session: WorkSessionDep, principal: CurrentStaff, clock: ClockDep
) -> Ask:
    """The request's FHIR context; its session is the unit of work's (committed with the
    audit events when the endpoint returns, so no endpoint commits by hand)."""
    return Ask(request=request, session=session, principal=principal, clock=clock)


AskDep = Annotated[Ask, Depends(get_ask)]
# Declared so that the OpenAPI document (and schemathesis) knows them; values are read from
# the raw query, which keeps repeated parameters (date=ge..&date=le..).
Count = Annotated[str | None, Query(alias="_count", description="page size (max 500)")]
Offset = Annotated[str | None, Query(alias="_offset", description="paging offset")]
LastUpdated = Annotated[
    list[str] | None, Query(alias="_lastUpdated", description="date with prefix eq|gt|lt|ge|le")
]
PatientParam = Annotated[str | None, Query(description="Patient/<id>")]
DateParam = Annotated[list[str] | None, Query(description="date with prefix eq|gt|lt|ge|le")]
TokenParam = Annotated[str | None, Query(description="system|code, comma-separated")]
IdParam = Annotated[str | None, Query(alias="_id", description="logical ids, comma-separated")]
AuthoredOn = Annotated[
    list[str] | None, Query(alias="authored-on", description="date with prefix eq|gt|lt|ge|le")
]
