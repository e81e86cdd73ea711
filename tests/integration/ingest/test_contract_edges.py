"""The contract's edges through the real broker (issue 12): every message with a recoverable
``message_id`` gets a receipt, UUID or not, UTF-8 or not; repeated keys and ``"entry": null``
are refused; and device health comes from every message, measurements included."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import Engine, select

from pust.db.engine import session_scope
from pust.db.tables import Alert, QuarantinedMessage
from pust.domain.clock import FrozenClock
from pust.domain.missed_measurements import SILENT_RULE
from pust.messaging.topics import DeviceChannel
from services.alerts.sweeps import sweep_silent_devices
from tests.data import CONTRACT_EXAMPLES
from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.world import TestTablet, measurement_payload, seed_devices

NOW = EXAMPLES_RECEIVED_AT
STATUS = (CONTRACT_EXAMPLES / "status.json").read_text("utf-8")
STATUS_ID = json.loads(STATUS)["message_id"]


def _errors(receipt: dict[str, object]) -> set[tuple[str, str]]:
    return {(e["path"], e["code"]) for e in receipt["errors"]}  # type: ignore[attr-defined]


def test_refused_messages_get_a_receipt_whatever_their_id(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()

    not_a_uuid = STATUS.replace(STATUS_ID, "status-0042")
    tablet.publish(DeviceChannel.STATUS, not_a_uuid.encode())
    receipt = tablet.wait_for_receipt("status-0042")
    assert receipt["outcome"] == "rejected"
    assert _errors(receipt) == {("message_id", "schema_violation")}

    utf16_id = str(uuid.uuid4())
    tablet.publish(DeviceChannel.STATUS, STATUS.replace(STATUS_ID, utf16_id).encode("utf-16"))
    receipt = tablet.wait_for_receipt(utf16_id)
    assert receipt["outcome"] == "rejected"
    assert _errors(receipt) == {("", "invalid_json")}
    assert "UTF-16" in receipt["errors"][0]["message"]  # type: ignore[index]

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    repeated = (
        f'{{"message_id": "{first}", "sent_at": "{NOW.isoformat()}", "message_id": "{second}"}}'
    )
    tablet.publish(DeviceChannel.STATUS, repeated.encode())
    receipt = tablet.wait_for_receipt(first)
    assert receipt["outcome"] == "rejected"
    assert _errors(receipt) == {("message_id", "schema_violation")}

    null_entry_id, null_entry = measurement_payload(measured_at=NOW - timedelta(minutes=2))
    document = json.loads(null_entry)
    document["observations"][0]["entry"] = None
    tablet.publish(DeviceChannel.MEASUREMENTS, json.dumps(document).encode())
    receipt = tablet.wait_for_receipt(null_entry_id)
    assert receipt["outcome"] == "rejected"
    assert _errors(receipt) == {("observations[0].entry", "schema_violation")}

    assert second not in tablet.receipts
    with session_scope(engine) as session:
        kept = {row[0] for row in session.execute(select(QuarantinedMessage.message_id)).all()}
    assert kept == {"status-0042", utf16_id, first, null_entry_id}
    tablet.stop()


def test_a_utf16_payload_without_an_id_is_quarantined_with_its_reason(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine)
    start_ingest()
    tablet = TestTablet(mqtt, world.device_ids[0]).start()
    payload = json.dumps({"sent_at": NOW.isoformat(), "battery_pct": 50}).encode("utf-16")
    tablet.publish(DeviceChannel.STATUS, payload)
    good_id, good = measurement_payload(measured_at=NOW - timedelta(minutes=1))
    tablet.publish(DeviceChannel.MEASUREMENTS, good)
    tablet.wait_for_receipt(good_id)
    with session_scope(engine) as session:
        (row,) = [r[0] for r in session.execute(select(QuarantinedMessage)).all()]
    assert row.payload == payload and row.message_id is None
    assert row.errors[0]["code"] == "invalid_json" and "UTF-16" in row.errors[0]["message"]
    assert set(tablet.receipts) == {good_id}
    tablet.stop()


def test_a_tablet_that_only_streams_measurements_is_never_silent(
    engine: Engine, mqtt, start_ingest
) -> None:
    world = seed_devices(engine, 2)
    streaming, quiet = world.device_ids
    clock = FrozenClock(NOW)
    start_ingest(clock=clock)
    tablet = TestTablet(mqtt, streaming).start()
    threshold = timedelta(hours=24)
    for _ in range(3):  # three days of readings, a day apart: no status, no presence
        message_id, payload = measurement_payload(measured_at=clock.now() - timedelta(minutes=1))
        tablet.publish(DeviceChannel.MEASUREMENTS, payload)
        assert tablet.wait_for_receipt(message_id)["outcome"] == "accepted"
        sweep_silent_devices(engine=engine, clock=clock, threshold=threshold)
        clock.advance(timedelta(hours=20))
        sweep_silent_devices(engine=engine, clock=clock, threshold=threshold)
        clock.advance(timedelta(hours=4))

    with session_scope(engine) as session:
        silent = {
            row[0]
            for row in session.execute(select(Alert.device_id).where(Alert.rule_key == SILENT_RULE))
        }
    assert silent == {quiet}  # the sweep works: the tablet that sent nothing is silent
    tablet.stop()
