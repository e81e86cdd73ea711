"""Nurses as HTTP clients of the api service: log in, read the worklist (in a closed loop,
or as the live worklist does: on every change and now and then)."""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

WORKLIST = "/api/v1/worklist"


def wait_healthy(base_url: str, timeout: float, alive: threading.Event | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the api did not answer /healthz within {timeout:.0f} s")


def token(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": username, "password": password, "grant_type": "password"},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@dataclass(slots=True)
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, elapsed_ms: float) -> None:
        with self.lock:
            if outcome == "ok":
                self.latencies_ms.append(elapsed_ms)
            else:
                self.errors[outcome] = self.errors.get(outcome, 0) + 1


class _Nurse:
    """One nurse's keep-alive connection (the standard library's http.client: a tenth of
    httpx's CPU per request, so that fifty of them in the benchmark's process do not take
    the cores the api is measured on). The body is read, not parsed."""

    def __init__(self, base_url: str, bearer: str) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
        self._connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> str:
        """``ok`` or what went wrong (a status code, an exception's name). A kept-alive
        connection that the server has closed meanwhile (uvicorn closes idle ones after
        5 s) is opened again once, as a browser does."""
        for attempt in (1, 2):
            reused = self._connection is not None
            try:
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(
                        self._host, self._port, timeout=30
                    )
                self._connection.request("GET", path, headers=self._headers)
                response = self._connection.getresponse()
                response.read()
                return "ok" if response.status == 200 else str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                stale = isinstance(
                    exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError
                )
                if not (reused and stale and attempt == 1):
                    return type(exc).__name__
        return "unreachable"

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def worklist_load(
    base_url: str, tokens: list[str], *, seconds: float, limit: int = 50
) -> LoadResult:
    """Each nurse (one thread) reads her worklist again and again for ``seconds``: the
    closed-loop stress figure (no think time)."""
    result = LoadResult()
    deadline = time.monotonic() + seconds
    path = f"{WORKLIST}?limit={limit}"

    def nurse(bearer: str) -> None:
        client = _Nurse(base_url, bearer)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                outcome = client.get(path)
                result.add(outcome, (time.perf_counter() - started) * 1000.0)
        finally:
            client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=nurse, args=(t,), daemon=True) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.seconds = time.monotonic() - started
    return result


@dataclass(slots=True)
class LiveResult:
    """What nurses with the live worklist open see: each holds the event stream and
    fetches her worklist on every ``changed``, and reloads it every ``poll`` seconds."""

    fetches: LoadResult = field(default_factory=LoadResult)
    # a change committed → the fetch that followed its event has the rows (team's nurse)
    change_to_rows_ms: list[float] = field(default_factory=list)
    changes: int = 0
    streams_opened: int = 0


def live_worklist_load(
    base_url: str,
    tokens: list[str],
    *,
    seconds: float,
    poll: float,
    change: Callable[[int], None],
    changes_per_second: float,
    limit: int = 50,
) -> LiveResult:
    """``tokens[i]`` is the nurse of team ``i``; ``change(i)`` commits a change to one of
    team ``i``'s open alerts (the alerts service would: a repeated reading, a new alert).
    Changes come at ``changes_per_second`` over random teams; each nurse's stream tells her,
    she fetches (one at a time, as the browser does), and the time from the change's
    commit to her rows is recorded."""
    result = LiveResult()
    deadline = time.monotonic() + seconds
    path = f"{WORKLIST}?limit={limit}"
    pending: list[list[float]] = [[] for _ in tokens]  # commit times not yet fetched
    lock = threading.Lock()
    rng = random.Random(17)  # noqa: S311 - which team changes, not a secret

    def nurse(index: int, bearer: str) -> None:
        client = _Nurse(base_url, bearer)
        next_poll = time.monotonic() + rng.uniform(0, poll)
        stream: _EventStream | None = None
        try:
            while time.monotonic() < deadline:
                if stream is None:
                    stream = _EventStream(base_url, bearer)
                    with lock:
                        result.streams_opened += 1
                changed = stream.wait_changed(
                    timeout=min(0.25, max(0.01, next_poll - time.monotonic()))
                )
                if stream.closed:
                    stream = None
                due = time.monotonic() >= next_poll
                if not (changed or due):
                    continue
                if due:
                    next_poll = time.monotonic() + poll
                with lock:
                    waiting, pending[index] = pending[index], []
                started = time.perf_counter()
                outcome = client.get(path)
                done = time.perf_counter()
                result.fetches.add(outcome, (done - started) * 1000.0)
                if outcome == "ok":
                    with lock:
                        result.change_to_rows_ms.extend((done - at) * 1000.0 for at in waiting)
        finally:
            client.close()
            if stream is not None:
                stream.close()

    def changer() -> None:
        interval = 1.0 / changes_per_second
        next_at = time.monotonic() + 1.0  # the streams have opened
        while next_at < deadline - 2.0:  # the last changes still get their fetch
            time.sleep(max(0.0, next_at - time.monotonic()))
            team = rng.randrange(len(tokens))
            change(team)
            committed = time.perf_counter()
            with lock:
                pending[team].append(committed)
                result.changes += 1
            next_at += interval

    started = time.monotonic()
    threads = [
        threading.Thread(target=nurse, args=(n, t), daemon=True) for n, t in enumerate(tokens)
    ]
    threads.append(threading.Thread(target=changer, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.fetches.seconds = time.monotonic() - started
    return result


class _EventStream:
    """``GET /api/v1/worklist/events`` on a socket of its own, read just enough to see each
    ``event: changed`` (the chunked framing is left in the buffer: no event name spans it)."""

    _CHANGED = b"event: changed"

    def __init__(self, base_url: str, bearer: str) -> None:
        parts = urlsplit(base_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.closed = False
        self._buffer = b""
        self._socket = socket.create_connection((host, port), timeout=30)
        self._socket.sendall(
            (
                f"GET {WORKLIST}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {bearer}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )

    def wait_changed(self, timeout: float) -> bool:
        """Whether a ``changed`` came within ``timeout`` (several count once)."""
        self._socket.settimeout(timeout)
        try:
            data = self._socket.recv(65536)
        except TimeoutError:
            return False
        except OSError:
            self.close()
            return False
        if not data:
            self.close()
            return False
        self._buffer += data
        found = self._CHANGED in self._buffer
        self._buffer = self._buffer[-len(self._CHANGED) :]
        return found

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self._socket.close()


def citizen_on_worklist(client: httpx.Client, citizen_id: str) -> bool:
    response = client.get(WORKLIST, params={"limit": 200})
    if response.status_code != 200:
        return False
    return any(row.get("citizen_id") == citizen_id for row in response.json().get("items", []))
