"""The api service's own settings (``PUST_API_*``), beside the shared :class:`Settings`."""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``"127.0.0.1, ::1, 10.0.0.0/8"`` → networks; raises ValueError on a bad entry."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_API_", extra="ignore")

    # uvicorn worker processes sharing the listening socket (1: one process, no supervisor)
    workers: int = Field(default=1, ge=1, le=64)
    # OIDC login (production): empty issuer = local passwords only
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid profile email"
    # bearer tokens and browser sessions
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    session_minutes: int = Field(default=10 * 60, ge=5, le=24 * 60)
    # Outside demo mode the cookies are Secure (HTTPS only). Plain HTTP outside demo mode
    # (a test rig, a closed lab network) must say so explicitly; start-up then warns.
    insecure_http: bool = False
    # Deprecated (before: the only way to get Secure cookies). true keeps cookies Secure in
    # every mode; false no longer turns Secure off (that is insecure_http). Start-up warns.
    secure_cookies: bool | None = None
    # Addresses (and networks) of the reverse proxies whose X-Forwarded-Proto and
    # X-Forwarded-For are believed; everyone else's are ignored.
    trusted_proxies: str = "127.0.0.1,::1"
    # Strict-Transport-Security max-age on answers to HTTPS requests (0: no header)
    hsts_seconds: int = Field(default=365 * 24 * 3600, ge=0)
    # login throttling (services/api/README.md, "Login throttling")
    login_free_failures_pair: int = Field(default=5, ge=1)
    login_free_failures_address: int = Field(default=10, ge=1)
    login_free_failures_account: int = Field(default=10, ge=1)
    login_max_delay_seconds: int = Field(default=15 * 60, ge=1)
    login_forget_hours: int = Field(default=24, ge=1)
    login_familiar_days: int = Field(default=90, ge=1)
    # the worklist's live updates poll the database this often
    live_poll_seconds: float = Field(default=1.0, gt=0, le=30)
    live_stream_seconds: float = Field(default=300.0, gt=0)
    # tablet pairing: how long a code is valid; whether nurses and team leads of the
    # citizen's team may create codes (administrators always may); attempts per client
    # address and minute at POST /api/v1/enrolment/pair
    pairing_code_minutes: int = Field(default=15, ge=1, le=24 * 60)
    nurses_may_pair: bool = False
    pairing_attempts_per_minute: int = Field(default=10, ge=1, le=1000)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IpNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def cookies_secure(self, *, demo: bool) -> bool:
        """Whether cookies carry ``Secure`` whatever the request's scheme."""
        if self.secure_cookies:
            return True
        return not (demo or self.insecure_http)

    def start_up_warnings(self, *, demo: bool) -> list[str]:
        warnings = []
        if self.secure_cookies is not None:
            warnings.append(
                "PUST_API_SECURE_COOKIES is deprecated and will be removed: cookies are Secure "
                "outside demo mode by default; for plain HTTP set PUST_API_INSECURE_HTTP=true"
            )
        if not demo and not self.cookies_secure(demo=demo):
            warnings.append(
                "PUST_API_INSECURE_HTTP=true: session cookies are sent over plain HTTP; "
                "never do this where staff log in over a network"
            )
        return warnings
