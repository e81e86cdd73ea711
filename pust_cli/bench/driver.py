"""The benchmark's tablet side: one paho connection publishes (QoS 1) and watches what comes
back, either receipts from ingest or progress reports from a test sink.

Closed loop (throughput): at most ``window`` messages are outstanding, so no broker queue
overflows (Mosquitto drops beyond ``max_queued_messages``) and the number measured is what
the consumer sustains. Paced (latency): messages go out at a fixed rate; each one's time
from publish to receipt is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.bench.workload import BenchMessage


def progress_topic(topics: Topics) -> str:
    return f"{topics.root}/bench/progress"


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    done: int
    elapsed_seconds: float
    outcomes: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


@dataclass(slots=True)
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    receipted: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    progress: int = 0
    last_monotonic: float = 0.0

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    @property
    def done(self) -> int:
        return max(self.progress, len(self.receipted))


class BenchDriver:
    def __init__(self, *, mqtt_url: str, topics: Topics, password: str | None) -> None:
        self._topics = topics
        self._tally = _Tally()
        self._published: dict[str, float] = {}
        self._connection = MqttConnection(
            address=BrokerAddress.parse(mqtt_url, username="bench-driver", password=password),
            client_id=f"bench-driver-{uuid.uuid4().hex[:8]}",
            subscriptions=[
                (f"{topics.root}/devices/+/{DeviceChannel.RECEIPTS.value}", 1),
                (progress_topic(topics), 0),
            ],
            on_message=self._handle,
            max_inflight=1000,
        )

    def start(self) -> None:
        self._connection.start(wait_seconds=15)

    def stop(self) -> None:
        self._connection.stop()

    def reset(self) -> None:
        with self._tally.lock:
            self._tally.receipted.clear()
            self._tally.outcomes.clear()
            self._tally.progress = 0
            self._published.clear()

    def _handle(self, message: ReceivedMessage) -> None:
        now = message.received_monotonic
        tally = self._tally
        if message.topic == progress_topic(self._topics):
            done = int(json.loads(message.payload)["done"])
            with tally.lock:
                if done > tally.progress:
                    tally.progress = done
                    tally.last_monotonic = now
                    tally.changed.notify_all()
            return
        receipt = json.loads(message.payload)
        message_id = str(receipt.get("message_id"))
        outcome = str(receipt.get("outcome"))
        with tally.lock:
            if message_id in tally.receipted:
                return
            tally.receipted[message_id] = now
            tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1
            tally.last_monotonic = now
            tally.changed.notify_all()

    def closed_loop(
        self, messages: Sequence[BenchMessage], *, window: int, timeout: float
    ) -> ThroughputResult:
        """Publish everything with at most ``window`` outstanding; until all are done or
        ``timeout`` passes. Elapsed: first publish → last completion seen."""
        self.reset()
        tally = self._tally
        started = time.monotonic()
        deadline = started + timeout
        for sent, message in enumerate(messages):
            with tally.lock:
                while sent - tally.done >= window:
                    if not tally.changed.wait(deadline - time.monotonic()):
                        break
                if time.monotonic() >= deadline:
                    break
            self._connection.publish(message.topic(self._topics), message.payload, qos=1)
        with tally.lock:
            while tally.done < len(messages) and time.monotonic() < deadline:
                tally.changed.wait(max(0.0, min(1.0, deadline - time.monotonic())))
            done = min(tally.done, len(messages))
            end = tally.last_monotonic if done else time.monotonic()
            outcomes = dict(tally.outcomes)
        return ThroughputResult(done, max(1e-9, end - started), outcomes)

    def published_at(self, message_id: str) -> float | None:
        return self._published.get(message_id)

    def done_so_far(self) -> int:
        """Messages completed in the current closed loop (receipts or sink progress)."""
        with self._tally.lock:
            return self._tally.done

    def receipted_at(self, message_id: str) -> float | None:
        with self._tally.lock:
            return self._tally.receipted.get(message_id)

    def publish_all(self, messages: Sequence[BenchMessage], timeout: float = 300.0) -> None:
        """Publish everything as fast as the broker takes it (nobody need be consuming: a
        persistent session queues it) and wait until the broker has acknowledged all."""
        infos = []
        for message in messages:
            self._published[message.message_id] = time.monotonic()
            infos.append(
                self._connection.publish(message.topic(self._topics), message.payload, qos=1)
            )
        deadline = time.monotonic() + timeout
        for info in infos:
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.01)

    def wait_receipts(self, count: int, *, timeout: float) -> tuple[float, float, int]:
        """Wait for ``count`` receipts (since the last reset); (first, last, how many)."""
        tally = self._tally
        deadline = time.monotonic() + timeout
        with tally.lock:
            while len(tally.receipted) < count and time.monotonic() < deadline:
                tally.changed.wait(max(0.0, min(1.0, deadline - time.monotonic())))
            times = list(tally.receipted.values())
        if not times:
            return 0.0, 0.0, 0
        return min(times), max(times), len(times)

    def paced(
        self,
        messages: Sequence[BenchMessage],
        *,
        rate: float,
        drain_seconds: float,
        on_publish: Callable[[BenchMessage], None] | None = None,
    ) -> tuple[list[float], int, dict[str, int]]:
        """Publish at ``rate`` per second; returns (latencies in ms of receipted messages,
        messages sent, outcomes)."""
        self.reset()
        started = time.monotonic()
        for index, message in enumerate(messages):
            due = started + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._published[message.message_id] = time.monotonic()
            self._connection.publish(message.topic(self._topics), message.payload, qos=1)
            if on_publish is not None:
                on_publish(message)
        deadline = time.monotonic() + drain_seconds
        tally = self._tally
        with tally.lock:
            while len(tally.receipted) < len(messages) and time.monotonic() < deadline:
                tally.changed.wait(max(0.0, min(1.0, deadline - time.monotonic())))
            receipted = dict(tally.receipted)
            outcomes = dict(tally.outcomes)
        latencies = [
            (receipted[mid] - sent_at) * 1000.0
            for mid, sent_at in self._published.items()
            if mid in receipted
        ]
        return latencies, len(messages), outcomes
