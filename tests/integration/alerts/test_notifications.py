"""Webhook against a real local HTTP server, e-mail against a real aiosmtpd server, retries
with backoff and dead letters through the outbox."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.outbox import RetryPolicy, dead_letters, enqueue, requeue
from pust.db.tables import OutboxMessage
from pust.domain.clock import FrozenClock
from services.alerts.notifications import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EmailChannel,
    WebhookChannel,
    verify,
)
from services.alerts.relay import OutboxRelay
from services.alerts.service import UnconfiguredChannel
from tests.conftest import free_port

from .world import NOW

SECRET = b"webhook-test-secret"
PAYLOAD = {
    "event": "alert.escalated",
    "alert_id": "a1",
    "severity": "red",
    "kind": "reading",
    "step": "teamleder",
    "level": 1,
}


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()
    server = HTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


POLICY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5), max_attempts=3)


def _relay(engine: Engine, clock: FrozenClock, **channels: Any) -> OutboxRelay:
    return OutboxRelay(engine=engine, clock=clock, channels=channels, policy=POLICY)


def _row(engine: Engine, message_id: int) -> OutboxMessage:
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def _enqueue(engine: Engine, channel: str, destination: str, key: str) -> int:
    with session_scope(engine) as session:
        row = enqueue(
            session,
            channel=channel,
            destination=destination,
            payload=PAYLOAD,
            now=NOW,
            dedup_key=key,
        )
        assert row is not None and row.id is not None
        assert (
            enqueue(
                session,
                channel=channel,
                destination=destination,
                payload=PAYLOAD,
                now=NOW,
                dedup_key=key,
            )
            is None
        )
        return row.id


def test_webhook_is_signed_and_retried_with_backoff(
    engine: Engine, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.statuses = [503]
    clock = FrozenClock(NOW)
    webhook = WebhookChannel(secret=SECRET, clock=clock.now)
    relay = _relay(engine, clock, webhook=webhook)
    message_id = _enqueue(engine, "webhook", url, "k1")
    assert relay.run_once() == 1
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "webhook: HTTP 503")
    assert row.available_at == NOW + timedelta(seconds=10)
    assert relay.run_once() == 0  # backing off
    clock.advance(timedelta(seconds=10))
    assert relay.run_once() == 1
    assert _row(engine, message_id).status == "sent"
    headers, body = state.requests[-1]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(b"wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body) == PAYLOAD
    webhook.close()


def test_unreachable_webhook_goes_dead_after_max_attempts_and_can_be_requeued(
    engine: Engine,
) -> None:
    clock = FrozenClock(NOW)
    webhook = WebhookChannel(secret=SECRET, clock=clock.now, timeout_seconds=2)
    relay = _relay(engine, clock, webhook=webhook)
    message_id = _enqueue(engine, "webhook", f"http://127.0.0.1:{free_port()}/nobody", "k2")
    delays = []
    for _ in range(3):
        assert relay.run_once() == 1
        row = _row(engine, message_id)
        delays.append(row.available_at - clock.now())
        clock.set(row.available_at)
    assert delays[:2] == [timedelta(seconds=10), timedelta(seconds=20)]
    with session_scope(engine) as session:
        [dead] = dead_letters(session)
        assert (dead.id, dead.attempts, dead.last_error) == (message_id, 3, "webhook: ConnectError")
        assert requeue(session, message_id=message_id, now=clock.now())
    assert _row(engine, message_id).status == "pending"
    webhook.close()


def test_client_error_is_dead_at_once(engine: Engine, receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    state.statuses = [404]
    clock = FrozenClock(NOW)
    webhook = WebhookChannel(secret=SECRET, clock=clock.now)
    message_id = _enqueue(engine, "webhook", url, "k3")
    _relay(engine, clock, webhook=webhook).run_once()
    assert _row(engine, message_id).status == "dead"
    webhook.close()


def test_email_through_a_real_smtp_server(engine: Engine, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    clock = FrozenClock(NOW)
    email = EmailChannel(
        host="127.0.0.1",
        port=port,
        sender="pust@klinik.example",
        worklist_url="https://pust.example/worklist",
    )
    message_id = _enqueue(engine, "email", "lead@klinik.example", "k4")
    assert _relay(engine, clock, email=email).run_once() == 1
    assert _row(engine, message_id).status == "sent"
    [(sender, recipients, content)] = mailbox.messages
    assert (sender, recipients) == ("pust@klinik.example", ["lead@klinik.example"])
    mail = message_from_bytes(content)
    assert "rød alarm" in str(mail["Subject"]) or "r=C3=B8d" in str(mail["Subject"])
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"a1" in body and b"https://pust.example/worklist" in body


def test_email_server_down_is_retried(engine: Engine) -> None:
    clock = FrozenClock(NOW)
    email = EmailChannel(
        host="127.0.0.1",
        port=free_port(),
        sender="pust@x.example",
        worklist_url="https://pust.example/",
        timeout_seconds=2,
    )
    message_id = _enqueue(engine, "email", "lead@klinik.example", "k5")
    _relay(engine, clock, email=email).run_once()
    row = _row(engine, message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None and row.last_error.startswith("email:")


def test_unconfigured_channel_goes_dead_visibly(engine: Engine) -> None:
    clock = FrozenClock(NOW)
    message_id = _enqueue(engine, "email", "lead@klinik.example", "k6")
    _relay(engine, clock, email=UnconfiguredChannel("email")).run_once()
    row = _row(engine, message_id)
    assert (row.status, row.last_error) == ("dead", "email: channel not configured")


def test_leased_rows_are_not_delivered_twice_by_two_relays(
    engine: Engine, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    clock = FrozenClock(NOW)
    for i in range(20):
        _enqueue(engine, "webhook", url, f"many-{i}")
    webhooks = [WebhookChannel(secret=SECRET, clock=clock.now) for _ in range(2)]
    relays = [_relay(engine, clock, webhook=w) for w in webhooks]
    threads = [
        threading.Thread(target=lambda r=r: [r.run_once() for _ in range(5)]) for r in relays
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(state.requests) == 20
    with session_scope(engine) as session:
        assert {r.status for r in session.exec(select(OutboxMessage)).all()} == {"sent"}
    for webhook in webhooks:
        webhook.close()
