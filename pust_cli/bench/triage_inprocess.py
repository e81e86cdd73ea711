"""CPU per triaged reading, in process: a fresh database, a cohort of citizens, N untriaged
readings (mostly green, some red, some in the watch band), then the triage worker drains
them in this process while its CPU time (``time.process_time``) and the wall clock are
taken. Start-up, seeding and imports are outside the measurement. The database server's CPU
is taken apart (``server_cpu_us_per_reading``: its backends of the run's database, from
``/proc``, when the server runs on this machine).

    uv run python -m pust_cli.bench.triage_inprocess --database-url postgresql://… \\
        --citizens 500 --readings 4000

A PostgreSQL URL names the server: a database of its own is created and dropped. Prints
one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from pust.db.engine import build_engine, session_scope
from pust.db.migrate import upgrade
from pust.db.tables import DeviceAssignment, Reading
from pust.domain.clock import SystemClock
from pust.messaging.topics import Topics


def _values(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    # ~90 % green, ~5 % red (a task), ~5 % in the watch band (v2 default limits)
    return [rng.choice([96.0] * 18 + [85.0, 89.0]) for _ in range(count)]


def _seed(url: str, *, citizens: int, readings: int, seed: int) -> None:
    from sqlmodel import col, select

    from pust_cli.simulator.enrolment import enrol_cohort

    devices = [f"cpu-{n:05d}" for n in range(citizens)]
    now = datetime.now(UTC)
    engine = build_engine(url)
    try:
        enrol_cohort(engine, device_ids=devices, valid_from=now - timedelta(days=60))
        with session_scope(engine) as session:
            citizen_of = dict(
                session.execute(
                    select(col(DeviceAssignment.device_id), col(DeviceAssignment.citizen_id))
                ).all()
            )
        rows: list[dict[str, Any]] = []
        for n, value in enumerate(_values(readings, seed)):
            device = devices[n % citizens]
            at = now - timedelta(seconds=readings - n)
            rows.append(
                {
                    "citizen_id": citizen_of[device],
                    "device_id": device,
                    "message_id": str(uuid.uuid4()),
                    "type": "spo2",
                    "value": value,
                    "unit": "%",
                    "original_value": value,
                    "original_unit": "%",
                    "measured_at": at,
                    "sent_at": at,
                    "received_at": at,
                }
            )
        with session_scope(engine) as session:
            for start in range(0, len(rows), 1000):
                session.execute(insert(Reading), rows[start : start + 1000])
    finally:
        engine.dispose()


def _server_cpu(engine: Engine) -> float | None:
    """CPU seconds of the database server's backends of this database (PostgreSQL on this
    machine: ``/proc/<pid>/stat``); None elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                return None  # not on this machine
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(
    url: str, *, citizens: int, readings: int, batch_size: int, seed: int
) -> dict[str, Any]:
    from services.alerts.triage_worker import TriageWorker

    _seed(url, citizens=citizens, readings=readings, seed=seed)
    engine = build_engine(url)
    try:
        worker = TriageWorker(
            engine=engine,
            clock=SystemClock(),
            topics=Topics("bench/pust/v1"),
            batch_size=batch_size,
        )
        worker.run_once()  # connections, caches and the first batch outside the measurement
        with session_scope(engine) as session:
            left = session.execute(
                text("SELECT count(*) FROM reading WHERE triaged_at IS NULL")
            ).scalar_one()
        server_before = _server_cpu(engine)
        cpu, wall = time.process_time(), time.perf_counter()
        done = worker.drain(max_batches=100_000)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server_after = _server_cpu(engine)
        server = (
            server_after - server_before
            if server_before is not None and server_after is not None
            else None
        )
        with session_scope(engine) as session:
            alerts = session.execute(text("SELECT count(*) FROM alert")).scalar_one()
    finally:
        engine.dispose()
    return {
        "readings": int(left),
        "triaged": done,
        "alerts": int(alerts),
        "batch_size": batch_size,
        "cpu_us_per_reading": round(cpu / done * 1e6) if done else None,
        "wall_us_per_reading": round(wall / done * 1e6) if done else None,
        "readings_per_cpu_second": round(done / cpu) if cpu else None,
        "server_cpu_us_per_reading": (
            round(server / done * 1e6) if done and server is not None else None
        ),
        "load_1m": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("PUST_DATABASE_URL", ""))
    parser.add_argument("--citizens", type=int, default=500)
    parser.add_argument("--readings", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=17)
    options = parser.parse_args()
    server = options.database_url
    if not server.startswith("postgresql"):
        path = f"/tmp/pust-triage-cpu-{uuid.uuid4().hex[:8]}.sqlite3"  # noqa: S108
        url = f"sqlite:///{path}"
        upgrade(url)
        try:
            result = measure(
                url,
                citizens=options.citizens,
                readings=options.readings,
                batch_size=options.batch_size,
                seed=options.seed,
            )
        finally:
            os.unlink(path)
        print(json.dumps(result | {"database": "sqlite"}))
        return
    name = f"pust_triage_cpu_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(server.replace("postgresql://", "postgresql+psycopg://", 1)),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        result = measure(
            url,
            citizens=options.citizens,
            readings=options.readings,
            batch_size=options.batch_size,
            seed=options.seed,
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(result | {"database": "postgresql"}))


if __name__ == "__main__":
    main()
