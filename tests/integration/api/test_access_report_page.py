"""The access report page: for the citizen's team lead and administrators, in Danish,
grouped by person and day, with changes apart from pages that merely listed the citizen."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.api.test_web import login
from tests.integration.api.world import World


def test_the_access_report_groups_people_and_keeps_listings_apart(
    client: TestClient, world: World
) -> None:
    citizen = world.a.citizen_ids[0]
    csrf = login(client, "nurse-a")
    client.get("/")  # the worklist lists the citizen (login opened it once already)
    client.get(f"/citizens/{citizen}")
    client.post(f"/ui/citizens/{citizen}/notes", data={"csrf_token": csrf, "text": "Ringet op"})
    assert client.get(f"/citizens/{citizen}/access-report").status_code == 403  # a nurse
    client.cookies.clear()

    login(client, "lead-a")
    page = client.get(f"/citizens/{citizen}/access-report")
    assert page.status_code == 200
    html = page.text
    assert "Hvem har set borgerens data" in html
    nurse = re.search(
        r'<section class="access-person" aria-label="nurse-a, [^"]+">(.*?)</section>', html, re.S
    )
    assert nurse is not None, html
    block = nurse.group(1)
    assert "(Sygeplejerske)" in block
    changed = block.split("<h4>Ændrede</h4>")[1].split("</ul>")[0]
    assert "Skrev en note" in changed
    opened = block.split("<h4>Åbnede</h4>")[1].split("</ul>")[0]
    assert "Åbnede borgerens side" in opened
    assert "Så borgeren i en liste: 2 gange" in block
    assert "worklist.page.read" not in html and "citizen.page.read" not in html

    # an administrator sees it too; another team's citizen is answered like a missing one
    client.cookies.clear()
    login(client, "admin")
    assert client.get(f"/citizens/{citizen}/access-report").status_code == 200
    client.cookies.clear()
    login(client, "lead-a")
    other = client.get(f"/citizens/{world.b.citizen_ids[0]}/access-report")
    assert other.status_code == 404
    assert "Bodil" not in other.text
