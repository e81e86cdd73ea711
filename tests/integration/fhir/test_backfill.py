"""Switch-over: backfill a team's history (resumable, idempotent) and set the team's mode."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlmodel import Session, select

from pust.db.tables import AuditEvent, CareTeam
from pust.domain.clock import SystemClock
from pust_cli.main import main
from services.bridge.backfill import resolve_citizens, run_backfill
from services.bridge.metrics import BridgeMetrics
from services.bridge.settings import BridgeSettings
from services.bridge.transport import HttpTransport, token_source
from services.bridge.worker import BridgeWorker
from tests.integration.fhir import world as w
from tests.integration.fhir.regional_server import RegionalServer

# depends on the real clock: also run under libfaketime by .ci/run
pytestmark = pytest.mark.clock_sensitive


@pytest.fixture
def transports() -> Iterator[list[HttpTransport]]:
    made: list[HttpTransport] = []
    yield made
    for transport in made:
        transport.close()


def _worker(engine: Engine, server: RegionalServer, made: list[HttpTransport]) -> BridgeWorker:
    settings = BridgeSettings(
        base_url=server.base_url,
        allowed_hosts="127.0.0.1",
        allow_http=True,
        # no answer is lost to a slow machine here: only the injected ones and the interrupt
        timeout_seconds=5.0,
        backoff_initial_seconds=0.05,
        backoff_max_seconds=0.2,
        metrics_port=0,
        **server.oauth_settings(),
    )
    transport = HttpTransport(settings, token_source(settings))
    made.append(transport)
    return BridgeWorker(
        engine=engine,
        transport=transport,
        settings=settings,
        metrics=BridgeMetrics(CollectorRegistry()),
        clock=SystemClock(),
        rng=random.Random(3),
    )


def _history(engine: Engine, count: int) -> list[object]:
    team = w.add_team(engine, "Kommune Nord", "standalone")
    citizens = [w.add_citizen(engine, team) for _ in range(2)]
    w.add_citizen(engine, team, linked=False)
    for i in range(count):
        citizen, device, peripheral = citizens[i % 2]
        # long before the link: the bridge would never send these, the backfill does
        w.add_reading(
            engine,
            citizen,
            device,
            peripheral,
            "pulse",
            70 + i % 20,
            "/min",
            w.T0 - timedelta(days=30, hours=i),
        )
    w.add_response(engine, citizens[0][0], citizens[0][1], w.T0 - timedelta(days=40))
    return [c[0] for c in citizens]


def test_backfill_is_resumable_and_sends_each_reading_once(
    engine: Engine, regional: RegionalServer, transports: list[HttpTransport]
) -> None:
    _history(engine, 40)
    with Session(engine) as s:
        citizens, not_linked = resolve_citizens(s, citizen_id=None, team="Kommune Nord")
    assert len(citizens) == 2 and not_linked == 1
    regional.script.extend(["500", "ok", "ok", "drop", "commit-then-500"])
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append((done, total))
        if done >= 10:
            raise KeyboardInterrupt

    worker = _worker(engine, regional, transports)
    with pytest.raises(KeyboardInterrupt):
        run_backfill(
            engine=engine,
            worker=worker,
            clock=SystemClock(),
            citizen_ids=citizens,
            progress=interrupt,
            chunk=7,
        )
    assert 0 < len(regional.resources) < 41

    summary = run_backfill(
        engine=engine, worker=worker, clock=SystemClock(), citizen_ids=citizens, chunk=7
    )
    assert len(regional.resources) == 41
    # resumed, not started over: asked to create again only where an answer was lost, by
    # injection or to one of the requests in flight when the first run was interrupted
    asked_twice = {i for i, n in regional.create_attempts.items() if n > 1}
    assert len(asked_twice - regional.answer_lost) <= BridgeSettings().concurrency
    assert summary.remaining == 0 and summary.dead == []
    assert summary.sent + summary.already_sent == 41
    assert calls[0][1] == 41  # the progress bar knew the total

    posts = len(regional.requests)
    again = run_backfill(engine=engine, worker=worker, clock=SystemClock(), citizen_ids=citizens)
    assert again.enqueued == 0 and again.already_sent == 41 and again.sent == 0
    assert len(regional.requests) == posts  # a finished backfill sends nothing again


def test_backfill_paces_itself(
    engine: Engine, regional: RegionalServer, transports: list[HttpTransport]
) -> None:
    _history(engine, 6)
    with Session(engine) as s:
        citizens, _ = resolve_citizens(s, citizen_id=None, team="Kommune Nord")
    slept: list[float] = []
    sizes: list[int] = []

    def record(seconds: float) -> None:  # the pace, measured instead of waited
        slept.append(seconds)
        sizes.append(len(regional.requests))

    summary = run_backfill(
        engine=engine,
        worker=_worker(engine, regional, transports),
        clock=SystemClock(),
        citizen_ids=citizens,
        sleep=record,
        per_second=3,
    )
    assert summary.remaining == 0 and len(regional.resources) == summary.sent
    # at most 3 submissions between two pauses of up to a second each
    steps = [b - a for a, b in zip([0, *sizes], sizes, strict=False)]
    assert steps and max(steps) <= 3 and all(0 <= s <= 1.0 for s in slept)
    assert len(slept) >= summary.sent // 3


def test_cli_mode_and_backfill(
    engine: Engine,
    db_url: str,
    regional: RegionalServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _history(engine, 6)
    for name, value in {
        "PUST_DATABASE_URL": db_url,
        "PUST_SECRET_KEY": "cli-test-secret",
        "PUST_SERVICE_MQTT_PASSWORD": "cli-test-password",
        "PUST_BRIDGE_BASE_URL": regional.base_url,
        "PUST_BRIDGE_ALLOWED_HOSTS": "127.0.0.1",
        "PUST_BRIDGE_ALLOW_HTTP": "true",
        "PUST_BRIDGE_METRICS_PORT": "0",
        "PUST_BRIDGE_BACKFILL_PER_SECOND": "1000",
        **{f"PUST_BRIDGE_{k.upper()}": v for k, v in regional.oauth_settings().items()},
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["fhir", "mode", "--team", "Kommune Nord", "both"]) == 0
    with Session(engine) as s:
        team = s.exec(select(CareTeam).where(CareTeam.name == "Kommune Nord")).one()
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "care_team.mode")).one()
    assert team.operating_mode == "both" and audit.care_team_id == team.id
    assert main(["fhir", "mode", "--team", "Kommune Syd", "both"]) == 1
    assert main(["fhir", "backfill", "--team", "Kommune Nord"]) == 0
    out = capsys.readouterr().out
    assert "sent: 7" in out and "not linked, skipped: 1" in out
    assert "backfill paced at 1000 submissions/s" in out
    assert len(regional.resources) == 7
    assert main(["fhir", "status"]) == 0
    assert "sent=7" in capsys.readouterr().out
    monkeypatch.setenv("PUST_BRIDGE_ALLOWED_HOSTS", "fhir.region.test")
    assert main(["fhir", "backfill", "--team", "Kommune Nord"]) == 2  # not on the allow-list
