"""Nurses as HTTP clients of the api service: log in, read the worklist."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

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


def worklist_load(
    base_url: str, tokens: list[str], *, seconds: float, limit: int = 50
) -> LoadResult:
    """Each nurse (one thread) reads her worklist again and again for ``seconds``."""
    result = LoadResult()
    deadline = time.monotonic() + seconds

    def nurse(bearer: str) -> None:
        headers = {"Authorization": f"Bearer {bearer}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = client.get(WORKLIST, params={"limit": limit})
                    outcome = "ok" if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000.0
                with result.lock:
                    if outcome == "ok":
                        result.latencies_ms.append(elapsed)
                    else:
                        result.errors[outcome] = result.errors.get(outcome, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=nurse, args=(t,), daemon=True) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.seconds = time.monotonic() - started
    return result


def citizen_on_worklist(client: httpx.Client, citizen_id: str) -> bool:
    response = client.get(WORKLIST, params={"limit": 200})
    if response.status_code != 200:
        return False
    return any(row.get("citizen_id") == citizen_id for row in response.json().get("items", []))
