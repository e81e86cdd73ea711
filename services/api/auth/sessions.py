"""Browser sessions: the HttpOnly, SameSite=Lax cookie with an opaque token naming a
server-side session (:mod:`services.api.auth.session_store`), and its CSRF token."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request, Response
from sqlmodel import Session

from services.api.auth import session_store
from services.api.auth.current import SESSION_COOKIE
from services.api.auth.principal import Principal


def cookie_secure(request: Request) -> bool:
    """Cookies are ``Secure`` outside demo mode (unless ``PUST_API_INSECURE_HTTP=true``), and
    whenever the request itself came over HTTPS."""
    state = request.app.state
    configured: bool = state.api_settings.cookies_secure(demo=state.settings.demo)
    return configured or request.url.scheme == "https"


def start_session(
    *, request: Request, response: Response, session: Session, staff_id: uuid.UUID
) -> None:
    """A new server-side session (in the caller's transaction, which commits) and its cookie."""
    state = request.app.state
    minutes = state.api_settings.session_minutes
    token = session_store.create(
        session, staff_id=staff_id, now=state.clock.now(), lifetime=timedelta(minutes=minutes)
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


def end_session(
    *, request: Request, response: Response, session: Session, principal: Principal
) -> None:
    """Logout: the session is revoked (the old cookie is refused from now on) and the cookie
    deleted. The caller commits."""
    if principal.via == "session" and principal.session_id is not None:
        session_store.revoke(
            session,
            session_id=principal.session_id,
            now=request.app.state.clock.now(),
            reason="logout",
        )
    response.delete_cookie(SESSION_COOKIE, path="/")
