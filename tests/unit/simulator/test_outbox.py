"""The tablet's outbox: what is due for a re-send, and what a receipt removes."""

from __future__ import annotations

from pust_cli.simulator.outbox import OutboxEntry, SqliteOutbox


def _entry(message_id: str, device: str = "tab-001") -> OutboxEntry:
    return OutboxEntry(device, message_id, f"root/devices/{device}/measurements", b"{}")


def test_a_receipt_removes_only_its_own_message() -> None:
    outbox = SqliteOutbox()
    outbox.put(_entry("m1"))
    outbox.put(_entry("m2"))
    outbox.put(_entry("m1", device="tab-002"))
    assert outbox.remove("tab-001", "m1")
    assert not outbox.remove("tab-001", "m1")  # a second receipt for the same message
    assert {(e.device_id, e.message_id) for e in outbox.all_entries()} == {
        ("tab-001", "m2"),
        ("tab-002", "m1"),
    }
    assert outbox.depth() == 2
    assert outbox.depth("tab-001") == 1


def test_putting_the_same_message_twice_keeps_one() -> None:
    outbox = SqliteOutbox()
    outbox.put(_entry("m1"))
    outbox.put(_entry("m1"))
    assert outbox.depth() == 1


def test_due_returns_everything_once_then_waits() -> None:
    outbox = SqliteOutbox()
    outbox.put(_entry("m1"))
    outbox.put(_entry("m2"))
    assert [e.message_id for e in outbox.due(0)] == ["m1", "m2"]
    # just re-sent: not due again until the re-send interval has passed
    assert outbox.due(3600) == []
    assert outbox.depth() == 2
