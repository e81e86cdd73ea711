"""The one I/O seam to the regional FHIR server: POST a body, classify the answer.

Foreign exceptions stop here: an httpx error becomes a ``retry`` outcome with a short
reason (the exception class, never its text, which can echo the request).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from services.bridge.settings import BridgeSettings

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class SendOutcome:
    kind: Literal["sent", "retry", "refused"]
    status: int | None
    reason: str


class Transport(Protocol):
    def submit(self, parameters: dict[str, Any]) -> SendOutcome: ...

    def close(self) -> None: ...


class HttpTransport:
    def __init__(self, settings: BridgeSettings) -> None:
        headers = {
            "Content-Type": "application/fhir+json; charset=UTF-8",
            "Accept": "application/fhir+json",
        }
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.get_secret_value()}"
        self._url = settings.submit_url
        # never follow redirects: a Location header must not steer the bridge off the list
        self._client = httpx.Client(
            timeout=settings.timeout_seconds, headers=headers, follow_redirects=False
        )

    def submit(self, parameters: dict[str, Any]) -> SendOutcome:
        body = json.dumps(parameters, separators=(",", ":")).encode()
        try:
            response = self._client.post(self._url, content=body)
        except httpx.HTTPError as exc:
            return SendOutcome("retry", None, type(exc).__name__)
        return classify(response.status_code, response.content)

    def close(self) -> None:
        self._client.close()


def classify(status: int, content: bytes) -> SendOutcome:
    if 200 <= status < 300:
        return SendOutcome("sent", status, "ok")
    reason = f"http {status}{_issue_codes(content)}"
    if status in RETRYABLE or status >= 500:
        return SendOutcome("retry", status, reason)
    return SendOutcome("refused", status, reason)


def _issue_codes(content: bytes) -> str:
    """The OperationOutcome's issue codes only (diagnostics may quote values)."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(document, dict) or document.get("resourceType") != "OperationOutcome":
        return ""
    codes = [str(i.get("code")) for i in document.get("issue", []) if isinstance(i, dict)]
    return f" ({', '.join(codes[:5])})" if codes else ""
