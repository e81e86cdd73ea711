"""The login page (password form; OIDC button when configured) and logout."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.api.audit.recorder import record
from services.api.auth.current import SESSION_COOKIE, client_address, language_of
from services.api.auth.login import attempt_login
from services.api.auth.login_throttle import policy_from
from services.api.auth.sessions import cookie_secure, end_session, start_session
from services.api.deps import ApiSettingsDep, ClockDep
from services.api.unit_of_work import WorkSessionDep
from services.api.web.i18n import translator
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "pust_login_csrf"


def _safe_next(url: str) -> str:
    return url if url.startswith("/") and not url.startswith("//") else "/"


def _login_page(
    request: Request, *, next_url: str, status: int = 200, error: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    # a failed login re-renders the form with the message (not a redirect)
    response = render(
        request,
        "login.html",
        principal=None,
        status=status,
        login_csrf=token,
        next_url=_safe_next(next_url),
        oidc=request.app.state.oidc is not None,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        path="/login",
        secure=cookie_secure(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_url=next)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    *,
    request: Request,
    session: WorkSessionDep,
    clock: ClockDep,
    api_settings: ApiSettingsDep,
    username: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> HTMLResponse | RedirectResponse:
    t = translator(language_of(request))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_page(request, next_url=next, status=400, error=t("csrf"))
    outcome = attempt_login(
        session=session,
        username=username,
        password=password,
        client_address=client_address(request),
        now=clock.now(),
        policy=policy_from(api_settings),
        via="session",
        action="auth.login",
    )
    if outcome.user is None:
        if outcome.retry_after is not None:
            page = _login_page(
                request,
                next_url=next,
                status=429,
                error=t("login_locked").format(seconds=outcome.retry_after),
            )
            page.headers["Retry-After"] = str(outcome.retry_after)
            return page
        return _login_page(request, next_url=next, status=401, error=t("login_failed"))
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request=request, response=response, session=session, staff_id=outcome.user.id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    *, request: Request, session: WorkSessionDep, principal: PagePrincipal
) -> RedirectResponse:
    """Ends the server-side session: the old cookie is refused from now on."""
    response = RedirectResponse("/login", status_code=303)
    end_session(request=request, response=response, session=session, principal=principal)
    record(
        session=session,
        principal=principal,
        now=request.app.state.clock.now(),
        action="auth.logout",
        resource_type="session",
    )
    return response


__all__ = ["SESSION_COOKIE", "router"]
