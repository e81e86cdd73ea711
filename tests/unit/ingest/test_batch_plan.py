"""Planning a batch: directory rejections, repeats within a batch, receipts' shape."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from pust.domain.device_protocol import ErrorCode, Rejection, validate_message
from pust.messaging.mqtt_client import ReceivedMessage
from services.ingest.arrivals import Arrival, Decision, Outcome
from services.ingest.batch_plan import plan_batch
from services.ingest.device_directory import Assignment, KnownDevice

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CITIZEN = uuid.uuid4()


def arrival(device_id: str, measured_at: datetime, message_id: str | None = None) -> Arrival:
    payload = json.dumps(
        {
            "message_id": message_id or str(uuid.uuid4()),
            "sent_at": NOW.isoformat(),
            "observations": [
                {
                    "type": "pulse",
                    "value": 70,
                    "unit": "/min",
                    "measured_at": measured_at.isoformat(),
                }
            ],
        }
    ).encode()
    result = validate_message(
        device_id=device_id, channel="measurements", payload=payload, received_at=NOW
    )
    message = ReceivedMessage(topic="t", payload=payload, qos=1, retain=False, mid=1)
    return Arrival(message, NOW, result)


def directory() -> dict[str, KnownDevice]:
    return {
        "tablet-1": KnownDevice(
            active=True,
            assignments=[
                Assignment(uuid.uuid4(), NOW - timedelta(days=30), NOW - timedelta(days=10)),
                Assignment(CITIZEN, NOW - timedelta(days=10), None),
            ],
        ),
        "tablet-retired": KnownDevice(active=False),
    }


def test_a_reading_belongs_to_the_citizen_assigned_at_measured_at() -> None:
    plan = plan_batch([arrival("tablet-1", NOW - timedelta(hours=1))], directory())
    (message,) = plan.messages
    assert message.citizens == (CITIZEN,)


def test_unknown_retired_and_unassigned_devices_are_rejected() -> None:
    arrivals = [
        arrival("tablet-unknown", NOW),
        arrival("tablet-retired", NOW),
        arrival("tablet-1", NOW - timedelta(days=40)),
    ]
    plan = plan_batch(arrivals, directory())
    assert not plan.messages
    codes = {index: rejection.errors[0].code for index, rejection in plan.rejections.items()}
    assert codes == {
        0: ErrorCode.UNKNOWN_DEVICE,
        1: ErrorCode.UNKNOWN_DEVICE,
        2: ErrorCode.DEVICE_NOT_ASSIGNED,
    }
    assert plan.rejections[2].errors[0].path == "observations[0].measured_at"


def test_a_message_repeated_within_a_batch_is_planned_once() -> None:
    message_id = str(uuid.uuid4())
    arrivals = [arrival("tablet-1", NOW, message_id), arrival("tablet-1", NOW, message_id)]
    plan = plan_batch(arrivals, directory())
    assert [m.arrival_index for m in plan.messages] == [0]
    assert plan.repeats == {1}


def test_validation_rejections_pass_through() -> None:
    bad = arrival("tablet-1", NOW + timedelta(hours=2))
    assert isinstance(bad.result, Rejection)
    plan = plan_batch([bad], directory())
    assert plan.rejections[0] is bad.result


def test_receipt_payloads() -> None:
    accepted = Decision("tablet-1", "m-1", Outcome.ACCEPTED, NOW)
    assert json.loads(accepted.receipt_payload()) == {
        "message_id": "m-1",
        "outcome": "accepted",
        "received_at": "2026-11-23T08:00:00.000+00:00",
    }
    rejection = arrival("tablet-1", NOW + timedelta(hours=2)).result
    assert isinstance(rejection, Rejection)
    rejected = Decision("tablet-1", "m-2", Outcome.REJECTED, NOW, rejection.errors)
    document = json.loads(rejected.receipt_payload())
    assert document["errors"] == [
        {
            "path": "observations[0].measured_at",
            "code": "clock_skew",
            "message": "measured_at is more than 10 minutes in the future",
        }
    ]
