"""Search queries of the FHIR read API. Every query is scoped to the caller's care teams
through the citizen; a row of another team is never selected (not filtered afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    Citizen,
    LimitSet,
    Peripheral,
    QuestionnaireResponse,
    Reading,
    TriageResult,
)
from pust.domain.limits import InvalidRuleSetError, RuleSet, parse_rule_set
from pust.domain.measurement_types import MeasurementType
from pust.fhir import codes
from pust.fhir.observation import Measurement, ranges_from_rules
from services.api.fhir.params import DateBound, SearchError, Token

SYSTOLIC = MeasurementType.BP_SYSTOLIC.value
DIASTOLIC = MeasurementType.BP_DIASTOLIC.value


def visible(citizen_column: Any, team_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """The row's citizen belongs to one of the caller's teams."""
    if not team_ids:
        return false()
    clause: ColumnElement[bool] = citizen_column.in_(
        select(Citizen.id).where(col(Citizen.care_team_id).in_(list(team_ids)))
    )
    return clause


def date_filter(column: Any, bounds: Sequence[DateBound]) -> list[ColumnElement[bool]]:
    clauses = []
    for bound in bounds:
        if bound.start is not None:
            clauses.append(column >= bound.start)
        if bound.end is not None:
            clauses.append(column < bound.end)
    return clauses


def _partner_exists(reading: Any, other_type: str) -> ColumnElement[bool]:
    partner = aliased(Reading)
    return exists().where(
        partner.citizen_id == reading.citizen_id,
        partner.device_id == reading.device_id,
        partner.measured_at == reading.measured_at,
        col(partner.type) == other_type,
    )


def observation_filters(tokens: Sequence[Token]) -> ColumnElement[bool]:
    """Observation.code: each token names a type (national, LOINC or MDC code) or the blood
    pressure panel. A paired systolic *is* the panel Observation; a lone half keeps its code."""
    options: list[ColumnElement[bool]] = []
    for token in tokens:
        system = token.system or ""
        if codes.is_panel_code(system, token.code):
            options.append(and_(col(Reading.type) == SYSTOLIC, _partner_exists(Reading, DIASTOLIC)))
            continue
        type_ = codes.type_for_code(system, token.code)
        if type_ is None:
            continue
        if type_.value in (SYSTOLIC, DIASTOLIC):
            other = DIASTOLIC if type_.value == SYSTOLIC else SYSTOLIC
            options.append(and_(col(Reading.type) == type_.value, ~_partner_exists(Reading, other)))
        else:
            options.append(col(Reading.type) == type_.value)
    return or_(*options) if options else false()


def not_folded() -> ColumnElement[bool]:
    """A diastolic reading with a systolic partner is inside the partner's Observation."""
    return ~and_(col(Reading.type) == DIASTOLIC, _partner_exists(Reading, SYSTOLIC))


def observation_last_updated() -> Any:
    return func.coalesce(col(Reading.invalidated_at), col(Reading.received_at))


def measurements(session: Session, readings: Sequence[Reading]) -> list[Measurement]:
    """Each reading as a Measurement: its blood pressure partner, peripheral and the reference
    ranges of the limit set its triage used."""
    if not readings:
        return []
    partners = _partners(session, [r for r in readings if r.type == SYSTOLIC])
    groups = [(r, partners[r.id]) if r.id in partners else (r,) for r in readings]
    every = [x for g in groups for x in g]
    peripheral_ids = {r.peripheral_id for r in every if r.peripheral_id is not None}
    peripherals = {
        p.id: p.system_id
        for p in session.exec(
            select(Peripheral).where(col(Peripheral.id).in_(list(peripheral_ids)))
        ).all()
    }
    reading_ids = [r.id for r in every if r.id is not None]
    triage = {
        t.reading_id: t.limit_set_id
        for t in session.exec(
            select(TriageResult).where(col(TriageResult.reading_id).in_(reading_ids))
        ).all()
    }
    set_ids = {s for s in triage.values() if s is not None}
    rules = {
        s.id: _parsed(s.rules)
        for s in session.exec(select(LimitSet).where(col(LimitSet.id).in_(list(set_ids)))).all()
    }
    out = []
    for group in groups:
        ranges = {}
        for reading in group:
            limit_set = triage.get(reading.id)
            bands = ranges_from_rules(rules.get(limit_set) if limit_set else None, reading.type)
            if bands:
                ranges[reading.type] = bands
        system_id = peripherals.get(group[0].peripheral_id) if group[0].peripheral_id else None
        out.append(Measurement(tuple(group), system_id, ranges))
    return out


def _partners(session: Session, systolics: Sequence[Reading]) -> dict[int | None, Reading]:
    found: dict[int | None, Reading] = {}
    for reading in systolics:
        partner = session.exec(
            select(Reading)
            .where(
                Reading.citizen_id == reading.citizen_id,
                Reading.device_id == reading.device_id,
                Reading.measured_at == reading.measured_at,
                Reading.type == DIASTOLIC,
            )
            .order_by(col(Reading.id))
            .limit(1)
        ).first()
        if partner is not None:
            found[reading.id] = partner
    return found


def observation_id_for(session: Session, reading: Reading) -> int | None:
    """The Observation a reading is shown in: a paired diastolic is inside the systolic's."""
    if reading.type != DIASTOLIC:
        return reading.id
    systolic = session.exec(
        select(Reading.id).where(
            Reading.citizen_id == reading.citizen_id,
            Reading.device_id == reading.device_id,
            Reading.measured_at == reading.measured_at,
            Reading.type == SYSTOLIC,
        )
    ).first()
    return systolic if systolic is not None else reading.id


def triage_for_alerts(session: Session, alerts: Sequence[Alert]) -> dict[uuid.UUID, int]:
    """Alert -> the triage result (ClinicalImpression) of its last reading or response."""
    reading_ids = [a.last_reading_id for a in alerts if a.last_reading_id is not None]
    response_ids = [a.last_response_id for a in alerts if a.last_response_id is not None]
    results = session.exec(
        select(TriageResult).where(
            or_(
                col(TriageResult.reading_id).in_(reading_ids),
                col(TriageResult.questionnaire_response_id).in_(response_ids),
            )
        )
    ).all()
    by_reading = {t.reading_id: t.id for t in results if t.reading_id is not None}
    by_response = {
        t.questionnaire_response_id: t.id for t in results if t.questionnaire_response_id
    }
    out: dict[uuid.UUID, int] = {}
    for alert in alerts:
        found = (by_reading.get(alert.last_reading_id) if alert.last_reading_id else None) or (
            by_response.get(alert.last_response_id) if alert.last_response_id else None
        )
        if found is not None:
            out[alert.id] = found
    return out


def response_rows(session: Session, ids: Sequence[int]) -> list[QuestionnaireResponse]:
    return list(
        session.exec(
            select(QuestionnaireResponse).where(col(QuestionnaireResponse.id).in_(list(ids)))
        ).all()
    )


def unknown_params(params: Collection[str], allowed: Collection[str]) -> list[str]:
    return sorted(set(params) - set(allowed) - {"_count", "_offset", "_format"})


def require_known(params: Collection[str], allowed: Collection[str]) -> None:
    unknown = unknown_params(params, allowed)
    if unknown:
        raise SearchError(f"unsupported search parameter: {unknown[0][:60]}")


def _parsed(document: dict[str, Any]) -> RuleSet | None:
    """The stored rule set, or None when it cannot be read (then no reference range)."""
    try:
        return parse_rule_set(document)
    except InvalidRuleSetError:
        return None
