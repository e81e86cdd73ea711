"""The benchmark's payloads: real simulated tablet traffic (readings in all their variety,
questionnaire answers), restamped so it ends a few minutes ago, serialised once and sent
unchanged to every part of the run."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.timeline import SimPlan, cohort_messages

# run-in days: about six messages per citizen and day
_MESSAGES_PER_CITIZEN_DAY = 6
_DAYS = 2


@dataclass(frozen=True, slots=True)
class BenchMessage:
    device_id: str
    channel: DeviceChannel
    message_id: str
    payload: bytes

    def topic(self, topics: Topics) -> str:
        return topics.device(self.device_id, self.channel)


def devices_for(count: int) -> int:
    return max(1, math.ceil(count / (_MESSAGES_PER_CITIZEN_DAY * _DAYS) * 1.3))


def device_ids(prefix: str, devices: int) -> list[str]:
    return [f"{prefix}-{n:05d}" for n in range(1, devices + 1)]


def bench_messages(
    *,
    count: int,
    prefix: str,
    seed: int,
    now: datetime | None = None,
    timezone: str = "Europe/Copenhagen",
) -> list[BenchMessage]:
    """``count`` messages from ``devices_for(count)`` tablets named ``<prefix>-00001`` …"""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(timezone)
    devices = devices_for(count)
    start = now - timedelta(days=_DAYS + 1)
    cohort = build_cohort(
        CohortSpec(citizens=devices, start=start, days=_DAYS, seed=seed, device_prefix=prefix)
    )
    plan = SimPlan(timezone=timezone, include_status=False)
    chosen = []
    for message in cohort_messages(cohort, plan):
        chosen.append(message)
        if len(chosen) == count:
            break
    if not chosen:
        return []
    shift = now - timedelta(minutes=2) - chosen[-1].publish_at
    return [
        BenchMessage(
            m.device_id,
            m.channel,
            m.message_id,
            json.dumps(m.shifted(shift, tz).payload, separators=(",", ":")).encode(),
        )
        for m in chosen
    ]
