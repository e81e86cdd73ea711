"""Browser sessions: the HttpOnly, SameSite=Lax cookie and its CSRF token."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request, Response

from services.api.auth.current import SESSION_COOKIE
from services.api.auth.tokens import csrf_token, issue_token, read_token


def cookie_secure(request: Request) -> bool:
    """Cookies are ``Secure`` outside demo mode (unless ``PUST_API_INSECURE_HTTP=true``), and
    whenever the request itself came over HTTPS."""
    state = request.app.state
    configured: bool = state.api_settings.cookies_secure(demo=state.settings.demo)
    return configured or request.url.scheme == "https"


def start_session(*, request: Request, response: Response, staff_id: uuid.UUID) -> None:
    state = request.app.state
    minutes = state.api_settings.session_minutes
    token = issue_token(
        secret=state.settings.secret_key.get_secret_value(),
        staff_id=staff_id,
        kind="session",
        now=state.clock.now(),
        lifetime=timedelta(minutes=minutes),
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=minutes * 60,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_for_session_cookie(request: Request, cookie: str) -> str | None:
    """The CSRF token belonging to a freshly issued session cookie value."""
    state = request.app.state
    secret = state.settings.secret_key.get_secret_value()
    claims = read_token(secret=secret, token=cookie, kind="session", now=state.clock.now())
    return (
        None
        if claims.session_id is None
        else csrf_token(secret=secret, session_id=claims.session_id)
    )
