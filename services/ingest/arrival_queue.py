"""The writer's queue, abnormal arrivals first, and the ledger that keeps acks in arrival order.

After an outage the broker hands ingest its whole backlog at once (a wide receive maximum);
the few arrivals that look abnormal (:mod:`services.ingest.triage_hint`) are taken into
the next batch ahead of the green ones queued before them (red ones ahead of yellow ones),
so they are committed, receipted and visible to triage first. Never starving the rest:
while green arrivals wait, a batch gives abnormal ones at most three quarters of its
places.

Bounded in count and in (estimated) bytes: a full queue holds the caller (paho's network
thread, so the broker keeps the rest), it never drops.

MQTT wants PUBACKs in the order the PUBLISHes arrived (3.1.1 and 5.0 §4.6), and an ack may
only go out after the commit. :class:`AckLedger` records every arrival in arrival order;
the writer marks arrivals settled after their commit (or when it drops a stale one), and
the ledger releases the acks of the settled prefix only: an abnormal arrival committed early
is acknowledged when its turn in arrival order comes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pust.domain.severity import Severity
from pust.messaging.mqtt_client import ReceivedMessage
from services.ingest.arrivals import Arrival

# what an arrival costs in memory beyond its payload (the message, the validated result,
# the queue's entry): tracemalloc on the bench's traffic gave ≈ 1.2 KB an arrival with a
# 410-byte payload
ARRIVAL_OVERHEAD_BYTES = 1024


# an arrival not yet validated (during a drain the writer validates): the message only
UNVALIDATED_OVERHEAD_BYTES = 384


@dataclass(frozen=True, slots=True)
class Unvalidated:
    """An arrival queued before validation; the writer validates it when it takes it."""

    message: ReceivedMessage
    received_at: datetime


Queued = Arrival | Unvalidated


def abnormal_share(limit: int) -> int:
    """At most this many places of a batch of ``limit`` go to abnormal arrivals while green
    ones wait (the same rule as the alerts service's claim)."""
    return max(1, (limit * 3) // 4) if limit > 1 else 1


@dataclass(frozen=True, slots=True)
class _Entry:
    arrival: Queued
    size: int


class ArrivalQueue:
    """Three FIFOs (red, yellow, green) under one lock; ``put`` waits while full."""

    def __init__(self, *, max_count: int, max_bytes: int) -> None:
        self._max_count = max(1, max_count)
        self._max_bytes = max(1, max_bytes)
        self._red: deque[_Entry] = deque()
        self._yellow: deque[_Entry] = deque()
        self._normal: deque[_Entry] = deque()
        self._fifo = {Severity.RED: self._red, Severity.YELLOW: self._yellow}
        self._last_red_only = False
        self._bytes = 0
        self._closed = False
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    def __len__(self) -> int:
        with self._lock:
            return self._count()

    def _count(self) -> int:
        return len(self._red) + len(self._yellow) + len(self._normal)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def put(self, arrival: Queued, *, severity: Severity, timeout: float) -> bool:
        """Queue ``arrival``; False if still full after ``timeout`` (the caller retries).
        One arrival always fits into an empty queue, however large."""
        overhead = (
            UNVALIDATED_OVERHEAD_BYTES
            if isinstance(arrival, Unvalidated)
            else ARRIVAL_OVERHEAD_BYTES
        )
        size = len(arrival.message.payload) + overhead
        deadline = time.monotonic() + timeout
        with self._not_full:
            while self._full(size):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._not_full.wait(remaining)
            self._fifo.get(severity, self._normal).append(_Entry(arrival, size))
            self._bytes += size
            self._not_empty.notify()
        return True

    def _full(self, size: int) -> bool:
        count = self._count()
        if count == 0:
            return False
        return count >= self._max_count or self._bytes + size > self._max_bytes

    def close(self) -> None:
        """No more arrivals; ``take`` returns what is left, then ``closed`` is True."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()

    def take(self, limit: int, *, wait_seconds: float = 0.0) -> tuple[list[Queued], bool]:
        """Wait for at least one arrival, then take up to ``limit``: red ones alone (a small
        batch commits sooner), except right after such a batch; otherwise red ones, then
        yellow ones (together at most :func:`abnormal_share` while green ones wait), then
        the oldest green ones.
        With ``wait_seconds``, wait that long for more once there is one (unless the batch
        is full). Returns (batch, closed and now empty)."""
        with self._not_empty:
            while not self._count():
                if self._closed:
                    return [], True
                self._not_empty.wait()
            if wait_seconds > 0:
                deadline = time.monotonic() + wait_seconds
                while self._count() < limit and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._not_empty.wait(remaining)
            chosen: list[_Entry] = []
            if self._red and not self._last_red_only:
                while self._red and len(chosen) < limit:
                    chosen.append(self._red.popleft())
                self._last_red_only = True
            else:
                self._last_red_only = False
                share = limit if not self._normal else abnormal_share(limit)
                for fifo in (self._red, self._yellow):
                    while fifo and len(chosen) < share:
                        chosen.append(fifo.popleft())
                for fifo in (self._normal, self._red, self._yellow):
                    while fifo and len(chosen) < limit:
                        chosen.append(fifo.popleft())
            self._bytes -= sum(entry.size for entry in chosen)
            self._not_full.notify_all()
            done = self._closed and not self._count()
        return [entry.arrival for entry in chosen], done


class _Pending:
    __slots__ = ("message", "settled")

    def __init__(self, message: ReceivedMessage) -> None:
        self.message = message
        self.settled = False


class AckLedger:
    """Every arrival in arrival order; acks leave only for the settled prefix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: deque[_Pending] = deque()
        # by id() of the message: the entry holds the message, so the id stays its own
        self._index: dict[int, _Pending] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def arrived(self, message: ReceivedMessage) -> None:
        entry = _Pending(message)
        with self._lock:
            self._order.append(entry)
            self._index[id(message)] = entry

    def settle(self, messages: Iterable[ReceivedMessage]) -> list[ReceivedMessage]:
        """Mark ``messages`` settled; returns the messages whose acks may go now, in
        arrival order (the settled prefix)."""
        released: list[ReceivedMessage] = []
        with self._lock:
            for message in messages:
                entry = self._index.get(id(message))
                if entry is not None and entry.message is message:
                    entry.settled = True
            while self._order and self._order[0].settled:
                entry = self._order.popleft()
                del self._index[id(entry.message)]
                released.append(entry.message)
        return released
