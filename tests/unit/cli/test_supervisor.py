"""``pust up``'s supervisor: a child that dies is restarted; one that exited with
EX_CONFIG (78: "a restart will not help") is reported and left stopped, the others run on.
Real child processes."""

import sys

import pytest

from pust_cli.supervisor import EXIT_CONFIG, ChildProcess, Supervisor, child_environment


def child(name: str, code: str) -> ChildProcess:
    return ChildProcess(name, [sys.executable, "-c", code], child_environment({}))


def test_exit_78_is_not_restarted_and_the_others_keep_running(
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor = Supervisor(backoff=(0.0,))
    misconfigured = child("alerts", f"raise SystemExit({EXIT_CONFIG})")
    running = child("api", "import time; time.sleep(60)")
    supervisor.children += [misconfigured, running]
    supervisor.start_all()
    try:
        assert misconfigured.process is not None
        assert misconfigured.process.wait(30) == EXIT_CONFIG
        first_pid = misconfigured.pid
        supervisor.check_once()
        supervisor.check_once()  # reported once, never restarted
        assert misconfigured.pid == first_pid and misconfigured.restarts == 0
        assert misconfigured.given_up
        assert running.exited() is None  # the rest keeps running
        err = capsys.readouterr().err
        assert err.count("alerts exited with code 78") == 1
        assert "not restarting" in err
    finally:
        supervisor.stop(timeout=5)


def test_a_crash_is_restarted(capsys: pytest.CaptureFixture[str]) -> None:
    supervisor = Supervisor(backoff=(0.0,))
    crashing = child("ingest", "raise SystemExit(70)")
    supervisor.children.append(crashing)
    supervisor.start_all()
    try:
        assert crashing.process is not None
        assert crashing.process.wait(30) == 70
        first_pid = crashing.pid
        supervisor.check_once()
        assert crashing.restarts == 1 and crashing.pid != first_pid
        assert "ingest exited with code 70; restarting" in capsys.readouterr().err
    finally:
        supervisor.stop(timeout=5)
