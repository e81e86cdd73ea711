"""QuestionnaireResponse, ClinicalImpression (triage results) and Task (alerts): read and search."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import false, or_
from sqlmodel import col, select

from pust.db.tables import Alert, QuestionnaireResponse, Reading, TriageResult
from pust.fhir.patient import patient_reference
from pust.fhir.questionnaire_response import build_questionnaire_response, local_author
from pust.fhir.triage import PRIORITY, build_clinical_impression, build_task
from services.api.fhir.deps import (
    AskDep,
    Count,
    DateParam,
    LastUpdated,
    Offset,
    PatientParam,
    TokenParam,
)
from services.api.fhir.params import parse_dates, parse_patient, parse_tokens
from services.api.fhir.queries import date_filter, observation_id_for, triage_for_alerts, visible
from services.api.fhir.responses import FhirResponse
from services.api.fhir.search import (
    Ask,
    answer_read,
    answer_rows,
    id_filter,
    not_found,
    regional_contexts,
    row_id,
    visible_citizen,
)

_STATUS = {"requested": ["open"], "completed": ["acknowledged", "resolved"]}
_SEVERITY = {priority: severity for severity, priority in PRIORITY.items()}


def register(router: APIRouter) -> None:
    router.add_api_route("/QuestionnaireResponse", search_responses, methods=["GET"])
    router.add_api_route("/QuestionnaireResponse/{resource_id}", read_response, methods=["GET"])
    router.add_api_route("/ClinicalImpression", search_impressions, methods=["GET"])
    router.add_api_route("/ClinicalImpression/{resource_id}", read_impression, methods=["GET"])
    router.add_api_route("/Task", search_tasks, methods=["GET"])
    router.add_api_route("/Task/{resource_id}", read_task, methods=["GET"])


def _patient_filter(ask: Ask, statement: Any, column: Any) -> Any:
    for name in ("patient", "subject"):
        for raw in ask.values(name):
            statement = statement.where(column == parse_patient(raw, name))
    return statement


# --- QuestionnaireResponse ------------------------------------------------------------------


def _response(response: QuestionnaireResponse) -> dict[str, Any]:
    return build_questionnaire_response(
        response,
        subject=patient_reference(response.citizen_id),
        resource_id=str(response.id),
        author=local_author(response),
    )


def search_responses(
    ask: AskDep,
    *,
    patient: PatientParam = None,
    authored: DateParam = None,
    _count: Count = None,
    _offset: Offset = None,
    last_updated: LastUpdated = None,
) -> FhirResponse:
    ask.check_params("QuestionnaireResponse")
    model = QuestionnaireResponse
    statement = select(model).where(
        visible(col(model.citizen_id), ask.teams), *id_filter(ask, col(model.id), row_id)
    )
    statement = _patient_filter(ask, statement, col(model.citizen_id))
    statement = statement.where(
        *date_filter(col(model.answered_at), parse_dates(ask.values("authored"), "authored")),
        *date_filter(
            col(model.received_at), parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
        ),
    )
    return answer_rows(
        ask,
        statement,
        col(model.id),
        resource_type="QuestionnaireResponse",
        resources=lambda rows: [_response(r) for r in rows],
    )


def read_response(ask: AskDep, resource_id: str) -> FhirResponse:
    response = ask.session.get(QuestionnaireResponse, rid) if (rid := row_id(resource_id)) else None
    citizen = visible_citizen(ask, response.citizen_id) if response else None
    if response is None or citizen is None:
        raise not_found("QuestionnaireResponse")
    return answer_read(ask, _response(response), citizen=citizen)


# --- ClinicalImpression ---------------------------------------------------------------------


def _impressions(ask: Ask, results: list[TriageResult]) -> list[dict[str, Any]]:
    regional = regional_contexts(ask.session, [r.citizen_id for r in results])
    out = []
    for result in results:
        resource = build_clinical_impression(result, regional=regional.get(result.citizen_id))
        if result.reading_id is not None:
            reading = ask.session.get(Reading, result.reading_id)
            shown = observation_id_for(ask.session, reading) if reading else None
            if shown is not None and shown != result.reading_id:
                # a diastolic's triage points at the blood pressure Observation it is part of
                resource["investigation"][0]["item"] = [{"reference": f"Observation/{shown}"}]
        out.append(resource)
    return out


def search_impressions(
    ask: AskDep,
    *,
    patient: PatientParam = None,
    date: DateParam = None,
    _count: Count = None,
    _offset: Offset = None,
    last_updated: LastUpdated = None,
) -> FhirResponse:
    ask.check_params("ClinicalImpression")
    statement = select(TriageResult).where(
        visible(col(TriageResult.citizen_id), ask.teams),
        *id_filter(ask, col(TriageResult.id), row_id),
    )
    statement = _patient_filter(ask, statement, col(TriageResult.citizen_id))
    bounds = parse_dates(ask.values("date"), "date")
    bounds += parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
    statement = statement.where(*date_filter(col(TriageResult.evaluated_at), bounds))
    return answer_rows(
        ask,
        statement,
        col(TriageResult.id),
        resource_type="ClinicalImpression",
        resources=lambda rows: _impressions(ask, rows),
    )


def read_impression(ask: AskDep, resource_id: str) -> FhirResponse:
    result = ask.session.get(TriageResult, rid) if (rid := row_id(resource_id)) else None
    citizen = visible_citizen(ask, result.citizen_id) if result else None
    if result is None or citizen is None:
        raise not_found("ClinicalImpression")
    (resource,) = _impressions(ask, [result])
    return answer_read(ask, resource, citizen=citizen)


# --- Task -------------------------------------------------------------------------------------


def _tasks(ask: Ask, alerts: list[Alert]) -> list[dict[str, Any]]:
    regional = regional_contexts(ask.session, [a.citizen_id for a in alerts])
    triage = triage_for_alerts(ask.session, alerts)
    return [
        build_task(a, triage_result_id=triage.get(a.id), regional=regional.get(a.citizen_id))
        for a in alerts
    ]


def _token_values(ask: Ask, name: str, mapping: dict[str, Any]) -> list[list[str]]:
    """Per occurrence of the parameter, the row values its tokens stand for."""
    out = []
    for raw in ask.values(name):
        values: list[str] = []
        for token in parse_tokens(raw, name):
            found = mapping.get(token.code)
            values += found if isinstance(found, list) else ([found] if found else [])
        out.append(values)
    return out


def _maybe_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def search_tasks(
    ask: AskDep,
    *,
    patient: PatientParam = None,
    status: TokenParam = None,
    priority: TokenParam = None,
    authored_on: DateParam = None,
    _count: Count = None,
    _offset: Offset = None,
    last_updated: LastUpdated = None,
) -> FhirResponse:
    ask.check_params("Task")
    statement = select(Alert).where(
        col(Alert.care_team_id).in_(list(ask.teams)), *id_filter(ask, col(Alert.id), _maybe_uuid)
    )
    statement = _patient_filter(ask, statement, col(Alert.citizen_id))
    for values in _token_values(ask, "status", _STATUS):
        statement = statement.where(col(Alert.status).in_(values) if values else false())
    for values in _token_values(ask, "priority", _SEVERITY):
        if "red" in values:  # technical alerts without a colour are shown as asap
            statement = statement.where(
                or_(col(Alert.severity).in_(values), col(Alert.severity).not_in(list(PRIORITY)))
            )
        else:
            statement = statement.where(col(Alert.severity).in_(values) if values else false())
    statement = statement.where(
        *date_filter(
            col(Alert.first_seen_at), parse_dates(ask.values("authored-on"), "authored-on")
        ),
        *date_filter(
            col(Alert.updated_at), parse_dates(ask.values("_lastUpdated"), "_lastUpdated")
        ),
    )
    return answer_rows(
        ask,
        statement,
        col(Alert.id),
        resource_type="Task",
        resources=lambda rows: _tasks(ask, rows),
    )


def read_task(ask: AskDep, resource_id: str) -> FhirResponse:
    try:
        alert = ask.session.get(Alert, uuid.UUID(resource_id))
    except ValueError:
        alert = None
    citizen = visible_citizen(ask, alert.citizen_id) if alert else None
    if alert is None or citizen is None or alert.care_team_id not in ask.teams:
        raise not_found("Task")
    (resource,) = _tasks(ask, [alert])
    return answer_read(ask, resource, citizen=citizen)
