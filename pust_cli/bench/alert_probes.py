"""Red-reading probes: tablets in a care team of their own send one SpO2 reading far below
the red limit each, mixed into the paced load. Two watchers poll for the result: the
database (alert committed by the alerts service) and the worklist API as the team's nurse
sees it. Polling adds up to one poll interval to each number."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select
from sqlmodel import col

from pust.db.engine import session_scope
from pust.db.tables import Alert, DeviceAssignment, Reading, StaffMembership, StaffUser
from pust.messaging.topics import DeviceChannel
from pust_cli.bench.http_clients import WORKLIST
from pust_cli.bench.workload import BenchMessage
from pust_cli.simulator.enrolment import enrol_cohort

DB_POLL_SECONDS = 0.01
API_POLL_SECONDS = 0.02
RED_SPO2 = 80  # far below the starting configuration's red limit (88 %)


@dataclass(frozen=True, slots=True)
class Probe:
    device_id: str
    citizen_id: str
    care_team_id: str


def enrol_probes(
    engine: Engine,
    *,
    prefix: str,
    count: int,
    password_hash: str,
    valid_from: datetime,
    cpr_base: int = 9_000_000,
) -> tuple[list[Probe], str]:
    """Probe tablets, each in a care team of its own (so the nurse's worklist for that team
    lists one citizen, and polling it writes one audit event), and one nurse in all those
    teams; returns (probes, nurse username)."""
    probes: list[Probe] = []
    for n in range(count):
        device = f"{prefix}-probe-{n:03d}"
        team_id = enrol_cohort(
            engine,
            device_ids=[device],
            valid_from=valid_from,
            care_team_name=f"{prefix} probe {n:03d}",
            cpr_offset=cpr_base + n,
        )
        with session_scope(engine) as session:
            citizen = session.execute(
                select(col(DeviceAssignment.citizen_id)).where(
                    col(DeviceAssignment.device_id) == device
                )
            ).scalar_one()
        probes.append(Probe(device, str(citizen), str(team_id)))
    nurse = f"{prefix}-probe-nurse"
    nurse_id = uuid.uuid4()
    with session_scope(engine) as session:
        session.execute(
            insert(StaffUser),
            [
                {
                    "id": nurse_id,
                    "username": nurse,
                    "display_name": "Probe",
                    "role": "nurse",
                    "password_hash": password_hash,
                }
            ],
        )
        session.execute(
            insert(StaffMembership),
            [{"staff_id": nurse_id, "care_team_id": uuid.UUID(p.care_team_id)} for p in probes],
        )
    return probes, nurse


def probe_messages(devices: Sequence[str]) -> list[BenchMessage]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    messages = []
    for device in devices:
        message_id = str(uuid.uuid4())
        payload = {
            "message_id": message_id,
            "sent_at": now,
            "observations": [
                {"type": "spo2", "value": RED_SPO2, "unit": "%", "measured_at": now},
            ],
        }
        messages.append(
            BenchMessage(
                device, DeviceChannel.MEASUREMENTS, message_id, json.dumps(payload).encode()
            )
        )
    return messages


def interleave(load: list[BenchMessage], probes: list[BenchMessage]) -> list[BenchMessage]:
    """Spread the probes evenly through the load, away from its very start."""
    if not probes:
        return list(load)
    step = max(1, len(load) // (len(probes) + 1))
    mixed: list[BenchMessage] = []
    pending = list(probes)
    for index, message in enumerate(load):
        mixed.append(message)
        if pending and index % step == step - 1:
            mixed.append(pending.pop(0))
    return mixed + pending


class ProbeWatch:
    def __init__(
        self,
        engine: Engine,
        probes: Sequence[Probe],
        *,
        api_base_url: str | None,
        token: str | None,
    ) -> None:
        self._engine = engine
        self._teams = {p.citizen_id: p.care_team_id for p in probes}
        self._citizen_of_device = {p.device_id: p.citizen_id for p in probes}
        self._citizens = set(self._teams)
        self._sent: set[str] = set()
        self._api = api_base_url
        self._token = token
        self.committed: dict[str, float] = {}
        self.visible: dict[str, float] = {}
        # the probe's reading row committed by ingest (monotonic, first poll that saw it),
        # and when ingest received it (its own clock, wall time: reading.received_at)
        self.stored: dict[str, float] = {}
        self.arrived_at: dict[str, datetime] = {}
        self.errors: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def mark_sent(self, message: BenchMessage) -> None:
        citizen = self._citizen_of_device.get(message.device_id)
        if citizen is not None:
            self._sent.add(citizen)

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._watch_db, daemon=True))
        if self._api and self._token:
            self._threads.append(threading.Thread(target=self._watch_api, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done_db = len(self.committed) >= len(self._citizens)
            done_api = not self._threads[1:] or len(self.visible) >= len(self._citizens)
            if done_db and done_api:
                return
            time.sleep(0.1)

    def drain_latencies(
        self, *, since: float, receipt_at: dict[str, float | None]
    ) -> dict[str, list[float]]:
        """Per red reading seen in the worklist, ms from: ``since`` (monotonic: ingest's
        restart); ingest's own arrival time (``reading.received_at``; wall clocks of the
        same machine); the row's commit (the DB poll that first saw it, ≤ 10 ms late); its
        receipt at the bench's tablet side (``receipt_at`` by citizen: the driver's network
        thread, so it includes the receipt's own way through ingest's MQTT client and the
        broker, which during a drain is long)."""
        wall_offset = time.time() - time.monotonic()
        found: dict[str, list[float]] = {
            "restart": [],
            "arrival": [],
            "commit": [],
            "receipt": [],
            "commit_to_alert": [],
        }
        for citizen, seen in self.visible.items():
            found["restart"].append((seen - since) * 1000)
            arrived = self.arrived_at.get(citizen)
            if arrived is not None:
                found["arrival"].append((seen + wall_offset - arrived.timestamp()) * 1000)
            stored = self.stored.get(citizen)
            if stored is not None:
                found["commit"].append((seen - stored) * 1000)
                if citizen in self.committed:
                    found["commit_to_alert"].append((self.committed[citizen] - stored) * 1000)
            receipted = receipt_at.get(citizen)
            if receipted is not None:
                found["receipt"].append((seen - receipted) * 1000)
        return found

    def timeline(
        self, *, since: float, receipt_at: dict[str, float | None]
    ) -> list[dict[str, Any]]:
        """Per red reading, seconds after ``since``: arrival at ingest, row committed, alert
        committed, receipt at the tablet side, visible in the worklist (by arrival)."""
        wall_offset = time.time() - time.monotonic()

        def after(at: float | None) -> float | None:
            return None if at is None else round(at - since, 2)

        rows = []
        for citizen in self._citizens:
            arrived = self.arrived_at.get(citizen)
            rows.append(
                {
                    "arrived": after(arrived.timestamp() - wall_offset if arrived else None),
                    "committed": after(self.stored.get(citizen)),
                    "alert": after(self.committed.get(citizen)),
                    "receipt": after(receipt_at.get(citizen)),
                    "visible": after(self.visible.get(citizen)),
                }
            )
        return sorted(rows, key=lambda row: row["arrived"] or 1e9)

    def _count(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def _watch_db(self) -> None:
        citizens = [uuid.UUID(c) for c in self._citizens]
        query = select(col(Alert.citizen_id)).where(col(Alert.citizen_id).in_(citizens))
        readings = select(col(Reading.citizen_id), col(Reading.received_at)).where(
            col(Reading.citizen_id).in_(citizens)
        )
        with self._engine.connect() as connection:
            while not self._stop.wait(DB_POLL_SECONDS):
                try:
                    found = {str(c) for c in connection.execute(query).scalars()}
                    stored = {
                        str(c): at
                        for c, at in connection.execute(readings)
                        if str(c) not in self.stored
                    }
                    connection.rollback()  # a fresh snapshot for the next poll
                except Exception as exc:
                    self._count(f"db:{type(exc).__name__}")
                    continue
                now = time.monotonic()
                for citizen in found - self.committed.keys():
                    self.committed[citizen] = now
                for citizen, received_at in stored.items():
                    self.stored[citizen] = now
                    self.arrived_at[citizen] = received_at

    def _watch_api(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        with httpx.Client(base_url=str(self._api), headers=headers, timeout=10) as client:
            while not self._stop.wait(API_POLL_SECONDS):
                for citizen in sorted(set(self._sent) - self.visible.keys()):
                    self._poll_team(client, citizen)

    def _poll_team(self, client: httpx.Client, citizen: str) -> None:
        params: dict[str, str | int] = {"limit": 5, "care_team_id": self._teams[citizen]}
        try:
            response = client.get(WORKLIST, params=params)
        except httpx.HTTPError as exc:
            self._count(f"api:{type(exc).__name__}")
            return
        if response.status_code != 200:
            self._count(f"api:{response.status_code}")
            return
        rows: list[dict[str, Any]] = response.json().get("items", [])
        if any(str(row.get("citizen_id")) == citizen for row in rows):
            self.visible[citizen] = time.monotonic()
