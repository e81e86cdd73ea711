"""Notification channels behind one small interface: webhook (HMAC-SHA256 signed) and
e-mail (SMTP). What is sent carries ids and categories only — never a CPR, a name or a
measured value: the recipient opens the worklist (behind login) to see the citizen.

A channel raises :class:`DeliveryError` for a failure worth retrying and
:class:`PermanentDeliveryError` for one that never will succeed (the outbox marks it dead
at once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from pust.db.tables.alerts import Alert

SIGNATURE_HEADER = "X-Pust-Signature"
TIMESTAMP_HEADER = "X-Pust-Timestamp"
DELIVERY_HEADER = "X-Pust-Delivery"

_SEVERITY_DA = {"red": "rød", "yellow": "gul", "green": "grøn"}
_KIND_DA = {
    "reading": "måling",
    "missed_measurement": "manglende måling",
    "silent_device": "tablet uden forbindelse",
    "technical": "teknisk fejl i vurderingen",
}


class DeliveryError(Exception):
    """A delivery failed; worth another attempt later."""


class PermanentDeliveryError(DeliveryError):
    """A delivery that will never succeed as it is (bad address, 4xx)."""


class Channel(Protocol):
    name: str

    def send(
        self, *, destination: str, payload: dict[str, Any], delivery_id: str, retain: bool = False
    ) -> None:
        """Deliver one message or raise :class:`DeliveryError` (``retain``: MQTT only)."""
        ...


def alert_notification(alert: Alert, *, event: str, now: datetime, **extra: Any) -> dict[str, Any]:
    """The body of a notification about an alert: ids and categories only."""
    return {
        "event": event,
        "alert_id": str(alert.id),
        "care_team_id": str(alert.care_team_id),
        "kind": alert.kind,
        "rule": alert.rule_key,
        "severity": alert.severity,
        "first_seen_at": alert.first_seen_at.isoformat(),
        "at": now.isoformat(),
        **extra,
    }


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp + "." + body`` (the timestamp stops replays)."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        *,
        secret: bytes,
        clock: Callable[[], datetime],
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError(
                "a webhook channel needs a signing secret (PUST_ALERTS_WEBHOOK_SECRET)"
            )
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)

    def close(self) -> None:
        self._client.close()

    def send(
        self, *, destination: str, payload: dict[str, Any], delivery_id: str, retain: bool = False
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            DELIVERY_HEADER: delivery_id,
        }
        try:
            response = self._client.post(destination, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise DeliveryError(f"webhook: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentDeliveryError(f"webhook: HTTP {response.status_code}")


def email_text(payload: dict[str, Any], worklist_url: str) -> tuple[str, str]:
    """Subject and body in Danish; ids and categories only."""
    severity = _SEVERITY_DA.get(str(payload.get("severity")), str(payload.get("severity")))
    kind = _KIND_DA.get(str(payload.get("kind")), str(payload.get("kind")))
    step = payload.get("step")
    subject = f"pust: {severity} alarm ({kind}) venter"
    if payload.get("event") == "alert.out_of_hours":
        subject = f"pust: {severity} alarm ({kind}) uden for åbningstid"
    lines = [
        f"En {severity} alarm ({kind}) er ikke kvitteret.",
        *([f"Eskaleringstrin: {step}"] if step else []),
        f"Alarm-id: {payload.get('alert_id')}",
        "",
        f"Åbn arbejdslisten: {worklist_url}",
    ]
    return subject, "\n".join(lines)


class EmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        worklist_url: str,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._worklist_url = worklist_url
        self._username, self._password = username, password
        self._starttls, self._timeout = starttls, timeout_seconds

    def send(
        self, *, destination: str, payload: dict[str, Any], delivery_id: str, retain: bool = False
    ) -> None:
        subject, body = email_text(payload, self._worklist_url)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = destination
        message["Subject"] = subject
        message["Message-ID"] = f"<{delivery_id}@pust>"
        message.set_content(body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError("email: recipient refused") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}") from exc
