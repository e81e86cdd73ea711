"""The tablet's local outbox: a message stays until the backend's receipt names it.

``SqliteOutbox`` is durable (a file survives a crash of the simulator, and its contents are
re-sent at the next start); ``":memory:"`` keeps it in RAM for benchmarks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    device_id: str
    message_id: str
    topic: str
    payload: bytes


class SqliteOutbox:
    def __init__(self, path: Path | str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox ("
            " device_id TEXT NOT NULL, message_id TEXT NOT NULL, topic TEXT NOT NULL,"
            " payload BLOB NOT NULL, last_sent REAL NOT NULL, attempts INTEGER NOT NULL,"
            " PRIMARY KEY (device_id, message_id))"
        )

    def put(self, entry: OutboxEntry) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?, 0)",
                (entry.device_id, entry.message_id, entry.topic, entry.payload, time.monotonic()),
            )

    def remove(self, device_id: str, message_id: str) -> bool:
        """Forget a message; False when it was not (or no longer) in the outbox."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM outbox WHERE device_id = ? AND message_id = ?",
                (device_id, message_id),
            )
            return cursor.rowcount > 0

    def due(self, older_than_seconds: float, limit: int = 1000) -> list[OutboxEntry]:
        """Entries sent longer ago than ``older_than_seconds`` (0: all), marked as re-sent."""
        now = time.monotonic()
        with self._lock:
            rows = self._db.execute(
                "SELECT device_id, message_id, topic, payload FROM outbox"
                " WHERE last_sent <= ? ORDER BY last_sent, rowid LIMIT ?",
                (now - older_than_seconds, limit),
            ).fetchall()
            self._db.executemany(
                "UPDATE outbox SET last_sent = ?, attempts = attempts + 1"
                " WHERE device_id = ? AND message_id = ?",
                [(now, row[0], row[1]) for row in rows],
            )
        return [OutboxEntry(*row) for row in rows]

    def all_entries(self) -> list[OutboxEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT device_id, message_id, topic, payload FROM outbox ORDER BY rowid"
            ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    def depth(self, device_id: str | None = None) -> int:
        with self._lock:
            if device_id is None:
                row = self._db.execute("SELECT count(*) FROM outbox").fetchone()
            else:
                row = self._db.execute(
                    "SELECT count(*) FROM outbox WHERE device_id = ?", (device_id,)
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
