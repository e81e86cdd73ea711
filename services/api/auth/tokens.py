"""Signed tokens (HS256 JWT with the service's secret key) for API bearer tokens and the
OIDC login state; CSRF tokens bound to the browser session (whose cookie is an opaque token
of a server-side session, :mod:`services.api.auth.session_store`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

ISSUER = "pust-api"
_ALGORITHM = "HS256"


class TokenInvalid(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TokenClaims:
    staff_id: uuid.UUID
    kind: str  # access | session
    session_id: str | None


def _key(secret: str, purpose: str) -> bytes:
    # one derived key per purpose: a session token is never accepted as a bearer token
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def issue_token(
    *, secret: str, staff_id: uuid.UUID, kind: str, now: datetime, lifetime: timedelta
) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(staff_id),
        "kind": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, _key(secret, kind), algorithm=_ALGORITHM)


def read_token(*, secret: str, token: str, kind: str, now: datetime) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            _key(secret, kind),
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            options={
                "require": ["exp", "sub", "iss", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid("token not valid") from exc
    if claims.get("kind") != kind or int(claims["exp"]) <= int(now.timestamp()):
        raise TokenInvalid("token not valid")
    try:
        staff_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise TokenInvalid("token not valid") from exc
    return TokenClaims(staff_id=staff_id, kind=kind, session_id=str(claims["jti"]))


def issue_signed(*, secret: str, purpose: str, data: dict[str, Any], now: datetime) -> str:
    """A short-lived signed blob (e.g. OIDC state and nonce kept in a cookie)."""
    body = dict(data, exp=int((now + timedelta(minutes=10)).timestamp()))
    return jwt.encode(body, _key(secret, purpose), algorithm=_ALGORITHM)


def read_signed(*, secret: str, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    try:
        data: dict[str, Any] = jwt.decode(
            token, _key(secret, purpose), algorithms=[_ALGORITHM], options={"verify_exp": False}
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid("signed data not valid") from exc
    if int(data.get("exp", 0)) <= int(now.timestamp()):
        raise TokenInvalid("signed data expired")
    return data


def csrf_token(*, secret: str, session_id: str) -> str:
    return hmac.new(_key(secret, "csrf"), session_id.encode(), hashlib.sha256).hexdigest()


def csrf_valid(*, secret: str, session_id: str, candidate: str) -> bool:
    return hmac.compare_digest(csrf_token(secret=secret, session_id=session_id), candidate)
