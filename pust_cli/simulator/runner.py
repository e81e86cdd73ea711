"""Plays a message stream through a tablet fleet, in real time or accelerated.

Two clocks for the wire:
- ``live``: each message is stamped with the wall clock when it goes out (late uploads keep
  their delay), so the backend triages fresh readings as they come. Days pass in minutes.
- ``history``: the stream is a past window that ends now, with its true timestamps; the
  backend marks readings older than 48 h as late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from tqdm import tqdm

from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.messages import SimMessage
from pust_cli.simulator.tablet import TabletFleet


class WireClock(StrEnum):
    LIVE = "live"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class Pace:
    """``speed`` simulated seconds per wall second; 0 means as fast as possible."""

    sim_start: datetime
    speed: float
    wire_clock: WireClock
    timezone: str = "Europe/Copenhagen"
    resend_after_seconds: float = 10.0


def play(
    messages: Iterable[SimMessage],
    fleet: TabletFleet,
    pace: Pace,
    stop: threading.Event,
    *,
    total: int | None = None,
    progress: bool = True,
) -> int:
    """Send every message at its time; returns how many were sent before ``stop``."""
    tz = ZoneInfo(pace.timezone)
    wall_start = time.monotonic()
    last_resend = wall_start
    sent = 0
    bar = tqdm(total=total, unit="msg", disable=not progress, smoothing=0.05)
    try:
        for message in messages:
            if pace.speed > 0:
                due = (message.publish_at - pace.sim_start).total_seconds() / pace.speed
                delay = due - (time.monotonic() - wall_start)
                if delay > 0 and stop.wait(delay):
                    break
            if stop.is_set():
                break
            outgoing = message
            if pace.wire_clock is WireClock.LIVE:
                outgoing = message.shifted(datetime.now(UTC) - message.publish_at, tz)
            if outgoing.channel is DeviceChannel.STATUS:
                # the heartbeat reports what really waits for a receipt on this tablet
                depth = fleet.outbox.depth(outgoing.device_id)
                outgoing = replace(outgoing, payload={**outgoing.payload, "outbox_depth": depth})
            fleet.send(outgoing)
            sent += 1
            bar.update(1)
            now = time.monotonic()
            if now - last_resend >= 1.0:
                fleet.resend_due(pace.resend_after_seconds)
                last_resend = now
                bar.set_postfix(
                    receipts=sum(fleet.stats.receipts.values()),
                    waiting=fleet.outbox.depth(),
                    refresh=False,
                )
    finally:
        bar.close()
    return sent
