"""One `pust bench` run: every part side by side against one broker and one database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.messaging.topics import Topics
from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.environment import BenchEnvironment
from pust_cli.bench.http_clients import token
from pust_cli.bench.idle_probes import idle_alert_parts
from pust_cli.bench.phases import (
    NURSE_PASSWORD,
    RunningServices,
    cpu_note,
    ingest_throughput,
    latency_parts,
    start_alerts_and_api,
    throughput_part,
    worklist_parts,
)
from pust_cli.bench.processes import BenchProcess
from pust_cli.bench.report import machine
from pust_cli.bench.scale import backlog_part, soak_part
from pust_cli.bench.workload import bench_messages, device_ids, devices_for
from pust_cli.simulator.enrolment import enrol_cohort

WINDOW = 1000  # outstanding messages in the closed loop (below Mosquitto's default queue)
CEILING = "ceiling (paho → paho, QoS 1)"
NAIVE = "naive (SQLModel insert + commit per message)"
INGEST = "pust ingest (validate, dedup, group commit, receipts)"
BACKLOG = "backlog drain after an ingest outage"
SOAK = "ingest RSS soak"
ALERTS = "pust alerts (triage + alert upsert, backlog)"


@dataclass(frozen=True, slots=True)
class BenchOptions:
    messages: int = 20_000
    naive_seconds: float = 20.0
    rate: float = 1000.0
    latency_seconds: float = 10.0
    worklist_citizens: int = 5_000
    worklist_readings: int = 1_000_000
    worklist_open_alerts: int = 2_000
    nurses: int = 10
    worklist_seconds: float = 15.0
    alert_samples: int = 50
    # how long to wait for the last receipts and alerts after the paced load
    drain_seconds: float = 20.0
    # how long the alerts service may take to triage the ingest burst before the paced load
    catch_up_seconds: float = 30.0
    # scale-out (issue 17): ingest processes on the shared subscription, alerts replicas
    ingest_processes: int = 1
    alerts_replicas: int = 1
    # messages queued at the broker while ingest is down, then drained (0: not measured)
    backlog: int = 0
    # messages through one ingest process with its RSS sampled; only this part runs
    soak: int = 0

    @classmethod
    def quick(cls) -> BenchOptions:
        return cls(
            messages=3_000,
            naive_seconds=4.0,
            latency_seconds=3.0,
            worklist_citizens=1_000,
            worklist_readings=100_000,
            worklist_open_alerts=400,
            worklist_seconds=4.0,
            alert_samples=10,
            drain_seconds=10.0,
            catch_up_seconds=15.0,
        )


def run_bench(
    settings: Settings, options: BenchOptions, *, own_mosquitto: Path | None = None
) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": _options(options),
        "throughput": {},
        "latency": {},
        "peak_rss_mb": {},
    }
    with BenchEnvironment(settings, own_mosquitto=own_mosquitto) as env:
        result["environment"] = {
            "database": env.database_kind,
            "broker": env.broker_kind,
            "topic_root": env.topic_root,
        }
        topics = Topics(env.topic_root)
        prefix = f"bench-{env.topic_root.split('/')[0][-6:]}"
        messages = bench_messages(count=options.messages, prefix=prefix, seed=1)
        engine = build_engine(env.database_url, pool_size=2)
        enrol_cohort(
            engine,
            device_ids=device_ids(prefix, devices_for(options.messages)),
            valid_from=datetime.now(UTC) - timedelta(days=10),
        )
        driver = BenchDriver(mqtt_url=env.mqtt_url, topics=topics, password=env.service_password)
        driver.start()
        if options.soak:
            try:
                result["soak"] = {
                    SOAK: soak_part(
                        env,
                        engine=engine,
                        driver=driver,
                        prefix=prefix,
                        count=options.soak,
                        window=WINDOW,
                    )
                }
            finally:
                driver.stop()
                engine.dispose()
            result["seconds"] = round(time.monotonic() - started, 1)
            return result
        try:
            part, rss = _sink_part(env, driver, "ceiling", messages, timeout=120.0)
            result["throughput"][CEILING] = part
            result["peak_rss_mb"]["ceiling sink"] = round(rss, 1)
            part, rss = _sink_part(env, driver, "naive", messages, timeout=options.naive_seconds)
            result["throughput"][NAIVE] = part
            result["peak_rss_mb"]["naive sink"] = round(rss, 1)
            _clear_readings(engine)
            _services_parts(
                env,
                engine=engine,
                driver=driver,
                options=options,
                prefix=prefix,
                messages=messages,
                result=result,
            )
        finally:
            driver.stop()
            engine.dispose()
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _options(options: BenchOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__slots__}


def _clear_readings(engine: Any) -> None:
    with engine.begin() as connection:
        for table in ("reading", "questionnaire_response", "inbox_message"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names


def _sink_part(
    env: BenchEnvironment,
    driver: BenchDriver,
    mode: str,
    messages: list[Any],
    *,
    timeout: float,
) -> tuple[dict[str, Any], float]:
    argv = ["-m", "pust_cli.bench.sink", mode, env.mqtt_url, env.topic_root]
    if mode == "naive":
        argv.append(env.database_url)
    sink = BenchProcess(f"sink-{mode}", argv, env.service_env())
    sink.start(wait_for_line="ready", timeout=60)
    try:
        before = sink.cpu_seconds()
        outcome = driver.closed_loop(messages, window=WINDOW, timeout=timeout)
        cpu = cpu_note(sink, before, outcome.done)
    finally:
        sink.stop()
    part = throughput_part(outcome, len(messages))
    part.pop("receipts")
    part.update(cpu)
    return part, sink.peak_rss_mb


def _services_parts(
    env: BenchEnvironment,
    *,
    engine: Engine,
    driver: BenchDriver,
    options: BenchOptions,
    prefix: str,
    messages: list[Any],
    result: dict[str, Any],
) -> None:
    services = RunningServices()
    throughput = result["throughput"]
    ceiling = throughput[CEILING].get("per_second")
    naive = throughput[NAIVE].get("per_second")
    try:
        more = kill = None
        if options.ingest_processes > 1:
            more = bench_messages(count=len(messages), prefix=prefix, seed=3)
            kill = bench_messages(count=len(messages), prefix=prefix, seed=5)
        parts = ingest_throughput(
            env,
            driver,
            services,
            messages,
            prefix,
            engine=engine,
            processes=options.ingest_processes,
            more_messages=more,
            kill_messages=kill,
        )
        for part in parts:
            if part.get("status") == "measured":
                if ceiling:
                    part["ratio_to_ceiling"] = round(part["per_second"] / ceiling, 3)
                if naive:
                    part["ratio_to_naive"] = round(part["per_second"] / naive, 2)
        throughput[INGEST] = parts[0]
        if len(parts) > 1:
            throughput[f"pust ingest × {options.ingest_processes} processes (shared sub.)"] = parts[
                1
            ]
        if len(parts) > 2:
            throughput[f"pust ingest × {options.ingest_processes}, one killed -9 mid-loop"] = parts[
                2
            ]
        alerts_part = start_alerts_and_api(
            env,
            services,
            driver,
            prefix,
            engine=engine,
            catch_up_seconds=options.catch_up_seconds,
            replicas=options.alerts_replicas,
        )
        replicas = alerts_part.get("processes", 1)
        alerts_name = ALERTS if replicas == 1 else f"pust alerts × {replicas} replicas (backlog)"
        throughput[alerts_name] = alerts_part
        result["latency"].update(
            latency_parts(
                env,
                engine=engine,
                driver=driver,
                services=services,
                options=options,
                prefix=prefix,
            )
        )
        result["latency"].update(
            idle_alert_parts(
                engine=engine, driver=driver, services=services, options=options, prefix=prefix
            )
        )
        if options.backlog and services.ingest_fleet is not None:
            from pust.db.device_credentials import hash_device_password

            result["backlog"] = {
                BACKLOG: backlog_part(
                    env,
                    engine=engine,
                    driver=driver,
                    fleet=services.ingest_fleet,
                    api_url=services.api_url,
                    bearer_for=token,
                    prefix=prefix,
                    count=options.backlog,
                    password_hash=hash_device_password(NURSE_PASSWORD),
                    nurse_password=NURSE_PASSWORD,
                )
            }
        if services.ingest_fleet is not None:
            result["peak_rss_mb"]["ingest (max of the fleet)"] = round(
                services.ingest_fleet.peak_rss_mb(), 1
            )
            services.ingest_fleet.stop_all()  # the worklist is measured on its own
        services.stop_alerts()
        result["latency"].update(worklist_parts(engine, services, options, prefix))
    finally:
        for name, process in services.all().items():
            process.stop()
            result["peak_rss_mb"][name] = round(process.peak_rss_mb, 1)
        for name in ("ingest", "alerts", "api"):
            result["peak_rss_mb"].setdefault(name, "not running (service not in this checkout)")
