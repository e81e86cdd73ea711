"""Refused and failed requests of a known caller are audited too (a BOLA probe leaves a
trace): written in a transaction of its own, since the request's own was rolled back."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from pust.db.tables import AuditEvent
from services.api.auth.principal import Principal

_log = logging.getLogger("pust.api.audit")


def _outcome(status: int) -> str:
    return "denied" if status in (401, 403, 404) else "failed"


def _write(engine: Engine, event: AuditEvent) -> None:
    with Session(engine) as session:
        session.add(event)
        session.commit()


async def audit_refusal(request: Request, status: int) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    params = request.path_params
    event = AuditEvent(
        at=request.app.state.clock.now(),
        actor_id=principal.staff_id,
        actor_username=principal.username,
        actor_role=principal.role.value,
        action=f"{request.method} {path}"[:64],
        resource_type="request",
        resource_id=",".join(f"{k}={v}" for k, v in sorted(params.items()))[:200] or None,
        outcome=_outcome(status),
    )
    try:
        await run_in_threadpool(_write, request.app.state.engine, event)
    except Exception as exc:  # the refusal is answered either way; the gap is logged
        _log.error("audit_refusal_failed type=%s", type(exc).__name__)
