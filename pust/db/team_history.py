"""A care team's stored history as recordings for the what-if replay (read-only).

Each citizen of the team becomes one recording: the valid readings and questionnaire
responses received in ``[start, end)``, rebuilt as the protocol-v1 messages they came in
(grouped by message id), the citizen's current plan and baselines. The key the replay sees
is derived from the citizen id (never a CPR or a name); the names stay here, for the team
lead's report. Writes nothing: the caller records the audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pust.db.baseline_repository import current_baselines_of
from pust.db.tables import Citizen, LimitSet, Plan, QuestionnaireResponse, Reading
from pust.domain.limits import RuleSet, default_rule_set, parse_rule_set
from pust.domain.plans import InvalidPlanError, MeasurementPlan, default_plan, parse_plan
from pust.evaluation.recording import RecordedMessage, Recording
from pust.evaluation.what_if import CitizenHistory


@dataclass(frozen=True, slots=True)
class HistoryCitizen:
    citizen_id: uuid.UUID
    key: str
    name: str
    personal_limits: bool  # the citizen has limits of its own (a team proposal leaves them)


@dataclass(frozen=True, slots=True)
class TeamHistory:
    start: datetime
    days: int
    team_rules: RuleSet
    citizens: tuple[HistoryCitizen, ...]
    histories: tuple[CitizenHistory, ...]

    def citizen(self, key: str) -> HistoryCitizen:
        return next(c for c in self.citizens if c.key == key)


def citizen_key(citizen_id: uuid.UUID) -> str:
    """A device-id-shaped key for the replay: ``c`` + the citizen id (no personal data)."""
    return f"c{citizen_id.hex}"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _wire(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _message_id(key: str, stored: str) -> str:
    """A protocol message id for the rebuilt message (a stored id need not be a UUID: a
    nurse's manual entry, an imported history)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pust:{key}:{stored}"))


def _latest_by_citizen(rows: Iterable[Any]) -> dict[uuid.UUID, Any]:
    latest: dict[uuid.UUID, Any] = {}
    for row in rows:
        if row.citizen_id is None:
            continue
        if row.citizen_id not in latest or row.version > latest[row.citizen_id].version:
            latest[row.citizen_id] = row
    return latest


def _messages(
    key: str, readings: list[Reading], responses: list[QuestionnaireResponse]
) -> tuple[RecordedMessage, ...]:
    grouped: dict[tuple[str, str], list[Reading]] = {}
    for reading in readings:
        grouped.setdefault((reading.device_id, reading.message_id), []).append(reading)
    messages = []
    for (_device, message_id), rows in grouped.items():
        first = rows[0]
        payload = {
            "message_id": _message_id(key, message_id),
            "sent_at": _wire(first.sent_at),
            "observations": [
                {
                    "type": r.type,
                    "value": r.value,
                    "unit": r.unit,
                    "measured_at": _wire(r.measured_at),
                    "entry": r.entry,
                }
                for r in rows
            ],
        }
        messages.append(RecordedMessage(_utc(first.received_at), key, "measurements", payload))
    for response in responses:
        payload = {
            "message_id": _message_id(key, response.message_id),
            "sent_at": _wire(response.sent_at),
            "questionnaire": response.questionnaire,
            "answered_at": _wire(response.answered_at),
            "answers": list(response.answers),
        }
        messages.append(
            RecordedMessage(_utc(response.received_at), key, "questionnaire-responses", payload)
        )
    messages.sort(key=lambda m: (m.received_at, m.kind))
    return tuple(messages)


def _plan(row: Plan | None, starts_on: Any) -> MeasurementPlan:
    if row is not None:
        try:
            return parse_plan(row.schedule)
        except InvalidPlanError:
            pass
    return default_plan(starts_on=starts_on)


def load_team_history(
    session: Session,
    *,
    care_team_id: uuid.UUID,
    start: datetime,
    end: datetime,
    proposed: RuleSet,
) -> TeamHistory:
    """The team's active citizens over ``[start, end)``, each with the rules in force now
    (its own limit set, else the team's group default, else pust's default) and with the
    proposal. The proposal is a team default: a citizen whose limits differ from the team's
    (personalised by a clinician) keeps them; one whose limits are the team's (enrolment
    copies them) gets the proposal."""
    citizens = session.exec(
        select(Citizen)
        .where(Citizen.care_team_id == care_team_id, Citizen.status == "active")
        .order_by(col(Citizen.family_name), col(Citizen.given_name), col(Citizen.id))
    ).all()
    ids = [c.id for c in citizens]
    team_row = session.exec(
        select(LimitSet)
        .where(LimitSet.care_team_id == care_team_id, col(LimitSet.citizen_id).is_(None))
        .order_by(col(LimitSet.version).desc())
    ).first()
    team_rules = parse_rule_set(team_row.rules) if team_row is not None else default_rule_set()
    personal = _latest_by_citizen(
        session.exec(select(LimitSet).where(col(LimitSet.citizen_id).in_(ids))).all()
    )
    plans = _latest_by_citizen(
        session.exec(select(Plan).where(col(Plan.citizen_id).in_(ids))).all()
    )
    baselines = current_baselines_of(session, ids)
    readings: dict[uuid.UUID, list[Reading]] = {}
    for reading in session.exec(
        select(Reading)
        .where(col(Reading.citizen_id).in_(ids), col(Reading.valid).is_(True))
        .where(Reading.received_at >= start, Reading.received_at < end)
        .order_by(col(Reading.received_at), col(Reading.id))
    ).all():
        readings.setdefault(reading.citizen_id, []).append(reading)
    responses: dict[uuid.UUID, list[QuestionnaireResponse]] = {}
    for response in session.exec(
        select(QuestionnaireResponse)
        .where(col(QuestionnaireResponse.citizen_id).in_(ids))
        .where(col(QuestionnaireResponse.valid).is_(True))
        .where(QuestionnaireResponse.received_at >= start, QuestionnaireResponse.received_at < end)
        .order_by(col(QuestionnaireResponse.received_at), col(QuestionnaireResponse.id))
    ).all():
        responses.setdefault(response.citizen_id, []).append(response)

    days = max(1, round((end - start) / timedelta(days=1)))
    members: list[HistoryCitizen] = []
    histories: list[CitizenHistory] = []
    for citizen in citizens:
        key = citizen_key(citizen.id)
        own = personal.get(citizen.id)
        current = parse_rule_set(own.rules) if own is not None else team_rules
        # enrolment copies the team's defaults: only limits that differ are the citizen's own
        personalised = current != team_rules
        plan = _plan(plans.get(citizen.id), start.date())
        recording = Recording(
            start=start,
            days=days,
            device_ids=(key,),
            messages=_messages(key, readings.get(citizen.id, []), responses.get(citizen.id, [])),
            plan=plan,
            baselines={key: baselines.get(citizen.id, {})},
        )
        members.append(
            HistoryCitizen(
                citizen.id, key, f"{citizen.given_name} {citizen.family_name}", personalised
            )
        )
        histories.append(
            CitizenHistory(key, recording, current, current if personalised else proposed)
        )
    return TeamHistory(start, days, team_rules, tuple(members), tuple(histories))
