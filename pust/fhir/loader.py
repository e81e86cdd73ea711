"""Load the rows an outbox submission names and build what the bridge sends for it.

Three kinds of row (payload):

- ``reading_ids``: a new measurement for ``$submit-measurement`` (:class:`Submission`);
- ``response_id``: a questionnaire response for ``$submit-measurement``;
- ``invalidate`` / ``invalidate_response``: a measurement (reading ids) or a questionnaire
  response already sent and invalidated since, for
  ``ClinicalImpression/$set-measurement-validity`` (:class:`Invalidation`; the bridge finds
  the server's Observation by identifier first, because only the server knows its id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pust.db.tables import (
    OutboxMessage,
    Peripheral,
    Plan,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
)
from pust.domain.plans import InvalidPlanError, parse_plan
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.fhir.devices import device_identity, known_reference
from pust.fhir.observation import Measurement, NoFutCode, identifier_value
from pust.fhir.questionnaire_map import QuestionnaireMismatch
from pust.fhir.questionnaire_response import response_identifier
from pust.fhir.regional import NotLinked, RegionalContext, UnknownVersion
from pust.fhir.submission import (
    EntryIdentity,
    SubmitOptions,
    entry_identity,
    observation_entry,
    response_entry,
    submit_measurement_parameters,
)
from pust.fhir.timing import PlanContext


class NothingToSubmit(LookupError):
    """The rows are gone, or the citizen is no longer linked: refused for good (dead)."""


class Withdrawn(LookupError):
    """Nothing to send any more, and rightly so (invalidated before it went out, a type
    without a FUT code): the row is ``skipped`` with this note."""


@dataclass(frozen=True, slots=True)
class Submission:
    entries: list[dict[str, Any]]
    patient_reference: str
    episode_of_care_reference: str

    @property
    def identities(self) -> list[EntryIdentity]:
        return [entry_identity(e) for e in self.entries]

    def without(self, present: set[EntryIdentity]) -> Submission:
        kept = [e for e in self.entries if entry_identity(e) not in present]
        return Submission(kept, self.patient_reference, self.episode_of_care_reference)

    @property
    def parameters(self) -> dict[str, Any]:
        return submit_measurement_parameters(self.entries)


@dataclass(frozen=True, slots=True)
class Invalidation:
    identity: EntryIdentity
    patient_reference: str
    episode_of_care_reference: str


def _measurement(session: Session, ids: list[int]) -> tuple[Measurement, RegionalLink]:
    readings = session.exec(select(Reading).where(col(Reading.id).in_(ids))).all()
    ordered = sorted(readings, key=lambda r: ids.index(r.id) if r.id in ids else 0)
    if len(ordered) != len(ids):
        raise NothingToSubmit("reading missing")
    link = session.get(RegionalLink, ordered[0].citizen_id)
    if link is None:
        raise NothingToSubmit("citizen not linked")
    peripheral = (
        session.get(Peripheral, ordered[0].peripheral_id)
        if ordered[0].peripheral_id is not None
        else None
    )
    return Measurement(tuple(ordered), peripheral.system_id if peripheral else None), link


def plan_context(session: Session, citizen_id: Any, key: str, at: datetime) -> PlanContext:
    """The plan in force at ``at`` (the newest version made before it) and the times of the
    citizen's earlier valid readings (or answers) of that kind within a day."""
    row = session.exec(
        select(Plan)
        .where(col(Plan.citizen_id) == citizen_id, col(Plan.created_at) <= at)
        .order_by(col(Plan.version).desc())
        .limit(1)
    ).first()
    plan = None
    if row is not None:
        try:
            plan = parse_plan(row.schedule)
        except InvalidPlanError:
            plan = None
    since = at - timedelta(days=1)
    if key in QUESTIONNAIRES:
        model = QuestionnaireResponse
        earlier = session.exec(
            select(model.answered_at).where(
                col(model.citizen_id) == citizen_id,
                col(model.questionnaire) == key,
                col(model.valid),
                col(model.answered_at) >= since,
                col(model.answered_at) < at,
            )
        ).all()
    else:
        earlier = session.exec(
            select(Reading.measured_at).where(
                col(Reading.citizen_id) == citizen_id,
                col(Reading.type) == key,
                col(Reading.valid),
                col(Reading.measured_at) >= since,
                col(Reading.measured_at) < at,
            )
        ).all()
    return PlanContext(plan, key, at, tuple(earlier))


