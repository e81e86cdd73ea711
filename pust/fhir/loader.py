"""Load the rows an outbox submission names and build what the bridge sends for it.

Three kinds of row (payload):

- ``reading_ids``: a new measurement for ``$submit-measurement`` (:class:`Submission`);
- ``response_id``: a questionnaire response for ``$submit-measurement``;
- ``invalidate``: a measurement already sent and invalidated since, for
  ``ClinicalImpression/$set-measurement-validity`` (:class:`Invalidation`; the bridge finds
  the server's Observation by identifier first, because only the server knows its id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from pust.db.tables import OutboxMessage, Peripheral, QuestionnaireResponse, Reading, RegionalLink
from pust.fhir.observation import Measurement, NoFutCode, identifier_value
from pust.fhir.regional import NotLinked, RegionalContext
from pust.fhir.submission import (
    EntryIdentity,
    SubmitOptions,
    entry_identity,
    observation_entry,
    response_entry,
    submit_measurement_parameters,
)


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
    if "reading_ids" in payload:
        measurement, link = _measurement(session, [int(i) for i in payload["reading_ids"]])
        if not all(r.valid for r in measurement.readings):
            raise Withdrawn("invalidated before sending")
        try:
            entry = observation_entry(
                measurement, regional=RegionalContext.from_link(link), options=options
            )
        except NotLinked as exc:
            raise NothingToSubmit("no ServiceRequest") from exc
        except NoFutCode as exc:
            raise Withdrawn(f"no FUT code for {exc.args[0]}") from exc
        return Submission([entry], link.patient_reference, link.episode_of_care_reference)
    if "response_id" in payload:
        response = session.get(QuestionnaireResponse, int(payload["response_id"]))
        if response is None:
            raise NothingToSubmit("response missing")
        if not response.valid:
            raise Withdrawn("invalidated before sending")
        response_link = session.get(RegionalLink, response.citizen_id)
        if response_link is None:
            raise NothingToSubmit("citizen not linked")
        try:
            entry = response_entry(
                response, regional=RegionalContext.from_link(response_link), options=options
            )
        except NotLinked as exc:
            raise NothingToSubmit("no ServiceRequest") from exc
        return Submission(
            [entry], response_link.patient_reference, response_link.episode_of_care_reference
        )
    raise NothingToSubmit("unknown payload")
