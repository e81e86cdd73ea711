"""Load the rows an outbox submission names and build its ``$submit-measurement`` body."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from pust.db.tables import OutboxMessage, Peripheral, QuestionnaireResponse, Reading, RegionalLink
from pust.fhir.observation import Measurement
from pust.fhir.regional import NotLinked, RegionalContext
from pust.fhir.submission import observation_entry, response_entry, submit_measurement_parameters


class NothingToSubmit(LookupError):
    """The rows are gone, invalidated, or the citizen is no longer linked."""


def build_submission(session: Session, message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload or {}
    if "reading_ids" in payload:
        ids = [int(i) for i in payload["reading_ids"]]
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
        measurement = Measurement(tuple(ordered), peripheral.system_id if peripheral else None)
        try:
            entry = observation_entry(
                measurement,
                citizen_id=ordered[0].citizen_id,
                regional=RegionalContext.from_link(link),
            )
        except NotLinked as exc:
            raise NothingToSubmit("no ServiceRequest") from exc
        return submit_measurement_parameters([entry])
    if "response_id" in payload:
        response = session.get(QuestionnaireResponse, int(payload["response_id"]))
        if response is None:
            raise NothingToSubmit("response missing")
        link = session.get(RegionalLink, response.citizen_id)
        if link is None:
            raise NothingToSubmit("citizen not linked")
        try:
            entry = response_entry(response, regional=RegionalContext.from_link(link))
        except NotLinked as exc:
            raise NothingToSubmit("no ServiceRequest") from exc
        return submit_measurement_parameters([entry])
    raise NothingToSubmit("unknown payload")
