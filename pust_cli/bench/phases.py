"""The parts of a benchmark run that need pust's services: ingest throughput, latency at a
fixed rate (publish → receipt; red reading → alert committed → visible in the worklist),
and the worklist API under ten nurses on a large database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from pust_cli.bench.alert_probes import ProbeWatch, enrol_probes, interleave, probe_messages
from pust_cli.bench.driver import BenchDriver, ThroughputResult
from pust_cli.bench.environment import BenchEnvironment
from pust_cli.bench.http_clients import token, wait_healthy, worklist_load
from pust_cli.bench.large_world import LargeWorld, seed_large_world
from pust_cli.bench.processes import BenchProcess
from pust_cli.bench.report import latency_summary
from pust_cli.bench.scale import IngestFleet, kill_part
from pust_cli.bench.services import available, start_service
from pust_cli.bench.workload import BenchMessage, bench_messages

NURSE_PASSWORD = "bench-nurse-password"  # noqa: S105 - a throw-away database


@dataclass
class RunningServices:
    ingest: BenchProcess | None = None
    alerts: BenchProcess | None = None
    api: BenchProcess | None = None
    api_url: str | None = None
    ingest_fleet: IngestFleet | None = None
    alerts_replicas: list[BenchProcess] = field(default_factory=list)

    def all(self) -> dict[str, BenchProcess]:
        found: dict[str, BenchProcess | None] = {"ingest": self.ingest}
        if self.ingest_fleet is not None:
            for number, process in enumerate(self.ingest_fleet.processes, start=1):
                found["ingest" if number == 1 else f"ingest-{number}"] = process
        found["alerts"] = self.alerts
        for number, process in enumerate(self.alerts_replicas, start=2):
            found[f"alerts-{number}"] = process
        found["api"] = self.api
        return {name: process for name, process in found.items() if process is not None}

    @property
    def has_ingest(self) -> bool:
        return self.ingest is not None or bool(self.ingest_fleet and self.ingest_fleet.processes)

    def stop_alerts(self) -> None:
        for process in [self.alerts, *self.alerts_replicas]:
            if process is not None:
                process.stop()


def cpu_note(process: BenchProcess, before: float | None, done: int) -> dict[str, Any]:
    """CPU the consumer spent per message during the part: CPU-bound or waiting?"""
    after = process.cpu_seconds()
    if before is None or after is None or done == 0:
        return {}
    return {
        "cpu_seconds": round(after - before, 2),
        "cpu_us_per_message": round((after - before) / done * 1e6),
    }


def throughput_part(outcome: ThroughputResult, offered: int) -> dict[str, Any]:
    return {
        "status": "measured",
        "offered": offered,
        "done": outcome.done,
        "seconds": round(outcome.elapsed_seconds, 2),
        "per_second": round(outcome.per_second, 1),
        "receipts": outcome.outcomes,
        "note": "stopped at its time budget" if outcome.done < offered else "",
    }


def ingest_throughput(
    env: BenchEnvironment,
    driver: BenchDriver,
    services: RunningServices,
    messages: list[BenchMessage],
    prefix: str,
    *,
    engine: Engine,
    processes: int = 1,
    more_messages: list[BenchMessage] | None = None,
    kill_messages: list[BenchMessage] | None = None,
) -> list[dict[str, Any]]:
    """One ingest process, then (``processes`` > 1) that many on the shared subscription,
    each measured in a closed loop of its own messages; one part per measurement."""
    if not available("ingest"):
        return [{"status": "not measured: services/ingest is not in this checkout"}]
    fleet = IngestFleet(env, engine)
    services.ingest_fleet = fleet
    fleet.start(1)
    parts = [_fleet_closed_loop(driver, fleet, messages)]
    if processes > 1 and "protocol=3.1.1" in env.mqtt_url:
        # without shared subscriptions every process would get every message
        parts.append({"status": "not measured: the broker speaks MQTT 3.1.1 only"})
    elif processes > 1 and more_messages:
        fleet.start(processes - 1)
        parts.append(_fleet_closed_loop(driver, fleet, more_messages))
        if kill_messages:
            part = kill_part(driver, fleet, kill_messages, window=1000)
            fleet.wait_all_connected()
            parts.append(part)
    return parts


def _fleet_closed_loop(
    driver: BenchDriver, fleet: IngestFleet, messages: list[BenchMessage]
) -> dict[str, Any]:
    before = fleet.cpu_seconds()
    outcome = driver.closed_loop(messages, window=1000, timeout=180.0)
    after = fleet.cpu_seconds()
    part = throughput_part(outcome, len(messages))
    part["processes"] = len(fleet.processes)
    if before is not None and after is not None and outcome.done:
        part["cpu_seconds"] = round(after - before, 2)
        part["cpu_us_per_message"] = round((after - before) / outcome.done * 1e6)
    return part


def start_alerts_and_api(
    env: BenchEnvironment,
    services: RunningServices,
    driver: BenchDriver,
    prefix: str,
    *,
    engine: Engine,
    catch_up_seconds: float,
    replicas: int = 1,
) -> dict[str, Any]:
    """Start alerts (timing how fast it triages the ingest burst's backlog), then the api.
    Returns the alerts throughput part."""
    alerts_part: dict[str, Any] = {
        "status": "not measured: services/alerts is not in this checkout"
    }
    if available("alerts"):
        alerts_part = alerts_catch_up(
            env,
            engine=engine,
            services=services,
            driver=driver,
            prefix=prefix,
            timeout=catch_up_seconds,
            replicas=replicas,
        )
    if available("api"):
        from pust_cli.bench.environment import free_port

        port = free_port()
        services.api = start_service(
            env, "api", driver, prefix, PUST_HTTP_PORT=str(port), PUST_HTTP_HOST="127.0.0.1"
        )
        services.api_url = f"http://127.0.0.1:{port}"
        wait_healthy(services.api_url, 240)  # minutes on a loaded machine
    return alerts_part


def untriaged_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM reading WHERE triaged_at IS NULL)"
                    " + (SELECT count(*) FROM questionnaire_response WHERE triaged_at IS NULL)"
                )
            ).scalar_one()
        )


def alerts_catch_up(
    env: BenchEnvironment,
    *,
    engine: Engine,
    services: RunningServices,
    driver: BenchDriver,
    prefix: str,
    timeout: float,
    replicas: int = 1,
) -> dict[str, Any]:
    """The alerts service starts behind the ingest burst: how fast does it triage the
    backlog? Timed from the process start (so it includes a second or two of start-up).
    With ``replicas`` > 1, that many processes claim batches with SKIP LOCKED."""
    import time
    import uuid

    if not env.is_postgresql:
        replicas = 1  # SQLite: a second replica waits instead of sharing (README)
    backlog = untriaged_count(engine)
    started = time.monotonic()
    services.alerts = start_service(
        env, "alerts", driver, prefix, PUST_ALERTS_INSTANCE=f"bench-{uuid.uuid4().hex[:8]}"
    )
    for _ in range(replicas - 1):
        services.alerts_replicas.append(
            start_service(
                env, "alerts", driver, prefix, PUST_ALERTS_INSTANCE=f"bench-{uuid.uuid4().hex[:8]}"
            )
        )
    processes = [services.alerts, *services.alerts_replicas]

    def cpu_now() -> float | None:
        values = [p.cpu_seconds() for p in processes]
        return (
            sum(v for v in values if v is not None) if all(v is not None for v in values) else None
        )

    # the rate and the CPU per item are taken from the first committed batch on, so that
    # the processes' start-up (imports, connections) is not in them
    remaining = backlog
    first: tuple[float, float | None, int] | None = None  # (time, CPU, remaining) then
    while remaining > 0 and time.monotonic() - started < timeout:
        time.sleep(0.05 if first is None else 0.1)
        remaining = untriaged_count(engine)
        if first is None and remaining < backlog:
            first = (time.monotonic(), cpu_now(), remaining)
    elapsed = time.monotonic() - started
    done = backlog - remaining
    part: dict[str, Any] = {
        "status": "measured",
        "offered": backlog,
        "done": done,
        "seconds": round(elapsed, 2),
        "per_second": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "processes": replicas,
        "note": "readings + answers of the ingest burst, timed from process start"
        + (f", {replicas} replicas" if replicas > 1 else "")
        + (f"; {remaining} still untriaged after {timeout:.0f} s" if remaining else ""),
    }
    cpu_end = cpu_now()
    if done and cpu_end is not None:
        part["cpu_seconds"] = round(cpu_end, 2)
        part["cpu_us_per_message_with_start_up"] = round(cpu_end / done * 1e6)
    if first is not None and first[2] > remaining:
        at, cpu_first, left = first
        steady = left - remaining
        part["start_up_seconds"] = round(at - started, 2)
        part["steady_per_second"] = round(steady / (time.monotonic() - at), 1)
        if cpu_first is not None and cpu_end is not None:
            part["start_up_cpu_seconds"] = round(cpu_first, 2)
            # CPU per item after the first batch: start-up excluded
            part["cpu_us_per_message"] = round((cpu_end - cpu_first) / steady * 1e6)
        part["note"] += (
            f"; after the first batch ({part['start_up_seconds']} s in):"
            f" {part['steady_per_second']}/s, CPU per item without start-up"
        )
    return part


def latency_parts(
    env: BenchEnvironment,
    *,
    engine: Engine,
    driver: BenchDriver,
    services: RunningServices,
    options: Any,
    prefix: str,
) -> dict[str, Any]:
    from pust.db.device_credentials import hash_device_password

    parts: dict[str, Any] = {}
    if not services.has_ingest:
        parts["publish → receipt"] = {"status": "not measured: no ingest service"}
        return parts
    load = bench_messages(count=int(options.rate * options.latency_seconds), prefix=prefix, seed=2)
    probes, nurse = enrol_probes(
        engine,
        prefix=prefix,
        count=options.alert_samples,
        password_hash=hash_device_password(NURSE_PASSWORD),
        valid_from=datetime.now(UTC) - timedelta(days=1),
    )
    bearer = token(services.api_url, nurse, NURSE_PASSWORD) if services.api_url else None
    watch = ProbeWatch(engine, probes, api_base_url=services.api_url, token=bearer)
    watch.start()
    probe_list = probe_messages([p.device_id for p in probes])
    try:
        latencies, sent, outcomes = driver.paced(
            interleave(load, probe_list),
            rate=options.rate,
            drain_seconds=options.drain_seconds,
            on_publish=watch.mark_sent,
        )
        if services.alerts is not None:
            watch.wait_all(options.drain_seconds)
    finally:
        watch.stop()
    parts["publish → receipt"] = {
        "status": "measured",
        **latency_summary(latencies),
        "sent": sent,
        "receipts": outcomes,
        "note": f"{options.rate:.0f} msg/s offered for {options.latency_seconds:.0f} s; "
        f"{len(latencies)}/{sent} receipted within {options.drain_seconds:.0f} s of the end",
    }
    citizen_of = {p.device_id: p.citizen_id for p in probes}
    published = {
        citizen_of[m.device_id]: at
        for m in probe_list
        if (at := driver.published_at(m.message_id)) is not None
    }

    def delays(seen: dict[str, float]) -> list[float]:
        return [(seen[c] - t) * 1000.0 for c, t in published.items() if c in seen]

    note = f"{len(probes)} red readings within the paced load"
    if services.alerts is None:
        parts["red reading → alert committed"] = {
            "status": "not measured: services/alerts is not in this checkout"
        }
    else:
        committed = delays(watch.committed)
        parts["red reading → alert committed"] = {
            "status": "measured",
            **latency_summary(committed),
            "note": f"{note}; {len(committed)}/{len(published)} seen within "
            f"{options.drain_seconds:.0f} s of the end (DB polled every 10 ms)",
            "watch_errors": dict(watch.errors),
        }
    if services.api_url is None or services.alerts is None:
        parts["red reading → visible in worklist API"] = {
            "status": "not measured: needs the alerts and api services"
        }
    else:
        visible = delays(watch.visible)
        parts["red reading → visible in worklist API"] = {
            "status": "measured",
            **latency_summary(visible),
            "note": f"{len(visible)}/{len(published)} seen within {options.drain_seconds:.0f} s "
            "of the end (API polled every 20 ms)",
        }
    return parts


# the live worklist's nurses: a change every half second somewhere in the region (well
# above a municipality's morning), and a reload of the page every 30 s by each nurse
LIVE_CHANGES_PER_SECOND = 2.0
LIVE_POLL_SECONDS = 30.0


def worklist_parts(
    engine: Engine, services: RunningServices, options: Any, prefix: str
) -> dict[str, dict[str, Any]]:
    """The worklist API on a large world, two ways side by side: the nurses in a closed
    loop (the stress figure), and the nurses as the live worklist has them (an event
    stream each, a fetch on every change and every ``LIVE_POLL_SECONDS``)."""
    stress = f"worklist API ({options.nurses} nurses)"
    live = f"worklist API, live worklist ({options.nurses} nurses): fetch"
    change = f"worklist API, live worklist ({options.nurses} nurses): change → rows"
    if services.api_url is None:
        missing = {"status": "not measured: services/api is not in this checkout"}
        return {stress: missing}
    import time

    started = time.monotonic()
    world = seed_large_world(
        engine,
        citizens=options.worklist_citizens,
        readings=options.worklist_readings,
        open_alerts=options.worklist_open_alerts,
        nurses=options.nurses,
        password=NURSE_PASSWORD,
        prefix=prefix,
    )
    seeded = time.monotonic() - started
    tokens = [token(services.api_url, user, NURSE_PASSWORD) for user in world.nurse_usernames]
    worklist_load(services.api_url, tokens, seconds=2.0)  # warm-up: caches, pools
    before = services.api.cpu_seconds() if services.api else None
    result = worklist_load(services.api_url, tokens, seconds=options.worklist_seconds)
    rate = len(result.latencies_ms) / result.seconds if result.seconds else 0.0
    after = services.api.cpu_seconds() if services.api else None
    cpu_ms = (
        round((after - before) / len(result.latencies_ms) * 1000, 1)
        if before is not None and after is not None and result.latencies_ms
        else None
    )
    parts: dict[str, dict[str, Any]] = {
        stress: {
            "status": "measured",
            **latency_summary(result.latencies_ms),
            "requests_per_second": round(rate, 1),
            "api_cpu_ms_per_request": cpu_ms,
            "errors": result.errors,
            "note": (
                f"{options.nurses} nurses in a closed loop, GET /api/v1/worklist?limit=50, "
                f"{rate:.0f} req/s, {cpu_ms} ms api CPU/req; "
                f"{world.citizens} citizens, {world.readings} readings, "
                f"{world.open_alerts} open alerts (seeded in {seeded:.0f} s)"
            ),
        }
    }
    parts.update(_live_parts(engine, services, options, world, tokens, names=(live, change)))
    return parts


def _live_parts(
    engine: Engine,
    services: RunningServices,
    options: Any,
    world: LargeWorld,
    tokens: list[str],
    *,
    names: tuple[str, str],
) -> dict[str, dict[str, Any]]:
    import random

    from pust_cli.bench.http_clients import live_worklist_load
    from pust_cli.bench.large_world import touch_alert

    assert services.api_url is not None
    rng = random.Random(23)  # noqa: S311 - which alert changes, not a secret
    teams = list(world.open_alert_ids)

    def change(team: int) -> None:
        if teams[team]:
            touch_alert(engine, rng.choice(teams[team]), datetime.now(UTC))

    seconds = max(10.0, options.worklist_seconds)
    before = services.api.cpu_seconds() if services.api else None
    live = live_worklist_load(
        services.api_url,
        tokens,
        seconds=seconds,
        poll=LIVE_POLL_SECONDS,
        change=change,
        changes_per_second=LIVE_CHANGES_PER_SECOND,
    )
    after = services.api.cpu_seconds() if services.api else None
    busy = (
        round((after - before) / live.fetches.seconds * 100)
        if before is not None and after is not None and live.fetches.seconds
        else None
    )
    fetches = live.fetches.latencies_ms
    rate = len(fetches) / live.fetches.seconds if live.fetches.seconds else 0.0
    model = (
        f"{options.nurses} nurses, each with the event stream open, fetching on every "
        f"'changed' and every {LIVE_POLL_SECONDS:.0f} s; {LIVE_CHANGES_PER_SECOND:g} alert "
        f"changes/s over the teams for {seconds:.0f} s"
    )
    return {
        names[0]: {
            "status": "measured",
            **latency_summary(fetches),
            "requests_per_second": round(rate, 1),
            "api_cpu_percent_of_a_core": busy,
            "errors": live.fetches.errors,
            "note": f"{model}; {rate:.1f} fetches/s, api busy {busy} % of one core "
            f"(streams included)",
        },
        names[1]: {
            "status": "measured",
            **latency_summary(live.change_to_rows_ms),
            "note": f"{live.changes} changes committed → the team's nurse has fresh rows "
            "(the stream polls every second: up to 1 s of it is the poll)",
        },
    }
