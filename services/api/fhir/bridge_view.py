"""``GET /fhir/r4/$bridge-status``: the push bridge's backlog and failures, for administrators.

A system-level operation answering a ``Parameters`` resource (ids, counts, ages and HTTP
status codes only; never a payload). The same numbers are exported by the bridge as
Prometheus metrics (``pust_bridge_backlog{status}``, ``pust_bridge_oldest_pending_seconds``,
``pust_bridge_not_sendable{type}``: readings of a type with no FUT code, never sent).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pust.fhir.bridge_status import FailedSubmission, bridge_status
from pust.fhir.time import instant
from services.api.audit.recorder import record
from services.api.fhir.deps import AskDep
from services.api.fhir.responses import FhirResponse
from services.api.problems import ForbiddenError

STATUSES = ("pending", "sent", "merged", "skipped", "dead")


def register(router: APIRouter) -> None:
    router.add_api_route("/$bridge-status", read_bridge_status, methods=["GET"])


def _failed(name: str, failed: FailedSubmission) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "outboxId", "valueInteger": failed.outbox_id},
        {"name": "attempts", "valueInteger": failed.attempts},
        {"name": "createdAt", "valueDateTime": instant(failed.created_at)},
    ]
    if failed.dedup_key:
        parts.append({"name": "key", "valueString": failed.dedup_key})
    if failed.last_error:
        parts.append({"name": "lastError", "valueString": failed.last_error})
    if failed.next_attempt_at is not None:
        parts.append({"name": "nextAttemptAt", "valueDateTime": instant(failed.next_attempt_at)})
    return {"name": name, "part": parts}


def read_bridge_status(ask: AskDep) -> FhirResponse:
    if not ask.principal.is_administrator:
        raise ForbiddenError("Only an administrator may see the bridge status.")
    status = bridge_status(ask.session)
    now = ask.clock.now()
    parameters: list[dict[str, Any]] = [
        {"name": status_name, "valueInteger": status.counts.get(status_name, 0)}
        for status_name in STATUSES
    ]
    if status.oldest_pending_at is not None:
        parameters.append(
            {"name": "oldestPendingAt", "valueDateTime": instant(status.oldest_pending_at)}
        )
        age = max(0, int((now - status.oldest_pending_at).total_seconds()))
        parameters.append({"name": "oldestPendingSeconds", "valueInteger": age})
    parameters += [
        {
            "name": "notSendable",
            "part": [
                {"name": "type", "valueString": type_},
                {"name": "count", "valueInteger": count},
                {"name": "reason", "valueString": "no FUT code (observation-codes)"},
            ],
        }
        for type_, count in sorted(status.not_sendable.items())
    ]
    parameters += [_failed("failingSubmission", f) for f in status.failing]
    parameters += [_failed("deadSubmission", f) for f in status.dead]
    record(
        session=ask.session,
        principal=ask.principal,
        now=now,
        action="fhir.bridge_status",
        resource_type="bridge",
        care_team_id=ask.principal.team_for_audit(),
    )
    return FhirResponse({"resourceType": "Parameters", "parameter": parameters})
