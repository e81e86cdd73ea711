"""One `pust bench` run: every part side by side against one broker and one database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.messaging.topics import Topics
from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.environment import BenchEnvironment
from pust_cli.bench.processes import BenchProcess
from pust_cli.bench.report import latency_summary, machine
from pust_cli.bench.workload import bench_messages, device_ids, devices_for
from pust_cli.simulator.enrolment import enrol_cohort

WINDOW = 1000  # outstanding messages in the closed loop (below Mosquitto's default queue)


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

    @classmethod
    def quick(cls) -> BenchOptions:
        return cls(
            messages=5_000,
            naive_seconds=8.0,
            latency_seconds=5.0,
            worklist_citizens=1_000,
            worklist_readings=100_000,
            worklist_open_alerts=400,
            worklist_seconds=6.0,
            alert_samples=20,
        )


def run_bench(settings: Settings, options: BenchOptions) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": _options(options),
        "throughput": {},
        "latency": {},
        "peak_rss_mb": {},
    }
    with BenchEnvironment(settings) as env:
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
        try:
            ceiling = _sink_part(env, driver, "ceiling", messages, timeout=120.0)
            result["throughput"]["ceiling (paho → paho, QoS 1)"] = ceiling
            naive = _sink_part(env, driver, "naive", messages, timeout=options.naive_seconds)
            result["throughput"]["naive (SQLModel insert + commit per message)"] = naive
            _clear_readings(engine)
            _ingest_parts(
                env,
                driver=driver,
                options=options,
                messages=messages,
                prefix=prefix,
                result=result,
                ceiling=ceiling,
                naive=naive,
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
) -> dict[str, Any]:
    argv = ["-m", "pust_cli.bench.sink", mode, env.mqtt_url, env.topic_root]
    if mode == "naive":
        argv.append(env.database_url)
    sink = BenchProcess(f"sink-{mode}", argv, env.service_env())
    sink.start(wait_for_line="ready", timeout=60)
    try:
        outcome = driver.closed_loop(messages, window=WINDOW, timeout=timeout)
    finally:
        sink.stop()
    return {
        "status": "measured",
        "offered": len(messages),
        "done": outcome.done,
        "seconds": round(outcome.elapsed_seconds, 2),
        "per_second": round(outcome.per_second, 1),
        "peak_rss_mb": round(sink.peak_rss_mb, 1),
        "note": "stopped at its time budget" if outcome.done < len(messages) else "",
    }


def _ingest_parts(
    env: BenchEnvironment,
    *,
    driver: BenchDriver,
    options: BenchOptions,
    messages: list[Any],
    prefix: str,
    result: dict[str, Any],
    ceiling: dict[str, Any],
    naive: dict[str, Any],
) -> None:
    from pust_cli.bench.services import available, start_service

    name = "pust ingest (validate, dedup, group commit, receipts)"
    if not available("ingest"):
        result["throughput"][name] = {"status": "not measured: services/ingest not present"}
        result["latency"]["publish → receipt"] = {"status": "not measured: no ingest"}
        return
    ingest = start_service(env, "ingest", driver, prefix)
    try:
        outcome = driver.closed_loop(messages, window=WINDOW, timeout=180.0)
        part: dict[str, Any] = {
            "status": "measured",
            "offered": len(messages),
            "done": outcome.done,
            "seconds": round(outcome.elapsed_seconds, 2),
            "per_second": round(outcome.per_second, 1),
            "receipts": outcome.outcomes,
        }
        if ceiling.get("per_second"):
            part["ratio_to_ceiling"] = round(outcome.per_second / ceiling["per_second"], 3)
        if naive.get("per_second"):
            part["ratio_to_naive"] = round(outcome.per_second / naive["per_second"], 2)
        result["throughput"][name] = part
        paced = bench_messages(
            count=int(options.rate * options.latency_seconds), prefix=prefix, seed=2
        )
        latencies, sent, outcomes = driver.paced(paced, rate=options.rate, drain_seconds=30)
        summary: dict[str, Any] = {"status": "measured", **latency_summary(latencies)}
        summary["note"] = f"{options.rate:.0f} msg/s offered for {options.latency_seconds:.0f} s"
        summary["sent"] = sent
        summary["receipts"] = outcomes
        result["latency"]["publish → receipt"] = summary
        from pust_cli.bench.alerts_part import alert_parts

        alert_parts(env, driver, options, prefix, result)
    finally:
        ingest.stop()
        result["peak_rss_mb"]["ingest"] = round(ingest.peak_rss_mb, 1)
