"""The api service's own settings (``PUST_API_*``), beside the shared :class:`Settings`."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_API_", extra="ignore")

    # OIDC login (production): empty issuer = local passwords only
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid profile email"
    # bearer tokens and browser sessions
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    session_minutes: int = Field(default=10 * 60, ge=5, le=24 * 60)
    # mark the session cookie Secure (off only for plain-HTTP demo and tests)
    secure_cookies: bool = False
    # lockout: after this many failed logins in a row the account waits lockout_minutes
    max_failed_logins: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # the worklist's live updates poll the database this often
    live_poll_seconds: float = Field(default=1.0, gt=0, le=30)
    live_stream_seconds: float = Field(default=300.0, gt=0)
    # tablet pairing: how long a code is valid; whether nurses and team leads of the
    # citizen's team may create codes (administrators always may); attempts per client
    # address and minute at POST /api/v1/enrolment/pair
    pairing_code_minutes: int = Field(default=15, ge=1, le=24 * 60)
    nurses_may_pair: bool = False
    pairing_attempts_per_minute: int = Field(default=10, ge=1, le=1000)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)
