"""A small fuzz run through the real broker (the 10,000-payload run is
``python -m tests.integration.ingest.fuzz_ingest``): no crash, no valid message lost, no
rejected message without a receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.integration.ingest.conftest import EXAMPLES_RECEIVED_AT
from tests.integration.ingest.fuzz_ingest import run_fuzz


# expected error events: none (a hostile payload is a rejection, logged at INFO)
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_hostile_payloads_interleaved_with_valid_ones(engine: Engine, mqtt, start_ingest) -> None:
    instance = "fuzz-small"
    report = run_fuzz(
        engine=engine,
        mqtt_url=mqtt.url,
        topics=mqtt.topics,
        start_ingest=lambda: start_ingest(instance=instance),
        hostile=400,
        seed=7,
        wave=100,
        now=EXAMPLES_RECEIVED_AT + timedelta(seconds=1),
    )
    assert report.valid > 50 and report.hostile_with_id > 200
    assert (report.crashes, report.valid_lost, report.rejected_without_receipt) == (0, 0, 0), report
