"""Did the broker keep ingest's persistent session? A session that comes back empty loses
every message the broker queued for us while we were away (issue 11: a client that took
ingest's client id destroyed it), so it is worth a warning and a count.

On a reconnect within one process the session must be there. On the first connect after a
start it must be there if messages were committed within the session expiry (some ingest
process was connected then, so its session had not expired); a first start, or one after a
longer pause, legitimately begins without one."""

from __future__ import annotations

from datetime import datetime, timedelta


def session_should_have_survived(
    *,
    first_connect: bool,
    last_committed_at: datetime | None,
    now: datetime,
    session_expiry: timedelta,
) -> bool:
    if not first_connect:
        return True
    if last_committed_at is None or session_expiry <= timedelta(0):
        return False
    return now - last_committed_at < session_expiry
