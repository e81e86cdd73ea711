"""Settings of the push bridge (``PUST_BRIDGE_*``), beside the shared :class:`Settings`.

The target is allow-listed: ``PUST_BRIDGE_BASE_URL`` (and ``PUST_BRIDGE_TOKEN_URL``, FUT's
token endpoint, when set) must name a host listed in ``PUST_BRIDGE_ALLOWED_HOSTS``
(comma-separated, exact host names), use https (plain http only with
``PUST_BRIDGE_ALLOW_HTTP=true``, for a local test server), and carry no credentials, query or
fragment. Nothing else is ever contacted: the bridge builds every request URL from these two,
and never follows redirects. That is the whole SSRF defence: no URL in the
database or in a response can steer the bridge elsewhere.
"""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pust.fhir.identifiers import DEFAULT_IDENTIFIER_SYSTEM


class BridgeTargetRefused(ValueError):
    """The configured FHIR base URL is not on the allow-list (or is malformed)."""


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_BRIDGE_", extra="ignore")

    enabled: bool = False
    base_url: str = ""
    allowed_hosts: str = ""
    allow_http: bool = False
    bearer_token: SecretStr | None = None
    # FUT's OAuth flow (services/bridge/tokens.py): set token_url to use it instead of the
    # static bearer token; one token per patient and episode, cached until expiry
    token_url: str = ""
    token_grant: Literal["password", "client_credentials"] = "password"  # noqa: S105
    client_id: str = ""
    client_secret: SecretStr | None = None
    token_username: str = ""
    token_password: SecretStr | None = None
    token_scope: str = "openid practitioner"  # noqa: S105 - a scope
    # the context the tokens are scoped to besides patient and episode (full FHIR URLs)
    organization_id: str = ""
    care_team_id: str = ""
    token_expiry_margin_seconds: float = Field(default=30.0, ge=0, le=3600)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    batch_size: int = Field(default=50, ge=1, le=1000)
    # requests in flight at once (each its own claim, so they never overlap)
    concurrency: int = Field(default=4, ge=1, le=32)
    max_attempts: int = Field(default=12, ge=1, le=1000)
    backoff_initial_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=900.0, gt=0)
    # a claimed submission is retried by anyone after this long (a bridge that died mid-send)
    lease_seconds: float = Field(default=60.0, gt=0)
    # new readings are looked for this far back on each poll; the first poll after start
    # looks back to the regional link, so downtime of any length is caught up
    lookback_hours: float = Field(default=48.0, gt=0)
    # a lone systolic or diastolic waits this long for its partner before it goes alone
    bp_pair_grace_seconds: float = Field(default=30.0, ge=0)
    # one device session: a tablet message's readings and the questionnaire the citizen
    # answered on that tablet within this many seconds of them go in one submission (each
    # side waits up to this long for the other; 0 = never joined)
    session_window_seconds: float = Field(default=300.0, ge=0, le=3600)
    # Device references: "literal" = learned from FUT's device service once per device
    # (searched by identifier, created if missing, kept in regional_device); "identifier" =
    # a logical reference (a target without a device service)
    device_references: Literal["literal", "identifier"] = "literal"
    # FUT's device service (its own base, e.g. https://device.<env>…/fhir); "" = base_url
    device_base_url: str = ""
    # pust's NamingSystem URI for the identifiers of what it sends (never change after go-live)
    identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM
    # ifNoneExist: "auto" = per resource type as the target's CapabilityStatement declares
    # (read at start-up; FUT 8.0.0's when it cannot be read), "never", "always"
    conditional_create: Literal["auto", "never", "always"] = "auto"
    # how FUT treats a measurement pust invalidates after sending (clinicalimpression-decision)
    invalidation_decision: Literal["invalidated-fulfills", "invalidated-is-not-fulfillment"] = (
        "invalidated-is-not-fulfillment"
    )
    # the backfill's pace (submissions per second): FUT names no bulk route for history
    backfill_per_second: float = Field(default=5.0, gt=0, le=1000)
    metrics_port: int = Field(default=9104, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @property
    def allowed_host_set(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    @model_validator(mode="after")
    def _allow_listed(self) -> Self:
        if self.base_url:
            check_target(self.base_url, self.allowed_host_set, allow_http=self.allow_http)
        if self.device_base_url:
            check_target(self.device_base_url, self.allowed_host_set, allow_http=self.allow_http)
        if self.token_url:
            check_target(self.token_url, self.allowed_host_set, allow_http=self.allow_http)
            if not self.client_id:
                raise BridgeTargetRefused("PUST_BRIDGE_TOKEN_URL needs PUST_BRIDGE_CLIENT_ID")
            if self.token_grant == "password" and not self.token_username:  # noqa: S105
                raise BridgeTargetRefused(
                    "the password grant needs PUST_BRIDGE_TOKEN_USERNAME and _PASSWORD"
                )
        return self

    @property
    def submit_url(self) -> str:
        return self.base_url.rstrip("/") + "/$submit-measurement"


def check_target(url: str, allowed: frozenset[str], *, allow_http: bool) -> None:
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise BridgeTargetRefused(f"scheme {parts.scheme!r} is not allowed for the FHIR target")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise BridgeTargetRefused("a bridge URL carries no credentials, query or fragment")
    host = (parts.hostname or "").lower()
    if not host or host not in allowed:
        raise BridgeTargetRefused("a bridge URL's host is not in PUST_BRIDGE_ALLOWED_HOSTS")


def load_bridge_settings(**overrides: object) -> BridgeSettings:
    return BridgeSettings(**overrides)  # type: ignore[arg-type]
