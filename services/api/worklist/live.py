"""The worklist's live updates: ONE poll per process for every team an open event stream
watches (issue 17), not one per nurse. Each round reads every watched team's fingerprint in
one grouped query (:func:`~services.api.worklist.queries.team_fingerprints`) and wakes the
streams; each stream compares the fingerprints of its own teams with what it last told
its nurse. The poll takes a database slot like a request (services/api/deps.py) and stops
when the last stream ends."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Collection

import anyio
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from services.api.worklist.queries import team_fingerprints

_log = logging.getLogger("pust.api.worklist")


def _read(engine: Engine, team_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    with Session(engine) as session:
        return team_fingerprints(session, team_ids=team_ids)


class TeamPulse:
    """The fingerprints of the watched teams, refreshed every ``poll`` seconds while any
    stream watches. One per event loop (see :func:`pulse_of`)."""

    def __init__(
        self, engine: Engine, slots: Callable[[], anyio.CapacityLimiter], poll: float
    ) -> None:
        self._engine = engine
        self._slots = slots
        self._poll = poll
        self._watched: Counter[uuid.UUID] = Counter()
        self._fingerprints: dict[uuid.UUID, str] = {}
        self._round = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0  # polls done (tests, metrics)

    async def _fetch(self, team_ids: Collection[uuid.UUID]) -> None:
        async with self._slots():
            found = await run_in_threadpool(_read, self._engine, list(team_ids))
        for team in team_ids:
            self._fingerprints[team] = found.get(team, "empty")

    async def watch(self, team_ids: frozenset[uuid.UUID]) -> str:
        """Count a stream in for these teams; the version it starts from."""
        new = [t for t in team_ids if self._watched[t] == 0 and t not in self._fingerprints]
        self._watched.update(team_ids)
        if new:
            await self._fetch(new)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self.version(team_ids)

    def unwatch(self, team_ids: frozenset[uuid.UUID]) -> None:
        self._watched.subtract(team_ids)
        for team in team_ids:
            if self._watched[team] <= 0:
                del self._watched[team]
                self._fingerprints.pop(team, None)

    def version(self, team_ids: frozenset[uuid.UUID]) -> str:
        return "/".join(self._fingerprints.get(t, "empty") for t in sorted(team_ids))

    async def next_round(self, timeout: float) -> None:
        """Until the next poll has been read (or ``timeout``)."""
        event = self._round
        with anyio.move_on_after(timeout):
            await event.wait()

    async def _run(self) -> None:
        while self._watched:
            await asyncio.sleep(self._poll)
            teams = list(self._watched)
            if not teams:
                break
            try:
                await self._fetch(teams)
            except Exception as exc:  # the streams wait for the next round; logged, ids only
                _log.warning("worklist_poll_failed type=%s", type(exc).__name__)
            self.rounds += 1
            done, self._round = self._round, asyncio.Event()
            done.set()
