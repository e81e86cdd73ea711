"""Logs of the child processes a test starts (services, `pust up`, killed workers).

A test (or a harness such as ``tests/e2e/system.py``) opens the log of each child it starts
with :func:`child_log`; the autouse fixture in ``tests/conftest.py`` reads every such file
after the test and fails it on an ERROR line or a traceback that the test did not declare
with ``@pytest.mark.expect_error_logs("event", …)``.

pust logs one event per line (``pust/config/logging.py``)::

    2026-12-02T15:50:10 ERROR ingest services.ingest.group_commit ingest.writer_failed …

so the event of an ERROR line is the word after the logger name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_current: list[Path] = []  # the running test's log directory (none between tests)

# "<asctime> <LEVEL> <service> <logger> <event> …"
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\S+ (?P<level>[A-Z]+) (?P<service>\S+) (?P<logger>\S+) (?P<event>\S+)"
)
_ERROR_LEVELS = ("ERROR", "CRITICAL")


@dataclass(frozen=True)
class LoggedError:
    source: str  # the log file, or "in-process"
    logger: str
    event: str
    line: str


def begin_test(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _current[:] = [directory]


def end_test() -> None:
    _current.clear()


def child_log(name: str) -> Path:
    """A file of this test's own for a child process's stdout/stderr (append to it)."""
    if not _current:
        raise RuntimeError("child_log() is only available while a test runs")
    return _current[0] / f"{name}.log"


def logged_errors(directory: Path) -> list[LoggedError]:
    """ERROR/CRITICAL lines and tracebacks in every child log of the test."""
    found: list[LoggedError] = []
    for path in sorted(directory.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        last_level = ""
        for index, line in enumerate(lines):
            match = _LOG_LINE.match(line)
            if match:
                last_level = match["level"]
                if last_level in _ERROR_LEVELS:
                    found.append(LoggedError(path.name, match["logger"], match["event"], line))
            elif line.startswith("Traceback (most recent call last)"):
                if last_level in _ERROR_LEVELS:
                    continue  # log.exception(): the traceback of the ERROR line above
                last_level = ""
                # the exception is the first unindented line after the frames
                tail = next(
                    (later for later in lines[index + 1 :] if later and not later[0].isspace()),
                    "",
                )
                found.append(LoggedError(path.name, "traceback", "traceback", tail))
    return found


def event_of(message: str) -> str:
    """The event of an in-process log message: its first word (``ingest.batch_failed``)."""
    return message.split(" ", 1)[0] if message else ""
