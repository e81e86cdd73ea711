"""The benchmark's numbers: percentiles, the printed table and the JSON document."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values_ms),
        "p50_ms": _round(percentile(values_ms, 50)),
        "p95_ms": _round(percentile(values_ms, 95)),
        "p99_ms": _round(percentile(values_ms, 99)),
        "max_ms": _round(max(values_ms) if values_ms else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}"
    return f"{value}{suffix}"


def render_table(result: dict[str, Any]) -> str:
    lines = [
        f"pust bench — {result['environment']['database']} + {result['environment']['broker']}"
        f", {result['machine']['cpus']} CPUs, load {result['machine']['load_average_1m_at_start']}",
        "",
        f"{'part':<62}{'value':>16}  notes",
        "-" * 100,
    ]

    def row(name: str, value: str, note: str = "") -> None:
        lines.append(f"{name:<62}{value:>16}  {note}")

    for name, part in result["throughput"].items():
        if part.get("status") != "measured":
            row(f"throughput: {name}", "—", part.get("status", ""))
            continue
        note = f"{part['done']}/{part['offered']} msgs in {part['seconds']:.1f} s"
        if "ratio_to_ceiling" in part:
            note += f"; ×{part['ratio_to_ceiling']:.2f} ceiling"
        if "ratio_to_naive" in part:
            note += f", ×{part['ratio_to_naive']:.1f} naive"
        if "cpu_us_per_message" in part:
            note += f"; {part['cpu_us_per_message']} µs CPU/msg"
        if part.get("survivors_per_second") is not None:
            note += f"; survivors {part['survivors_per_second']:,.0f} msg/s while one was down"
        row(f"throughput: {name}", _fmt(part["per_second"], " msg/s"), note)
    for name, part in result["latency"].items():
        if part.get("status") != "measured":
            row(f"latency: {name}", "—", part.get("status", ""))
            continue
        row(f"latency: {name} p50", _fmt(part["p50_ms"], " ms"), part.get("note", ""))
        row(f"latency: {name} p95", _fmt(part["p95_ms"], " ms"))
        row(f"latency: {name} p99", _fmt(part["p99_ms"], " ms"), f"{part['count']} samples")
    for name, part in result.get("backlog", {}).items():
        if part.get("status") != "measured":
            row(f"backlog: {name}", "—", part.get("status", ""))
            continue
        row(f"backlog: {name}, drain rate", _fmt(part["drain_per_second"], " msg/s"), part["note"])
        for label, key in (
            ("red → worklist, from ingest restart", "red_visible_from_restart"),
            ("red → worklist, from its arrival at ingest", "red_visible_from_arrival"),
            ("red → worklist, from its row's commit", "red_visible_from_commit"),
            ("red → worklist, from its receipt at the tablet", "red_visible_from_receipt"),
            ("red: row committed → alert committed", "red_alert_from_commit"),
        ):
            if key not in part:
                continue
            summary = part[key]
            row(f"backlog: {label} p50", _fmt(summary["p50_ms"], " ms"))
            row(
                f"backlog: {label} p99",
                _fmt(summary["p99_ms"], " ms"),
                f"{summary['count']} samples",
            )
    for name, part in result.get("soak", {}).items():
        row(
            f"soak: {name}, messages",
            _fmt(part["messages"]),
            f"{part['per_second']} msg/s, {part['cpu_us_per_message']} µs CPU/msg",
        )
        row("soak: ingest RSS peak", _fmt(part["rss_mb_peak"], " MB"))
        row("soak: ingest RSS max, first half", _fmt(part["rss_mb_first_half_max"], " MB"))
        row(
            "soak: ingest RSS min … max, second half",
            f"{part['rss_mb_second_half_min']}…{part['rss_mb_second_half_max']} MB",
        )
        row(
            "soak: ingest RSS growth over the second half",
            _fmt(part["rss_mb_second_half_growth"], " MB"),
            "samples every 10,000 messages: "
            + ", ".join(f"{n // 1000}k {mb:.0f}" for n, mb in part["rss_mb_samples"][::5]),
        )
    for name, mb in result["peak_rss_mb"].items():
        row(
            f"peak RSS: {name}",
            _fmt(mb, " MB") if isinstance(mb, float) else "—",
            "" if isinstance(mb, float) else str(mb),
        )
    lines.append("-" * 100)
    lines.append(f"total run time {result['seconds']:.0f} s")
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n", encoding="utf-8")
