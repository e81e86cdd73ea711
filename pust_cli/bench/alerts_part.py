"""Red reading → alert committed (alerts service) → visible through the worklist API."""

from __future__ import annotations

from typing import Any

from pust_cli.bench.driver import BenchDriver
from pust_cli.bench.environment import BenchEnvironment
from pust_cli.bench.services import available


def alert_parts(
    env: BenchEnvironment,
    driver: BenchDriver,
    options: Any,
    prefix: str,
    result: dict[str, Any],
) -> None:
    if not available("alerts"):
        result["latency"]["red reading → alert committed"] = {
            "status": "not measured: services/alerts not present in this checkout"
        }
        result["latency"]["red reading → visible in worklist API"] = {
            "status": "not measured: needs the alerts service"
        }
        return
    result["latency"]["red reading → alert committed"] = {
        "status": "not measured: wiring to the alerts service pending"
    }
