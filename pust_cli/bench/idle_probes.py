"""Red reading → alert → worklist at rest: once the alerts service has no backlog, a few red
readings one second apart. A clinic sends about one message a second, not a thousand, so
this is the latency its nurses would see; the paced part shows what happens under load."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from pust_cli.bench.alert_probes import ProbeWatch, enrol_probes, probe_messages
from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.http_clients import token
from pust_cli.bench.phases import NURSE_PASSWORD, RunningServices, untriaged_count
from pust_cli.bench.report import latency_summary

COMMITTED = "red reading → alert committed, at rest"
VISIBLE = "red reading → visible in worklist API, at rest"
PROBES = 5


def idle_alert_parts(
    *,
    engine: Engine,
    driver: BenchDriver,
    services: RunningServices,
    options: Any,
    prefix: str,
) -> dict[str, Any]:
    from pust.db.device_credentials import hash_device_password

    if not services.has_ingest or services.alerts is None:
        missing = {"status": "not measured: needs the ingest and alerts services"}
        return {COMMITTED: missing, VISIBLE: missing}
    deadline = time.monotonic() + options.catch_up_seconds
    while (backlog := untriaged_count(engine)) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    if backlog:
        status = {
            "status": f"not measured: {backlog} readings still untriaged "
            f"{options.catch_up_seconds:.0f} s after the paced load"
        }
        return {COMMITTED: status, VISIBLE: status}
    probes, nurse = enrol_probes(
        engine,
        prefix=f"{prefix}-idle",
        count=PROBES,
        password_hash=hash_device_password(NURSE_PASSWORD),
        valid_from=datetime.now(UTC) - timedelta(days=1),
        cpr_base=9_500_000,
    )
    bearer = token(services.api_url, nurse, NURSE_PASSWORD) if services.api_url else None
    watch = ProbeWatch(engine, probes, api_base_url=services.api_url, token=bearer)
    messages = probe_messages([p.device_id for p in probes])
    watch.start()
    try:
        driver.paced(messages, rate=1.0, drain_seconds=10, on_publish=watch.mark_sent)
        watch.wait_all(10)
    finally:
        watch.stop()
    citizen_of = {p.device_id: p.citizen_id for p in probes}
    published = {
        citizen_of[m.device_id]: at
        for m in messages
        if (at := driver.published_at(m.message_id)) is not None
    }

    def part(seen: dict[str, float], how: str) -> dict[str, Any]:
        delays = [(seen[c] - t) * 1000.0 for c, t in published.items() if c in seen]
        return {
            "status": "measured",
            **latency_summary(delays),
            "note": f"{PROBES} red readings 1 s apart, no other load; "
            f"{len(delays)}/{len(published)} seen ({how})",
        }

    parts = {COMMITTED: part(watch.committed, "DB polled every 10 ms")}
    if services.api_url is None:
        parts[VISIBLE] = {"status": "not measured: needs the api service"}
    else:
        parts[VISIBLE] = part(watch.visible, "API polled every 20 ms")
    return parts
