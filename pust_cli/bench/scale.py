"""Scale-out parts of a benchmark run (issue 17): several ingest processes on the MQTT 5
shared subscription, several alerts replicas on ``SKIP LOCKED`` claims, a backlog that
drains after an ingest outage (with red readings mixed in), and an RSS soak of one ingest
process over many messages."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from pust.messaging.topics import DeviceChannel
from pust_cli.bench.alert_probes import ProbeWatch, enrol_probes, interleave, probe_messages
from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.environment import BenchEnvironment
from pust_cli.bench.processes import BenchProcess
from pust_cli.bench.report import latency_summary
from pust_cli.bench.workload import BenchMessage, bench_messages, device_ids, devices_for
from pust_cli.simulator.enrolment import enrol_cohort

READY_TIMEOUT = 60.0


@dataclass
class IngestFleet:
    """N ``pust ingest`` processes, each with a stable instance name (its client id, so its
    persistent session at the broker survives a restart)."""

    env: BenchEnvironment
    engine: Engine
    instances: list[str] = field(default_factory=list)
    processes: list[BenchProcess] = field(default_factory=list)

    def start(self, count: int) -> None:
        """Start ``count`` more processes and wait until each has connected (it records its
        connection in ``broker_session`` right after subscribing)."""
        new = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(count)]
        for instance in new:
            self.instances.append(instance)
            self.processes.append(self._spawn(instance))
        self._wait_connected(new)

    def wait_all_connected(self) -> None:
        self._wait_connected(self.instances, after=datetime.now(UTC) - timedelta(minutes=5))

    def restart_all(self, *, wait: bool = True) -> None:
        """Start every instance again under its old name (its queued session resumes)."""
        self.processes = [self._spawn(instance) for instance in self.instances]
        if wait:
            self._wait_connected(self.instances, after=datetime.now(UTC) - timedelta(seconds=1))

    def kill_and_restart(self, index: int, *, after_seconds: float) -> BenchProcess:
        """kill -9 one process, and start its instance again ``after_seconds`` later (what
        systemd's ``Restart=always`` with ``RestartSec`` does); returns the killed one."""
        killed = self.processes[index]
        killed.kill()
        time.sleep(after_seconds)
        self.processes[index] = self._spawn(self.instances[index])
        return killed

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    def cpu_seconds(self) -> float | None:
        values = [process.cpu_seconds() for process in self.processes]
        if any(value is None for value in values):
            return None
        return sum(value for value in values if value is not None)

    def peak_rss_mb(self) -> float:
        return max((process.peak_rss_mb for process in self.processes), default=0.0)

    def _spawn(self, instance: str) -> BenchProcess:
        extra = {
            "PUST_INGEST_INSTANCE": instance,
            "PUST_INGEST_METRICS_PORT": "0",
            "PUST_INGEST_SESSION_EXPIRY_SECONDS": "900",
        }
        process = BenchProcess(
            f"ingest-{len(self.processes) + 1}",
            ["-m", "pust_cli.main", "ingest"],
            self.env.service_env(**extra),
        )
        process.start()
        return process

    def _wait_connected(self, instances: Sequence[str], after: datetime | None = None) -> None:
        clients = [f"pust-ingest-{instance}"[:64] for instance in instances]
        deadline = time.monotonic() + READY_TIMEOUT
        query = text("SELECT client_id, connected_at FROM broker_session")
        while time.monotonic() < deadline:
            if not all(p.alive for p in self.processes):
                raise RuntimeError("an ingest process exited during start-up")
            with self.engine.connect() as connection:
                seen = {
                    row[0]
                    for row in connection.execute(query)
                    if after is None or _aware(row[1]) >= after
                }
            if all(client in seen for client in clients):
                time.sleep(0.5)  # the SUBACK follows the subscribe sent before the record
                return
            time.sleep(0.1)
        raise RuntimeError(f"ingest did not connect within {READY_TIMEOUT:.0f} s")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def kill_part(
    driver: BenchDriver, fleet: IngestFleet, messages: list[BenchMessage], *, window: int
) -> dict[str, Any]:
    """A closed loop over all the fleet's processes in which the last one is killed -9 once
    a third of the messages are done and restarted 2 s later under its own name. Reported:
    the whole loop's throughput, and the survivors' while the victim was away (not a
    correctness check: tests/integration/scaleout checks that nothing is lost or doubled).
    """
    import threading

    marks: dict[str, float | int] = {}

    def strike() -> None:
        deadline = time.monotonic() + 120
        while driver.done_so_far() < len(messages) / 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        marks["killed_at"], marks["done_at_kill"] = time.monotonic(), driver.done_so_far()
        fleet.kill_and_restart(len(fleet.processes) - 1, after_seconds=2.0)
        marks["restarted_at"], marks["done_at_restart"] = time.monotonic(), driver.done_so_far()

    driver.reset()  # the striker must count this loop's messages, not the last loop's
    striker = threading.Thread(target=strike, name="bench-kill", daemon=True)
    striker.start()
    outcome = driver.closed_loop(messages, window=window, timeout=180.0)
    striker.join(130)
    part: dict[str, Any] = {
        "status": "measured",
        "offered": len(messages),
        "done": outcome.done,
        "seconds": round(outcome.elapsed_seconds, 2),
        "per_second": round(outcome.per_second, 1),
        "receipts": outcome.outcomes,
        "processes": len(fleet.processes),
        "note": "",
    }
    if "restarted_at" in marks:
        away = float(marks["restarted_at"]) - float(marks["killed_at"])
        survivors = int(marks["done_at_restart"]) - int(marks["done_at_kill"])
        part["survivors_per_second"] = round(survivors / away, 1) if away > 0 else None
        part["note"] = (
            f"one of {len(fleet.processes)} killed -9 at {marks['done_at_kill']} done, back "
            f"2 s later; survivors {part['survivors_per_second']} msg/s while it was away"
        )
    return part


# the backlog ------------------------------------------------------------------------------

BACKLOG_PROBES = 10
BACKLOG_TIMEOUT = 600.0


def backlog_part(
    env: BenchEnvironment,
    *,
    engine: Engine,
    driver: BenchDriver,
    fleet: IngestFleet,
    api_url: str | None,
    bearer_for: Any,
    prefix: str,
    count: int,
    password_hash: str,
    nurse_password: str,
) -> dict[str, Any]:
    """Ingest is down (its persistent sessions stay at the broker) while ``count`` messages
    queue there, red readings spread evenly among them; then ingest starts again. Reports the
    drain rate and, per red reading, the time from the restart to the alert in the nurse's
    worklist, and from its receipt (committed) to the worklist (the alerts service's share).
    """
    backlog_prefix = f"{prefix}b"
    load = bench_messages(count=count, prefix=backlog_prefix, seed=4)
    enrol_cohort(
        engine,
        device_ids=device_ids(backlog_prefix, devices_for(count)),
        valid_from=datetime.now(UTC) - timedelta(days=10),
        cpr_offset=1_000_000,
    )
    probes, nurse = enrol_probes(
        engine,
        prefix=f"{prefix}-backlog",
        count=BACKLOG_PROBES,
        password_hash=password_hash,
        valid_from=datetime.now(UTC) - timedelta(days=1),
        cpr_base=9_700_000,
    )
    bearer = bearer_for(api_url, nurse, nurse_password) if api_url else None
    fleet.stop_all()
    probe_list = probe_messages([p.device_id for p in probes])
    mixed = interleave(load, probe_list)
    published = time.monotonic()
    driver.publish_all(mixed)
    queued_seconds = time.monotonic() - published
    watch = ProbeWatch(engine, probes, api_base_url=api_url, token=bearer)
    for message in probe_list:
        watch.mark_sent(message)
    driver.reset()
    watch.start()
    restarted = time.monotonic()
    try:
        fleet.restart_all(wait=False)
        receipts = driver.wait_receipts(len(mixed), timeout=BACKLOG_TIMEOUT)
        watch.wait_all(60)
    finally:
        watch.stop()
    first, last, done = receipts
    citizen_of = {p.device_id: p.citizen_id for p in probes}
    receipt_at = {citizen_of[m.device_id]: driver.receipted_at(m.message_id) for m in probe_list}
    red = watch.drain_latencies(since=restarted, receipt_at=receipt_at)
    drain_seconds = (last - first) if done else 0.0
    return {
        "status": "measured",
        "backlog": len(mixed),
        "receipted": done,
        "queued_in_seconds": round(queued_seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "drain_per_second": round(done / drain_seconds, 1) if drain_seconds else None,
        "start_to_first_receipt_seconds": round(first - restarted, 1) if done else None,
        "red_visible_from_restart": latency_summary(red["restart"]),
        "red_visible_from_arrival": latency_summary(red["arrival"]),
        "red_visible_from_commit": latency_summary(red["commit"]),
        "red_visible_from_receipt": latency_summary(red["receipt"]),
        "red_alert_from_commit": latency_summary(red["commit_to_alert"]),
        "red_timeline": watch.timeline(since=restarted, receipt_at=receipt_at),
        "red_position": "spread evenly through the backlog",
        "processes": len(fleet.instances),
        "note": f"{len(mixed)} messages ({len(probe_list)} red SpO2 readings spread evenly) "
        f"queued at the broker in {queued_seconds:.0f} s while ingest was down; "
        f"{done} receipted, drained at {done / drain_seconds if drain_seconds else 0:.0f} "
        f"msg/s; {len(watch.visible)}/{len(probe_list)} red readings seen in the worklist",
    }


# the soak ---------------------------------------------------------------------------------

SOAK_CHUNK = 10_000
SOAK_DEVICES = 500


def soak_messages(prefix: str, count: int, start: int) -> Iterator[BenchMessage]:
    """Plain pulse readings, each with its own message id and measurement time."""
    devices = device_ids(prefix, SOAK_DEVICES)
    base = datetime.now(UTC) - timedelta(days=3)
    sent = datetime.now(UTC).isoformat(timespec="milliseconds")
    for n in range(start, start + count):
        message_id = str(uuid.uuid4())
        measured = (base + timedelta(milliseconds=100 * n)).isoformat(timespec="milliseconds")
        payload = {
            "message_id": message_id,
            "sent_at": sent,
            "observations": [
                {"type": "pulse", "value": 60 + n % 40, "unit": "/min", "measured_at": measured}
            ],
        }
        yield BenchMessage(
            devices[n % SOAK_DEVICES],
            DeviceChannel.MEASUREMENTS,
            message_id,
            json.dumps(payload, separators=(",", ":")).encode(),
        )


def soak_part(
    env: BenchEnvironment,
    *,
    engine: Engine,
    driver: BenchDriver,
    prefix: str,
    count: int,
    window: int,
) -> dict[str, Any]:
    """One ingest process takes ``count`` messages in a closed loop; its RSS is sampled after
    every chunk of 10,000. Flat means: no growth over the second half."""
    soak_prefix = f"{prefix}s"
    enrol_cohort(
        engine,
        device_ids=device_ids(soak_prefix, SOAK_DEVICES),
        valid_from=datetime.now(UTC) - timedelta(days=10),
        cpr_offset=2_000_000,
    )
    fleet = IngestFleet(env, engine)
    fleet.start(1)
    process = fleet.processes[0]
    samples: list[tuple[int, float]] = []
    done = 0
    started = time.monotonic()
    cpu_before = process.cpu_seconds()
    try:
        while done < count:
            chunk = list(soak_messages(soak_prefix, min(SOAK_CHUNK, count - done), done))
            outcome = driver.closed_loop(chunk, window=window, timeout=300.0)
            done += outcome.done
            samples.append((done, process.rss_mb()))
            # a long soak shows its progress (and survives being cut short in the log)
            print(f"soak {done} messages, ingest RSS {samples[-1][1]:.1f} MB", file=sys.stderr)
            if outcome.done < len(chunk):
                break
            if done % 100_000 == 0:
                _forget_soak_rows(engine)
    finally:
        elapsed = time.monotonic() - started
        cpu_after = process.cpu_seconds()
        fleet.stop_all()
    half = [mb for n, mb in samples if n > count / 2]
    first_half = [mb for n, mb in samples if n <= count / 2]
    return {
        "status": "measured",
        "messages": done,
        "seconds": round(elapsed, 1),
        "per_second": round(done / elapsed, 1) if elapsed else None,
        "cpu_us_per_message": round((cpu_after - cpu_before) / done * 1e6)
        if done and cpu_after is not None and cpu_before is not None
        else None,
        "rss_mb_samples": [(n, round(mb, 1)) for n, mb in samples],
        "rss_mb_peak": round(max((mb for _, mb in samples), default=0.0), 1),
        "rss_mb_first_half_max": round(max(first_half, default=0.0), 1),
        "rss_mb_second_half_min": round(min(half, default=0.0), 1),
        "rss_mb_second_half_max": round(max(half, default=0.0), 1),
        "rss_mb_second_half_growth": round(half[-1] - half[0], 1) if half else None,
    }


def _forget_soak_rows(engine: Engine) -> None:
    """Keep the database small over a long soak (ingest's memory is what is measured)."""
    with engine.begin() as connection:
        for table in ("reading", "inbox_message"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
