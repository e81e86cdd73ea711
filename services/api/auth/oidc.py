"""OpenID Connect login (authorization code flow with PKCE) against a configured issuer.

Discovery and the issuer's keys are fetched on first use (nothing at start-up), then cached;
an unknown key id refreshes the key set once (key rotation).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt


class OidcError(Exception):
    """The issuer could not be reached, or what it answered does not verify."""


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    issuer: str
    subject: str


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str


class OidcClient:
    def __init__(
        self, *, issuer: str, client_id: str, client_secret: str, scopes: str, timeout: float = 5.0
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._scopes = scopes
        self._timeout = timeout
        self._lock = threading.Lock()
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, Any] = {}

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("issuer not reachable") from exc
        if not isinstance(data, dict):
            raise OidcError("issuer answered something that is not a JSON object")
        return data

    def discovery(self) -> dict[str, Any]:
        with self._lock:
            if self._discovery is None:
                found = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcError("discovery document names another issuer")
                self._discovery = found
            return self._discovery

    def _refresh_keys(self) -> None:
        jwks = self._get_json(str(self.discovery()["jwks_uri"]))
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                keys[str(jwk.get("kid", ""))] = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        with self._lock:
            self._keys = keys

    def _key_for(self, token: str) -> Any:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise OidcError("token not valid") from exc
        if kid not in self._keys:
            self._refresh_keys()
        if kid not in self._keys:
            raise OidcError("token signed with an unknown key")
        return self._keys[kid]

    def verify(self, token: str, *, nonce: str | None = None) -> OidcIdentity:
        """Verify an ID token (or JWT access token) issued to this client: RS256 signature
        from the issuer's keys, issuer, audience, expiry and (for logins) the nonce."""
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise OidcError("token not valid") from exc
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("nonce does not match")
        return OidcIdentity(issuer=self.issuer, subject=str(claims["sub"]))

    def authorization_request(self, *, redirect_uri: str) -> AuthorizationRequest:
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self._scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        endpoint = str(self.discovery()["authorization_endpoint"])
        return AuthorizationRequest(
            url=f"{endpoint}?{query}", state=state, nonce=nonce, verifier=verifier
        )

    def exchange(self, *, code: str, redirect_uri: str, verifier: str, nonce: str) -> OidcIdentity:
        """Trade the authorization code for tokens and verify the ID token."""
        try:
            response = httpx.post(
                str(self.discovery()["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "code_verifier": verifier,
                },
                timeout=self._timeout,
            )
            response.raise_for_status()
            id_token = response.json().get("id_token")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise OidcError("code exchange failed") from exc
        if not isinstance(id_token, str):
            raise OidcError("no id_token in the token response")
        return self.verify(id_token, nonce=nonce)
