"""Two nurses at once: the same alert acknowledged twice, the same limits edited twice.
Exactly one wins; the other gets 409 and nothing is overwritten."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.tables import AlertEvent, LimitSet
from pust.domain.limits import default_rule_set
from tests.integration.api.world import World

Headers = Callable[[str], dict[str, str]]


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_nurses_acknowledge_the_same_alert(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    alert_id = world.a.alert_ids[0]
    url = f"/api/v1/alerts/{alert_id}/acknowledge"
    nurse, lead = headers("nurse-a"), headers("lead-a")
    results = _race(
        [
            lambda: client.post(url, json={"expected_version": 1, "note": "mig"}, headers=nurse),
            lambda: client.post(url, json={"expected_version": 1, "note": "nej mig"}, headers=lead),
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    with Session(engine) as s:
        events = s.exec(
            select(AlertEvent).where(
                AlertEvent.alert_id == alert_id, AlertEvent.kind == "acknowledged"
            )
        ).all()
    assert len(events) == 1


def test_two_nurses_edit_the_same_limits(
    client: TestClient, headers: Headers, engine: Engine, world: World
) -> None:
    citizen = world.a.citizen_ids[0]
    url = f"/api/v1/citizens/{citizen}/limits"
    rules = default_rule_set().to_json()
    nurse, lead = headers("nurse-a"), headers("lead-a")
    results = _race(
        [
            lambda: client.put(
                url, json={"expected_version": 1, "rules": rules, "reason": "Læge A"}, headers=nurse
            ),
            lambda: client.put(
                url, json={"expected_version": 1, "rules": rules, "reason": "Læge B"}, headers=lead
            ),
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    with Session(engine) as s:
        versions = s.exec(
            select(LimitSet.version)
            .where(LimitSet.citizen_id == citizen)
            .order_by(col(LimitSet.version))
        ).all()
    assert list(versions) == [1, 2]
