"""The tablet lifecycle on the administration page: a pairing code shown once that a
tablet can use, revoke only after a confirmation, the broker's state beside the health."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.integration.api.world import World

Headers = Callable[[str], dict[str, str]]


def test_a_pairing_code_made_on_the_page_pairs_a_tablet_once(
    client: TestClient, headers: Headers, world: World
) -> None:
    page = client.post(
        "/ui/pairing-codes",
        data={"citizen_id": str(world.a.citizen_ids[0])},
        headers=headers("admin"),
    )
    assert page.status_code == 200
    assert "Koden vises kun denne ene gang" in page.text
    shown = re.search(r"<strong[^>]*>([2-9A-Z]{4}-[2-9A-Z]{4})</strong>", page.text)
    assert shown is not None
    paired = client.post(
        "/api/v1/enrolment/pair",
        json={"code": shown.group(1), "device_id": world.a.device_ids[0]},
    )
    assert paired.status_code == 200
    admin = client.get("/admin", headers=headers("admin"))
    row = next(r for r in admin.text.split("<tr>") if f"<td>{world.a.device_ids[0]}</td>" in r)
    assert "afventer brokeren" in row  # the broker channel's row is owed


def test_revoking_asks_first_and_then_revokes(
    client: TestClient, headers: Headers, world: World
) -> None:
    device_id = world.a.device_ids[1]
    asked = client.post(
        f"/ui/devices/{device_id}/revoke", headers=headers("admin"), follow_redirects=False
    )
    assert asked.status_code == 303
    confirm = client.get(asked.headers["location"], headers=headers("admin"))
    assert f"Spær tabletten {device_id}?" in confirm.text
    done = client.post(
        f"/ui/devices/{device_id}/revoke",
        data={"confirm": "1"},
        headers=headers("admin"),
    )
    assert "Tabletten er spærret." in done.text
    device = client.get(f"/api/v1/devices/{device_id}", headers=headers("admin")).json()
    assert device["status"] == "revoked"


def test_unassigning_asks_first(client: TestClient, headers: Headers, world: World) -> None:
    page = client.get("/admin", headers=headers("admin"))
    device_id = world.a.device_ids[0]
    link = f"/admin?confirm_device={device_id}&amp;device_action=unassign#devices-h"
    assert link in page.text
    confirm = client.get(link.replace("&amp;", "&"), headers=headers("admin"))
    assert "Fjern tabletten fra" in confirm.text
