"""Tokens in the patient's and episode's context, got as FUT's reference clients get them.

Source: ``fut-infrastructure/ehealth-reference-clients`` (commit 5ba7d36),
``common/.../security/EHealthRefreshTokenResponseClient.java``, ``DefaultEHealthUser.java``,
``EHealthContext.java`` and ``clinician-client/src/test/.../CreatePatientIT.java``:

1. **Log in** at the realm's token endpoint
   (``https://saml.<env>.ehealth.sundhed.dk/auth/realms/ehealth/protocol/openid-connect/token``):
   the reference clients' backend test uses the password grant (ROPC, ``grant_type=password``,
   ``client_id``, ``client_secret`` when confidential, ``username``, ``password``,
   ``scope=openid practitioner``); ``client_credentials`` is offered for a system client FUT
   registers so. The answer carries an access token without context and a refresh token.
2. **Scope the token**: FUT's Keycloak takes extra form parameters on the ``refresh_token``
   grant -- ``organization_id``, ``care_team_id``, ``patient_id``, ``episode_of_care_id`` (each a
   fully-qualified FHIR URL, only those present are sent) -- and issues an access token scoped
   to that tuple. The measurement server wants patient and episode in the token
   (``CitizenMeasurementAPI.submitMeasurement``: "the measurement server requires the episode in
   the token for authorisation").
3. **Cache** one token per context until ``expires_in`` less a margin; a newer refresh token in
   an answer replaces the old one (Keycloak may rotate them); a refused refresh
   (``invalid_grant``: the session expired) logs in again once.

The token endpoint is allow-listed like the FHIR target (https, host in
``PUST_BRIDGE_ALLOWED_HOSTS``, no redirects). Nothing of a token or a secret is logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from pust.domain.clock import Clock
from services.bridge.settings import BridgeSettings

log = logging.getLogger("pust.bridge")


class TokenUnavailable(RuntimeError):
    """No token could be had now (endpoint down, refused login): the request is retried."""


@dataclass(frozen=True, slots=True)
class TokenContext:
    """The context FUT scopes a token to: the citizen's Patient and EpisodeOfCare (literal
    URLs), and the organization and care team the bridge acts for (from settings)."""

    patient: str
    episode_of_care: str


@dataclass(slots=True)
class _Held:
    access_token: str
    expires_at: float  # clock seconds


class OAuthContextTokens:
    """The ``TokenSource`` for FUT: log in once, then one context-scoped token per patient and
    episode via the refresh-token grant with FUT's context parameters, cached until expiry."""

    def __init__(
        self,
        settings: BridgeSettings,
        clock: Clock,
        client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._client = client or httpx.Client(
            timeout=settings.timeout_seconds, follow_redirects=False
        )
        self._lock = threading.Lock()
        self._refresh_token: str | None = None
        self._session: _Held | None = None
        self._held: dict[TokenContext, _Held] = {}

    def token(self, context: TokenContext | None) -> str | None:
        with self._lock:
            if context is None:  # e.g. GET /metadata: the login's own token
                return self._login_token()
            held = self._held.get(context)
            if held is not None and self._fresh(held):
                return held.access_token
            held = self._scoped(context)
            self._held[context] = held
            return held.access_token

    def invalidate(self, context: TokenContext | None) -> None:
        """The server refused the token (401): get a new one next time."""
        with self._lock:
            if context is None:
                self._session = None
            else:
                self._held.pop(context, None)

    def close(self) -> None:
        self._client.close()

    def _fresh(self, held: _Held) -> bool:
        return self._clock.now().timestamp() < held.expires_at

    def _login_token(self) -> str:
        if self._session is None or not self._fresh(self._session):
            self._login()
        assert self._session is not None
        return self._session.access_token

    def _login(self) -> None:
        s = self._settings
        form: dict[str, str] = {"grant_type": s.token_grant, "client_id": s.client_id}
        if s.token_grant == "password":  # noqa: S105 - the grant's name
            form["username"] = s.token_username
            form["password"] = s.token_password.get_secret_value() if s.token_password else ""
        if s.token_scope:
            form["scope"] = s.token_scope
        answer = self._post(form, "login")
        self._session = self._held_of(answer)
        refresh = answer.get("refresh_token")
        self._refresh_token = refresh if isinstance(refresh, str) and refresh else None
        log.info("bridge.token_login grant=%s", s.token_grant)

    def _scoped(self, context: TokenContext) -> _Held:
        if self._refresh_token is None:
            self._login()
        try:
            return self._refresh(context)
        except _InvalidGrant:
            log.info("bridge.token_session_expired")
            self._login()
        try:
            return self._refresh(context)
        except _InvalidGrant:
            raise TokenUnavailable("token: refresh refused after a new login") from None

    def _refresh(self, context: TokenContext) -> _Held:
        if self._refresh_token is None:
            raise TokenUnavailable("token: the login gave no refresh token")
        form = {
            "grant_type": "refresh_token",
            "client_id": self._settings.client_id,
            "refresh_token": self._refresh_token,
            **self._context_form(context),
        }
        answer = self._post(form, "context")
        refresh = answer.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = refresh  # Keycloak may rotate refresh tokens
        return self._held_of(answer)

    def _context_form(self, context: TokenContext) -> dict[str, str]:
        form = {}
        if self._settings.organization_id:
            form["organization_id"] = self._settings.organization_id
        if self._settings.care_team_id:
            form["care_team_id"] = self._settings.care_team_id
        form["patient_id"] = context.patient
        form["episode_of_care_id"] = context.episode_of_care
        return form

    def _post(self, form: dict[str, str], step: str) -> dict[str, Any]:
        secret = self._settings.client_secret
        if secret is not None and secret.get_secret_value():
            form = {**form, "client_secret": secret.get_secret_value()}
        try:
            response = self._client.post(self._settings.token_url, data=form)
        except httpx.HTTPError as exc:
            raise TokenUnavailable(f"token: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        refused_grant = response.status_code == 400 and answer.get("error") == "invalid_grant"
        if refused_grant and step == "context":
            raise _InvalidGrant
        if response.status_code != 200 or not isinstance(answer.get("access_token"), str):
            named = answer.get("error")
            error = named if isinstance(named, str) else "-"  # an OAuth error code, no text
            log.warning(
                "bridge.token_refused step=%s status=%d error=%s",
                step,
                response.status_code,
                error[:40],
            )
            raise TokenUnavailable(f"token: {step} http {response.status_code}")
        return answer

    def _held_of(self, answer: dict[str, Any]) -> _Held:
        expires_in = answer.get("expires_in")
        seconds = float(expires_in) if isinstance(expires_in, int | float) else 60.0
        margin = min(self._settings.token_expiry_margin_seconds, seconds / 2)
        return _Held(str(answer["access_token"]), self._clock.now().timestamp() + seconds - margin)


class _InvalidGrant(Exception):
    pass
