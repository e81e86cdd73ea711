"""The one I/O seam to the regional FHIR server: POST a body, search by identifier, read the
CapabilityStatement; classify the answer.

Foreign exceptions stop here: an httpx error becomes a ``retry`` outcome with a short
reason (the exception class, never its text, which can echo the request).

Tokens come from a :class:`TokenSource` per request, for the citizen's patient and episode
of care (FUT's measurement server wants a token in that context; the reference clients get
one per patient/episode): :class:`services.bridge.tokens.OAuthContextTokens` when
``PUST_BRIDGE_TOKEN_URL`` is set, else :class:`StaticToken` (``PUST_BRIDGE_BEARER_TOKEN``)
for a target that does not scope tokens. A token that cannot be had is a ``retry``; a 401
drops the cached token and the request is tried once more with a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import httpx

from pust.domain.clock import Clock, SystemClock
from services.bridge.settings import BridgeSettings
from services.bridge.tokens import OAuthContextTokens, TokenContext, TokenUnavailable

__all__ = ["HttpTransport", "StaticToken", "TokenContext", "TokenSource", "token_source"]

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class TokenSource(Protocol):
    def token(self, context: TokenContext | None) -> str | None: ...

    def invalidate(self, context: TokenContext | None) -> None: ...


@dataclass(frozen=True, slots=True)
class StaticToken:
    value: str | None

    def token(self, context: TokenContext | None) -> str | None:
        return self.value

    def invalidate(self, context: TokenContext | None) -> None:
        pass


def token_source(settings: BridgeSettings, clock: Clock | None = None) -> TokenSource:
    """FUT's OAuth flow when ``PUST_BRIDGE_TOKEN_URL`` is set, else the static token."""
    if settings.token_url:
        return OAuthContextTokens(settings, clock or SystemClock())
    secret = settings.bearer_token
    return StaticToken(secret.get_secret_value() if secret is not None else None)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    kind: Literal["sent", "retry", "refused"]
    status: int | None
    reason: str
    document: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """A search's answer: ``kind`` ``ok`` with the matches' (literal reference, version)."""

    kind: Literal["ok", "retry", "refused"]
    matches: list[tuple[str, str | None]] = field(default_factory=list)
    reason: str = "ok"


