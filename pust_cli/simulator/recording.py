"""The simulator as a producer of recordings: the built-in cohort, replayable by
:mod:`pust.evaluation.replay` like any other recording."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from pust.evaluation.recording import Episode, RecordedMessage, Recording
from pust_cli.simulator.cohort import Cohort
from pust_cli.simulator.timeline import SimPlan, cohort_messages


def cohort_recording(cohort: Cohort, plan: SimPlan) -> Recording:
    """The cohort's message stream (lazy), its plan and its exacerbations (ground truth)."""
    spec = cohort.spec
    starts_on = spec.start.astimezone(ZoneInfo(plan.timezone)).date()
    return Recording(
        start=spec.start,
        days=spec.days,
        device_ids=tuple(c.device_id for c in cohort.citizens),
        messages=_messages(cohort, plan),
        plan=plan.measurement_plan(starts_on),
        episodes=tuple(
            Episode(e.device_id, e.onset, e.end, e.starts) for e in cohort.exacerbations
        ),
    )


def _messages(cohort: Cohort, plan: SimPlan) -> Iterator[RecordedMessage]:
    for message in cohort_messages(cohort, plan):
        yield RecordedMessage(
            message.publish_at, message.device_id, message.channel.value, message.payload
        )
