"""The worklist's lower band on the nurse's pages (issue 13): a watch is not a task. It
leaves the citizen's task row and its settle form, it is listed under "Holdes øje med" with
how many times it was seen and since when (a watch that has lasted for days shows it), the
task count leaves out a citizen who only has watches, the band filter "Holdes øje med"
shows the band alone, and the citizen's page has the watch in its own card, with no
acknowledge form."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.engine import session_scope
from pust.db.tables import Alert, AuditEvent, Citizen
from tests.integration.api.test_web import login
from tests.integration.api.world import NOW, World

ANNA_WATCH = "SpO2 89 % < gul grænse 90 %"
ARNE_WATCH = "Symptomscore 1 af 5 (hold øje ved 1): Hoster du mere, end du plejer?"


def _watch(citizen: Citizen, *, rule: str, text: str, count: int, age: timedelta) -> Alert:
    first = NOW - age
    return Alert(
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
        kind="watch",
        rule_key=rule,
        severity="yellow",
        band_order=4,
        open_key=f"{citizen.id}:{rule}",
        first_seen_at=first,
        last_seen_at=NOW - timedelta(hours=1),
        count=count,
        reasons=[{"rule": rule.removesuffix(".watch"), "severity": "yellow", "text_da": text}],
        updated_at=first,
    )


def _watches(engine: Engine, world: World) -> tuple[uuid.UUID, uuid.UUID]:
    """Anna (a red and a yellow task) has a watch seen three times over two days; Arne's
    only task is settled and he has a new watch: he is in the lower band only."""
    anna_id, arne_id = world.a.citizen_ids
    with session_scope(engine) as s:
        anna, arne = s.get(Citizen, anna_id), s.get(Citizen, arne_id)
        assert anna is not None and arne is not None
        green = s.get(Alert, world.a.alert_ids[2])
        assert green is not None
        green.status, green.open_key = "resolved", None
        anna_watch = _watch(
            anna,
            rule="spo2.absolute.watch",
            text=ANNA_WATCH,
            count=3,
            age=timedelta(days=2, hours=3),
        )
        arne_watch = _watch(
            arne,
            rule="questionnaire.symptom_score.watch",
            text=ARNE_WATCH,
            count=1,
            age=timedelta(hours=2),
        )
        s.add_all([anna_watch, arne_watch])
        s.flush()
        return anna_watch.id, arne_watch.id


def _section(html: str, start: str, end: str = "</tbody>") -> str:
    assert start in html, html
    return unescape(html.split(start, 1)[1].split(end, 1)[0])


def test_a_watch_is_in_the_lower_band_with_how_often_and_since_when_and_not_a_task(
    client: TestClient, world: World, engine: Engine
) -> None:
    anna_watch, arne_watch = _watches(engine, world)
    anna, arne = world.a.citizen_ids
    login(client, "nurse-a")

    page = client.get("/").text
    assert re.search(r"<span data-total>1</span> borgere med åbne opgaver", page)
    tasks = _section(page, 'id="worklist-rows"')
    assert f'data-citizen="{anna}"' in tasks and f'data-citizen="{arne}"' not in tasks
    assert ANNA_WATCH not in tasks and "Hold øje" not in tasks
    assert str(anna_watch) not in tasks  # not in the settle form either
    assert "Holdes øje med (2)" in page
    band = _section(page, 'id="watch-rows"')
    anna_row, arne_row = (_section(band, f'data-citizen="{c}"', "</tr>") for c in (anna, arne))
    # 2 days and 3 hours ago, in Copenhagen's time
    assert "set 3 gange siden 21.11.2026 08.00 (2 d siden)" in anna_row
    assert ANNA_WATCH in anna_row and "har også en opgave ovenfor" in anna_row
    assert "set én gang" in arne_row and ARNE_WATCH in arne_row
    assert "har også en opgave" not in arne_row
    for row in (anna_row, arne_row):
        assert "<form" not in row and "<button" not in row and "Kvittér" not in row

    # the live fragment carries the band too
    fragment = client.get("/ui/worklist/rows").text
    assert "Holdes øje med (2)" in fragment and str(arne) in _section(fragment, 'id="watch-rows"')

    # the band filter: "Holdes øje med" alone; a task band: no lower band
    watched = client.get("/", params={"band": "green"}).text
    assert 'value="green" selected>Holdes øje med' in watched
    assert "Ingen åbne opgaver." in _section(watched, 'id="worklist-rows"')
    assert "Holdes øje med (2)" in watched
    red = client.get("/", params={"band": "red"}).text
    assert f'data-citizen="{anna}"' in red and 'id="watch-rows"' not in red

    # her page: the watch in its own card, resolvable, not acknowledgeable
    citizen = client.get(f"/citizens/{anna}").text
    card = _section(citizen, 'class="card card-watches"', '<div class="card card-plan">')
    assert "Holdes øje med (1)" in card and ANNA_WATCH in card
    assert "set 3 gange siden 21.11.2026 08.00" in card
    assert f"/ui/alerts/{anna_watch}/resolve" in card
    assert f"/ui/alerts/{anna_watch}/acknowledge" not in citizen
    assert "Åbne alarmer (2)" in citizen
    with Session(engine) as s:
        assert {s.get(Alert, a).status for a in (anna_watch, arne_watch)} == {"open"}  # type: ignore[union-attr]


def test_a_citizen_with_a_task_and_a_watch_is_audited_once_per_page_read(
    client: TestClient, world: World, engine: Engine
) -> None:
    """Anna is a task row and a lower-band row on the same page: one ``worklist.page.read``
    per read of the page (and of its live fragment), not one per list she is in."""
    _watches(engine, world)
    anna, arne = world.a.citizen_ids
    login(client, "nurse-a")
    assert client.get("/").status_code == 200
    assert client.get("/ui/worklist/rows").status_code == 200
    with Session(engine) as s:
        events = s.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "worklist.page.read")
        ).all()
    # three reads: the page the login lands on, the page again, the live fragment
    assert Counter(e.citizen_id for e in events) == {anna: 3, arne: 3}


def test_the_citizens_alert_and_watch_cards_are_one_markup_each_resolve_naming_its_reason(
    client: TestClient, world: World, engine: Engine
) -> None:
    """One item for an alert and a watch (issue 13): the same badge, reason, meta and
    "Afslut…" disclosure, whose name says which reason it closes (a screen reader hears
    more than "Afslut…" three times); only the alert has an acknowledge form."""
    anna_watch, _ = _watches(engine, world)
    red = world.a.alert_ids[0]
    login(client, "nurse-a")
    page = client.get(f"/citizens/{world.a.citizen_ids[0]}").text
    alerts = _section(page, 'class="card card-alerts"', '<div class="card card-watches">')
    watches = _section(page, 'class="card card-watches"', '<div class="card card-plan">')
    assert f"/ui/alerts/{red}/resolve" in alerts and f"/ui/alerts/{anna_watch}/resolve" in watches
    for card in (alerts, watches):
        items = card.split("<li ")[1:]
        assert items
        for item in items:
            why = re.search(r'<span class="why">(.*?)</span>', item, re.S)
            summary = re.search(r"<summary>(.*?)</summary>", item, re.S)
            assert why and summary, item
            assert summary.group(1).startswith("Afslut…")
            assert f'<span class="visually-hidden"> {why.group(1)}</span>' in summary.group(1)
    assert ANNA_WATCH in watches
    for card in (alerts, watches):
        assert '<span class="badge badge-' in card and '<span class="why">' in card
        assert '<span class="alert-meta">' in card
    assert f"/ui/alerts/{red}/acknowledge" in alerts
    assert "/acknowledge" not in watches