class Transport(Protocol):
    def submit(
        self, parameters: dict[str, Any], context: TokenContext | None = None
    ) -> SendOutcome: ...

    def post(
        self, path: str, body: dict[str, Any], context: TokenContext | None = None
    ) -> SendOutcome: ...

    def find(
        self, resource_type: str, system: str, value: str, context: TokenContext | None = None
    ) -> Found: ...

    def create_device(
        self, body: dict[str, Any], if_none_exist: str, context: TokenContext | None = None
    ) -> SendOutcome: ...

    def capability(self) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class HttpTransport:
    def __init__(self, settings: BridgeSettings, tokens: TokenSource | None = None) -> None:
        headers = {
            "Content-Type": "application/fhir+json; charset=UTF-8",
            "Accept": "application/fhir+json",
        }
        self._tokens = tokens if tokens is not None else token_source(settings)
        self._base = settings.base_url.rstrip("/")
        self._device_base = (settings.device_base_url or settings.base_url).rstrip("/")
        # never follow redirects: a Location header must not steer the bridge off the list
        self._client = httpx.Client(
            timeout=settings.timeout_seconds, headers=headers, follow_redirects=False
        )

    def _auth(self, context: TokenContext | None) -> dict[str, str]:
        token = self._tokens.token(context)  # may raise TokenUnavailable
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _request(
        self,
        method: str,
        url: str,
        context: TokenContext | None,
        content: bytes | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request with the context's token; on 401 once more with a fresh token."""
        headers = {**(extra or {}), **self._auth(context)}
        response = self._client.request(method, url, content=content, headers=headers)
        if response.status_code == 401:
            self._tokens.invalidate(context)
            headers = {**(extra or {}), **self._auth(context)}
            response = self._client.request(method, url, content=content, headers=headers)
        return response

    def create_device(
        self, body: dict[str, Any], if_none_exist: str, context: TokenContext | None = None
    ) -> SendOutcome:
        """``POST [device base]/Device`` as a conditional create (FUT's device service
        declares it); the answer's Location or body names the Device."""
        content = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._request(
                "POST",
                f"{self._device_base}/Device",
                context,
                content,
                {"If-None-Exist": if_none_exist},
            )
        except TokenUnavailable as exc:
            return SendOutcome("retry", None, str(exc))
        except httpx.HTTPError as exc:
            return SendOutcome("retry", None, type(exc).__name__)
        outcome = classify(response.status_code, response.content)
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        if outcome.kind == "sent" and location:
            reference = location.split("/_history/")[0]
            if not reference.startswith("http"):
                reference = f"{self._device_base}/{reference.lstrip('/')}"
            return SendOutcome("sent", outcome.status, "ok", {"reference": reference})
        document = outcome.document or {}
        if outcome.kind == "sent" and document.get("resourceType") == "Device" and "id" in document:
            reference = f"{self._device_base}/Device/{document['id']}"
            return SendOutcome("sent", outcome.status, "ok", {"reference": reference})
        if outcome.kind == "sent":
            return SendOutcome("retry", outcome.status, "device created but not named")
        return outcome

    def submit(
        self, parameters: dict[str, Any], context: TokenContext | None = None
    ) -> SendOutcome:
        return self.post("$submit-measurement", parameters, context)

    def post(
        self, path: str, body: dict[str, Any], context: TokenContext | None = None
    ) -> SendOutcome:
        content = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._request("POST", f"{self._base}/{path}", context, content)
        except TokenUnavailable as exc:
            return SendOutcome("retry", None, str(exc))
        except httpx.HTTPError as exc:
            return SendOutcome("retry", None, type(exc).__name__)
        return classify(response.status_code, response.content)

    def find(
        self, resource_type: str, system: str, value: str, context: TokenContext | None = None
    ) -> Found:
        query = urlencode({"identifier": f"{system}|{value}"})
        base = self._device_base if resource_type == "Device" else self._base
        try:
            response = self._request("GET", f"{base}/{resource_type}?{query}", context)
        except TokenUnavailable as exc:
            return Found("retry", reason=str(exc))
        except httpx.HTTPError as exc:
            return Found("retry", reason=type(exc).__name__)
        outcome = classify(response.status_code, response.content)
        if outcome.kind != "sent":
            return Found(outcome.kind, reason=outcome.reason)
        return Found("ok", matches_of(outcome.document, base))

    def capability(self) -> dict[str, Any] | None:
        try:
            response = self._request("GET", f"{self._base}/metadata", None)
        except (TokenUnavailable, httpx.HTTPError):
            return None
        outcome = classify(response.status_code, response.content)
        document = outcome.document
        if outcome.kind != "sent" or document is None:
            return None
        return document if document.get("resourceType") == "CapabilityStatement" else None

    def close(self) -> None:
        self._client.close()
        closer = getattr(self._tokens, "close", None)
        if callable(closer):
            closer()


def matches_of(bundle: dict[str, Any] | None, base: str) -> list[tuple[str, str | None]]:
    matches: list[tuple[str, str | None]] = []
    if not bundle or bundle.get("resourceType") != "Bundle":
        return matches
    for entry in bundle.get("entry", ()) or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or "id" not in resource:
            continue
        reference = entry.get("fullUrl") or f"{base}/{resource['resourceType']}/{resource['id']}"
        version = (resource.get("meta") or {}).get("versionId")
        matches.append((str(reference), str(version) if version is not None else None))
    return matches


def classify(status: int, content: bytes) -> SendOutcome:
    document = _document(content)
    if 200 <= status < 300:
        return SendOutcome("sent", status, "ok", document)
    reason = f"http {status}{_issue_codes(document)}"
    if status in RETRYABLE or status >= 500:
        return SendOutcome("retry", status, reason)
    return SendOutcome("refused", status, reason)


def _document(content: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def _issue_codes(document: dict[str, Any] | None) -> str:
    """The OperationOutcome's issue codes only (diagnostics may quote values)."""
    if document is None or document.get("resourceType") != "OperationOutcome":
        return ""
    codes = [str(i.get("code")) for i in document.get("issue", []) if isinstance(i, dict)]
    return f" ({', '.join(codes[:5])})" if codes else ""