def _observation(
    session: Session, measurement: Measurement, link: RegionalLink, options: SubmitOptions
) -> dict[str, Any]:
    primary = measurement.primary
    plan = plan_context(session, primary.citizen_id, primary.type, primary.measured_at)
    identity = device_identity(
        primary.device_id, measurement.peripheral_system_id, options.identifier_system
    )
    try:
        return observation_entry(
            measurement,
            regional=RegionalContext.from_link(link),
            options=options,
            plan=plan,
            device_reference=known_reference(session, identity),
        )
    except UnknownVersion as exc:
        raise NothingToSubmit("ServiceRequest version unknown") from exc
    except NotLinked as exc:
        raise NothingToSubmit("no ServiceRequest") from exc
    except NoFutCode as exc:
        raise Withdrawn(f"no FUT code for {exc.args[0]}") from exc


def build_submission(
    session: Session, message: OutboxMessage, options: SubmitOptions | None = None
) -> Submission | Invalidation:
    options = options or SubmitOptions()
    payload = message.payload or {}
    if "invalidate" in payload:
        measurement, link = _measurement(session, [int(i) for i in payload["invalidate"]])
        return Invalidation(
            EntryIdentity("Observation", options.identifier_system, identifier_value(measurement)),
            link.patient_reference,
            link.episode_of_care_reference,
        )
    if "invalidate_response" in payload:
        response = session.get(QuestionnaireResponse, int(payload["invalidate_response"]))
        if response is None:
            raise NothingToSubmit("response missing")
        response_link = session.get(RegionalLink, response.citizen_id)
        if response_link is None:
            raise NothingToSubmit("citizen not linked")
        return Invalidation(
            EntryIdentity(
                "QuestionnaireResponse", options.identifier_system, response_identifier(response)
            ),
            response_link.patient_reference,
            response_link.episode_of_care_reference,
        )
    if "reading_ids" in payload or "sessions" in payload:
        groups = payload.get("sessions") or [payload["reading_ids"]]
        entries: list[dict[str, Any]] = []
        links: list[RegionalLink] = []
        for group in groups:
            measured, found = _measurement(session, [int(i) for i in group])
            links.append(found)
            if not all(r.valid for r in measured.readings):
                continue  # invalidated before sending: never a new measurement
            entries.append(_observation(session, measured, found, options))
        if "response_id" in payload:  # the questionnaire answered in the same session
            answered = _response(session, int(payload["response_id"]), options)
            if answered is not None:
                entries.append(answered[0])
        if not entries:
            raise Withdrawn("invalidated before sending")
        return Submission(entries, links[0].patient_reference, links[0].episode_of_care_reference)
    if "response_id" in payload:
        answered = _response(session, int(payload["response_id"]), options)
        if answered is None:
            raise Withdrawn("invalidated before sending")
        entry, response_link = answered
        return Submission(
            [entry], response_link.patient_reference, response_link.episode_of_care_reference
        )
    raise NothingToSubmit("unknown payload")


def _response(
    session: Session, response_id: int, options: SubmitOptions
) -> tuple[dict[str, Any], RegionalLink] | None:
    """The QuestionnaireResponse entry, or None when it was invalidated before sending."""
    response = session.get(QuestionnaireResponse, response_id)
    if response is None:
        raise NothingToSubmit("response missing")
    if not response.valid:
        return None
    response_link = session.get(RegionalLink, response.citizen_id)
    if response_link is None:
        raise NothingToSubmit("citizen not linked")
    plan = plan_context(session, response.citizen_id, response.questionnaire, response.answered_at)
    try:
        entry = response_entry(
            response,
            regional=RegionalContext.from_link(response_link),
            options=options,
            plan=plan,
        )
    except UnknownVersion as exc:
        raise NothingToSubmit("ServiceRequest version unknown") from exc
    except NotLinked as exc:
        raise NothingToSubmit("no ServiceRequest") from exc
    except QuestionnaireMismatch as exc:
        raise NothingToSubmit(f"questionnaire mismatch: {exc}") from exc
    return entry, response_link
