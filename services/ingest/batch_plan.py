"""Deciding, before anything is written, what each arrival of a batch should become.

Validation happened on arrival; here the device directory adds the two rejections only the
database can decide (``unknown_device``, ``device_not_assigned``), and a message repeated
within one batch is set aside as a duplicate of its first copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pust.domain.device_protocol import (
    ErrorCode,
    MeasurementSubmission,
    PresenceChange,
    ProtocolError,
    QuestionnaireSubmission,
    Rejection,
    StatusReport,
)
from services.ingest.arrivals import Arrival
from services.ingest.device_directory import KnownDevice

Submission = MeasurementSubmission | QuestionnaireSubmission | StatusReport


@dataclass(slots=True)
class PlannedMessage:
    arrival_index: int
    submission: Submission
    kind: str
    # measurements: the citizen of each observation; questionnaires: one entry
    citizens: tuple[uuid.UUID, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.submission.device_id, self.submission.message_id)


@dataclass(slots=True)
class BatchPlan:
    messages: list[PlannedMessage] = field(default_factory=list)
    rejections: dict[int, Rejection] = field(default_factory=dict)
    repeats: set[int] = field(default_factory=set)
    presence: dict[int, PresenceChange] = field(default_factory=dict)


def device_ids_to_look_up(arrivals: list[Arrival]) -> set[str]:
    return {a.result.device_id for a in arrivals if not isinstance(a.result, Rejection)}


def plan_batch(arrivals: list[Arrival], devices: dict[str, KnownDevice]) -> BatchPlan:
    plan = BatchPlan()
    seen: set[tuple[str, str]] = set()
    for index, arrival in enumerate(arrivals):
        result = arrival.result
        if isinstance(result, Rejection):
            plan.rejections[index] = result
            continue
        device = devices.get(result.device_id)
        if device is None or not device.active:
            plan.rejections[index] = _reject(
                result, ErrorCode.UNKNOWN_DEVICE, "topic", "device is not enrolled or not active"
            )
            continue
        if isinstance(result, PresenceChange):
            plan.presence[index] = result
            continue
        planned = _resolve(index, result, device)
        if isinstance(planned, Rejection):
            plan.rejections[index] = planned
        elif planned.key in seen:
            plan.repeats.add(index)
        else:
            seen.add(planned.key)
            plan.messages.append(planned)
    return plan


def _resolve(index: int, submission: Submission, device: KnownDevice) -> PlannedMessage | Rejection:
    if isinstance(submission, StatusReport):
        return PlannedMessage(index, submission, "status")
    if isinstance(submission, QuestionnaireSubmission):
        citizen = device.citizen_at(submission.answered_at)
        if citizen is None:
            return _reject(
                submission,
                ErrorCode.DEVICE_NOT_ASSIGNED,
                "answered_at",
                "the device was not assigned to a citizen at answered_at",
            )
        return PlannedMessage(index, submission, "questionnaire-responses", (citizen,))
    citizens: list[uuid.UUID] = []
    errors: list[ProtocolError] = []
    for position, observation in enumerate(submission.observations):
        citizen = device.citizen_at(observation.measured_at)
        if citizen is None:
            errors.append(
                ProtocolError(
                    f"observations[{position}].measured_at",
                    ErrorCode.DEVICE_NOT_ASSIGNED,
                    "the device was not assigned to a citizen at measured_at",
                )
            )
        else:
            citizens.append(citizen)
    if errors:
        return Rejection(
            submission.device_id,
            "measurements",
            submission.message_id,
            submission.received_at,
            tuple(errors),
        )
    return PlannedMessage(index, submission, "measurements", tuple(citizens))


def _reject(
    result: Submission | PresenceChange, code: ErrorCode, path: str, text: str
) -> Rejection:
    message_id = None if isinstance(result, PresenceChange) else result.message_id
    channel = _CHANNELS[type(result)]
    return Rejection(
        result.device_id,
        channel,
        message_id,
        result.received_at,
        (ProtocolError(path, code, text),),
    )


_CHANNELS: dict[type[Any], str] = {
    MeasurementSubmission: "measurements",
    QuestionnaireSubmission: "questionnaire-responses",
    StatusReport: "status",
    PresenceChange: "presence",
}
