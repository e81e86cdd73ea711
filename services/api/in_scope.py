"""Dependencies for read routes with an id in the path: load the object of the caller's care
teams (else 404, the same answer as for a missing one) and audit the read, in the request's
unit of work. A route that takes its citizen or alert from here cannot forget either.

(No ``from __future__ import annotations`` here: the dependencies are built in closures, and
FastAPI reads their annotations at definition time.)
"""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from pust.db.tables import Alert, Citizen, Reading
from services.api.auth.current import get_principal
from services.api.auth.principal import Principal, Role
from services.api.deps import ClockDep
from services.api.ids import BigIdPath
from services.api.problems import ForbiddenError
from services.api.scoping import alert_for, citizen_for, reading_for
from services.api.unit_of_work import UnitOfWorkDep

CallerDependency = Callable[..., Any]


def citizen_read(
    action: str,
    *,
    caller: CallerDependency = get_principal,
    roles: frozenset[Role] | None = None,
    refusal: str = "",
    resource: tuple[str, str] | None = None,
) -> Callable[..., Citizen]:
    """The path's ``citizen_id``, in scope, with one audit event ``action`` about it. With
    ``roles``, other roles are refused first (403 ``refusal``). With ``resource`` (a resource
    type and the path parameter naming it), the event names that record of the citizen's."""

    def load(
        request: Request,
        citizen_id: uuid.UUID,
        uow: UnitOfWorkDep,
        clock: ClockDep,
        principal: Annotated[Principal, Depends(caller)],
    ) -> Citizen:
        if roles is not None and principal.role not in roles:
            raise ForbiddenError(refusal)
        citizen = citizen_for(uow.session, principal, citizen_id)
        resource_type, parameter = resource or ("citizen", "citizen_id")
        uow.audit.about_citizen(
            actor=principal,
            citizen=citizen,
            now=clock.now(),
            action=action,
            resource_type=resource_type,
            resource_id=str(request.path_params[parameter]),
        )
        return citizen

    return load


def alert_read(action: str) -> Callable[..., Alert]:
    """The path's ``alert_id``, in scope, with one audit event ``action`` about it."""

    def load(
        alert_id: uuid.UUID,
        uow: UnitOfWorkDep,
        clock: ClockDep,
        principal: Annotated[Principal, Depends(get_principal)],
    ) -> Alert:
        alert = alert_for(uow.session, principal, alert_id)
        uow.audit.record(
            actor=principal,
            now=clock.now(),
            action=action,
            resource_type="alert",
            resource_id=str(alert.id),
            citizen_id=alert.citizen_id,
            care_team_id=alert.care_team_id,
        )
        return alert

    return load


def reading_read(action: str) -> Callable[..., Reading]:
    """The path's ``reading_id``, in scope, with one audit event ``action`` about it."""

    def load(
        reading_id: BigIdPath,
        uow: UnitOfWorkDep,
        clock: ClockDep,
        principal: Annotated[Principal, Depends(get_principal)],
    ) -> Reading:
        reading, citizen = reading_for(uow.session, principal, reading_id)
        uow.audit.about_citizen(
            actor=principal,
            citizen=citizen,
            now=clock.now(),
            action=action,
            resource_type="reading",
            resource_id=str(reading.id),
        )
        return reading

    return load
