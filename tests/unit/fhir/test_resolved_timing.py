"""Resolved timing from the plan: a reading in an unmet slot's window is Resolved (with the
window), anything else Extra (the ServiceRequest allows it) or Adhoc."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pust.domain.plans import default_plan
from pust.fhir.observation import Measurement
from pust.fhir.regional import RegionalContext
from pust.fhir.submission import observation_entry, submit_measurement_parameters
from pust.fhir.timing import PlanContext, Timing, resolve_timing
from tests.fut_bindings import submission_errors
from tests.unit.fhir import factories as f

# run-in twice a day at 08:00 and 18:00 Copenhagen (UTC+1 in November), grace 120 min
PLAN = default_plan(starts_on=date(2026, 11, 20))


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


def test_a_reading_in_an_unmet_slot_resolves_it() -> None:
    timing = resolve_timing(PLAN, "spo2", _at(7, 30), earlier=[], include_as_extra=False)
    assert timing == Timing("Resolved", _at(5), _at(9))
    answer = resolve_timing(
        PLAN, "kol-symptoms-v1", _at(17, 10), earlier=[], include_as_extra=False
    )
    assert answer == Timing("Resolved", _at(15), _at(19))


def test_a_second_reading_in_a_met_slot_is_extra_or_adhoc() -> None:
    earlier = [_at(7, 30)]
    assert resolve_timing(PLAN, "spo2", _at(8), earlier=earlier, include_as_extra=True) == (
        Timing("Extra")
    )
    assert resolve_timing(PLAN, "spo2", _at(8), earlier=earlier, include_as_extra=False) == (
        Timing("Adhoc")
    )


def test_outside_any_slot_or_not_planned_is_not_resolved() -> None:
    assert resolve_timing(PLAN, "spo2", _at(12), earlier=[], include_as_extra=False).type == "Adhoc"
    not_planned = resolve_timing(PLAN, "temperature", _at(7, 30), earlier=[], include_as_extra=True)
    assert not_planned == Timing("Extra")
    assert resolve_timing(None, "spo2", _at(7, 30), earlier=[], include_as_extra=False) == (
        Timing("Adhoc")
    )


def test_the_submission_carries_the_slot_and_the_real_service_request_version() -> None:
    reading = f.reading(at=_at(7, 30))
    entry = observation_entry(
        Measurement((reading,), f.SYSTEM_ID),
        regional=RegionalContext.from_link(f.link()),
        plan=PlanContext(PLAN, "spo2", _at(7, 30)),
    )
    (timing,) = [
        e for e in entry["resource"]["extension"] if e["url"].endswith("ehealth-resolved-timing")
    ]
    parts = {p["url"]: p for p in timing["extension"]}
    assert parts["serviceRequestVersionId"]["valueId"] == "42"
    assert parts["start"]["valueDateTime"] == "2026-11-23T05:00:00.000Z"
    assert parts["end"]["valueDateTime"] == "2026-11-23T09:00:00.000Z"
    assert parts["type"]["valueCodeableConcept"]["coding"][0]["code"] == "Resolved"
    assert submission_errors(submit_measurement_parameters([entry])) == []
