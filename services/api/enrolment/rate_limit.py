"""A small in-process sliding-window limiter for the pairing endpoint (per client address).
One api process keeps its own windows; with several processes the limit is per process,
which the code space (see codes.py) is sized for."""

from __future__ import annotations

import threading
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, *, attempts: int, window_seconds: float) -> None:
        self._attempts = attempts
        self._window = window_seconds
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> float | None:
        """None when the attempt may go ahead (and counts it); otherwise the seconds to wait."""
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and times[0] <= now - self._window:
                times.popleft()
            if len(times) >= self._attempts:
                return max(0.0, times[0] + self._window - now)
            times.append(now)
            if len(self._seen) > 10_000:  # forget idle clients
                for idle in [k for k, v in self._seen.items() if not v]:
                    del self._seen[idle]
            return None
