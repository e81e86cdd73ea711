"""Every example of the contract, through the broker, to a receipt sent after the commit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from pust.db.engine import session_scope
from pust.db.tables import Device, InboxMessage, Peripheral, QuestionnaireResponse, Reading
from pust.messaging.topics import DeviceChannel
from tests.data import CONTRACT_EXAMPLES
from tests.integration.ingest.world import TestTablet, seed_devices

EXAMPLES = CONTRACT_EXAMPLES
ACCEPTED_EXAMPLES = [
    ("measurements-oximeter.json", DeviceChannel.MEASUREMENTS, 2),
    ("measurements-blood-pressure.json", DeviceChannel.MEASUREMENTS, 3),
    ("measurements-weight-manual-lb.json", DeviceChannel.MEASUREMENTS, 1),
    ("questionnaire-kol-symptoms.json", DeviceChannel.QUESTIONNAIRE_RESPONSES, 0),
    ("status.json", DeviceChannel.STATUS, 0),
]


@pytest.mark.parametrize(("name", "channel", "readings"), ACCEPTED_EXAMPLES)
def test_example_is_committed_before_its_accepted_receipt(
    engine: Engine, mqtt, start_ingest, name: str, channel: DeviceChannel, readings: int
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    payload = (EXAMPLES / name).read_bytes()
    message_id = json.loads(payload)["message_id"]
    tablet.publish(channel, payload)
    receipt = tablet.wait_for_receipt(message_id)
    assert receipt["outcome"] == "accepted", receipt
    assert "errors" not in receipt
    with session_scope(engine) as session:
        # the receipt came after the commit: the rows are visible to another connection
        assert session.get(InboxMessage, (world.device_ids[0], message_id)) is not None
        rows = session.exec(select(Reading).where(Reading.message_id == message_id)).all()
        assert len(rows) == readings
        assert all(r[0].citizen_id == world.citizen_ids[0] for r in rows)
        if channel is DeviceChannel.QUESTIONNAIRE_RESPONSES:
            (response,) = session.exec(select(QuestionnaireResponse)).all()
            assert response[0].answers[0] == {"item": "more_breathless", "value": True}
        if channel is DeviceChannel.STATUS:
            device = session.get(Device, world.device_ids[0])
            assert device is not None
            assert (device.battery_pct, device.app_version, device.outbox_depth) == (82, "2.3.1", 0)
            assert device.last_seen_at is not None
        if name == "measurements-oximeter.json":
            (peripheral,) = session.exec(select(Peripheral)).all()
            assert peripheral[0].system_id == "FE-ED-AB-EE-DE-AD-77-C3"
    tablet.publish(channel, payload)
    tablet_receipts = _wait_for_second(tablet, message_id)
    assert tablet_receipts[1]["outcome"] == "duplicate"
    tablet.stop()


def _wait_for_second(tablet: TestTablet, message_id: str) -> list[dict[str, object]]:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(tablet.receipts.get(message_id, [])) >= 2:
            return tablet.receipts[message_id]
        time.sleep(0.02)
    raise AssertionError("no second receipt")


def test_rejected_example_gets_its_reasons_and_is_quarantined(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    tablet.publish(DeviceChannel.MEASUREMENTS, (EXAMPLES / "rejected-unit.json").read_bytes())
    receipt = tablet.wait_for_receipt("f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f")
    assert receipt["outcome"] == "rejected"
    assert receipt["errors"] == [
        {
            "path": "observations[0].unit",
            "code": "unit_not_supported",
            "message": "unit 'mmol/L' is not accepted for type 'spo2'",
        }
    ]
    tablet.stop()
