"""Every error code of the contract: a rejected receipt (when an id can be recovered) and a
quarantine row, and bad input never holds up good input."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from pust.db.engine import session_scope
from pust.db.tables import Device, QuarantinedMessage, Reading
from pust.messaging.topics import DeviceChannel
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

NOW = EXAMPLES_RECEIVED_AT
RECENT = NOW - timedelta(minutes=3)


def _measurement(**observation: object) -> tuple[str, bytes]:
    message_id = str(uuid.uuid4())
    base: dict[str, object] = {
        "type": "spo2",
        "value": 93,
        "unit": "%",
        "measured_at": RECENT.isoformat(),
    }
    base.update(observation)
    document = {"message_id": message_id, "sent_at": NOW.isoformat(), "observations": [base]}
    return message_id, json.dumps(document).encode()


def _questionnaire(name: str) -> tuple[str, bytes]:
    message_id = str(uuid.uuid4())
    document = {
        "message_id": message_id,
        "sent_at": NOW.isoformat(),
        "questionnaire": name,
        "answered_at": RECENT.isoformat(),
        "answers": [{"item": "more_breathless", "value": True}],
    }
    return message_id, json.dumps(document).encode()


def _invalid_json() -> tuple[str, bytes]:
    message_id = str(uuid.uuid4())
    return message_id, f'{{"message_id": "{message_id}", "sent_at": '.encode()


def _too_large() -> tuple[str, bytes]:
    message_id, payload = _measurement()
    return message_id, payload[:-1] + b', "padding": "' + b"x" * 70_000 + b'"}'


def _schema_violation() -> tuple[str, bytes]:
    return _measurement(value="ninety-three")


CASES = {
    "invalid_json": (DeviceChannel.MEASUREMENTS, _invalid_json),
    "schema_violation": (DeviceChannel.MEASUREMENTS, _schema_violation),
    "unknown_type": (DeviceChannel.MEASUREMENTS, lambda: _measurement(type="glucose")),
    "unit_not_supported": (DeviceChannel.MEASUREMENTS, lambda: _measurement(unit="mmol/L")),
    "implausible_value": (DeviceChannel.MEASUREMENTS, lambda: _measurement(value=12)),
    "clock_skew": (
        DeviceChannel.MEASUREMENTS,
        lambda: _measurement(measured_at=(NOW + timedelta(hours=1)).isoformat()),
    ),
    "unknown_questionnaire": (
        DeviceChannel.QUESTIONNAIRE_RESPONSES,
        lambda: _questionnaire("kol-symptoms-v7"),
    ),
    "payload_too_large": (DeviceChannel.MEASUREMENTS, _too_large),
    "device_not_assigned": (
        DeviceChannel.MEASUREMENTS,
        lambda: _measurement(measured_at=datetime(2025, 6, 1, tzinfo=UTC).isoformat()),
    ),
}


def _quarantined(engine: Engine, message_id: str | None) -> list[QuarantinedMessage]:
    with session_scope(engine) as session:
        query = select(QuarantinedMessage).where(QuarantinedMessage.message_id == message_id)
        return [row[0] for row in session.exec(query).all()]  # type: ignore[call-overload]


@pytest.mark.parametrize("code", sorted(CASES))
def test_error_code_gives_rejected_receipt_and_quarantine(
    engine: Engine, mqtt, start_ingest, code: str
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    channel, build = CASES[code]
    message_id, payload = build()
    tablet.publish(channel, payload)
    # a valid message right behind the bad one is not held up
    good_id, good = measurement_payload(measured_at=RECENT, value=95)
    tablet.publish(DeviceChannel.MEASUREMENTS, good)

    receipt = tablet.wait_for_receipt(message_id)
    assert receipt["outcome"] == "rejected"
    assert code in {error["code"] for error in receipt["errors"]}  # type: ignore[attr-defined]
    assert tablet.wait_for_receipt(good_id)["outcome"] == "accepted"
    (row,) = _quarantined(engine, message_id)
    assert row.device_id == world.device_ids[0]
    assert code in {error["code"] for error in row.errors}
    assert row.payload_size == len(payload)
    assert row.payload == payload[: 16 * 1024]
    assert row.truncated is (len(payload) > 16 * 1024)
    assert row.topic == mqtt.topics.device(world.device_ids[0], channel)
    tablet.stop()


@pytest.mark.parametrize("status", ["unknown", "retired"])
def test_unknown_or_retired_device(engine: Engine, mqtt, start_ingest, status: str) -> None:
    if status == "retired":
        device_id = seed_devices(engine, status="retired").device_ids[0]
    else:
        device_id = f"never-enrolled-{uuid.uuid4().hex[:6]}"
    start_ingest()
    tablet = TestTablet(mqtt, device_id).start()
    message_id, payload = _measurement()
    tablet.publish(DeviceChannel.MEASUREMENTS, payload)
    receipt = tablet.wait_for_receipt(message_id)
    assert receipt["outcome"] == "rejected"
    assert [e["code"] for e in receipt["errors"]] == ["unknown_device"]  # type: ignore[attr-defined]
    assert len(_quarantined(engine, message_id)) == 1
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Reading)).one()[0] == 0
    tablet.stop()


def test_a_message_without_a_usable_id_is_quarantined_without_receipt(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    tablet.publish(DeviceChannel.MEASUREMENTS, b"\x00\x01 not json, no id")
    good_id, good = measurement_payload(measured_at=RECENT)
    tablet.publish(DeviceChannel.MEASUREMENTS, good)
    tablet.wait_for_receipt(good_id)
    (row,) = _quarantined(engine, None)
    assert [e["code"] for e in row.errors] == ["invalid_json"]
    assert set(tablet.receipts) == {good_id}
    tablet.stop()


def test_presence_updates_the_device(engine: Engine, mqtt, start_ingest) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    for text, online in ((b"online", True), (b"offline", False)):
        tablet.publish(DeviceChannel.PRESENCE, text)
        deadline = time.monotonic() + 10
        while True:
            with session_scope(engine) as session:
                device = session.get(Device, world.device_ids[0])
                assert device is not None
                if device.online is online:
                    assert device.presence_changed_at is not None
                    break
            assert time.monotonic() < deadline, "presence was not recorded"
            time.sleep(0.05)
    tablet.stop()
