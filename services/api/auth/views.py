"""Staff authentication: the OAuth2 password grant, who-am-I, and the OIDC login."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from pust.db.tables import StaffUser
from services.api.audit.recorder import record, record_anonymous
from services.api.auth.current import CurrentStaff, client_address, load_principal
from services.api.auth.login import attempt_login
from services.api.auth.login_throttle import policy_from
from services.api.auth.models import MePublic, TokenPublic
from services.api.auth.oidc import OidcClient, OidcError
from services.api.auth.sessions import cookie_secure, start_session
from services.api.auth.tokens import (
    TokenInvalid,
    csrf_token,
    issue_signed,
    issue_token,
    read_signed,
)
from services.api.deps import ApiSettingsDep, ClockDep, SettingsDep
from services.api.problems import (
    ForbiddenError,
    NotFoundError,
    TooManyAttemptsError,
    UnauthorizedError,
    UnavailableError,
    problem_responses,
)
from services.api.unit_of_work import WorkSessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
oidc_router = APIRouter(prefix="/auth/oidc", tags=["auth"])

OIDC_STATE_COOKIE = "pust_oidc"


@router.post(
    "/token",
    response_model=TokenPublic,
    summary="OAuth2 password grant: a bearer token for a staff user",
    responses=problem_responses(401, 422, 429),
)
def token(
    *,
    request: Request,
    session: WorkSessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    api_settings: ApiSettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=120)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
) -> TokenPublic:
    now = clock.now()
    outcome = attempt_login(
        session=session,
        username=username,
        password=password,
        client_address=client_address(request),
        now=now,
        policy=policy_from(api_settings),
        via="bearer",
        action="auth.token",
    )
    if outcome.user is None:
        if outcome.retry_after is not None:
            raise TooManyAttemptsError(
                f"Too many failed logins: try again in {outcome.retry_after} seconds.",
                headers={"Retry-After": str(outcome.retry_after)},
            )
        raise UnauthorizedError("Wrong username or password.")
    lifetime = timedelta(minutes=api_settings.access_token_minutes)
    access = issue_token(
        secret=settings.secret_key.get_secret_value(),
        staff_id=outcome.user.id,
        kind="access",
        now=now,
        lifetime=lifetime,
    )
    return TokenPublic(access_token=access, expires_in=int(lifetime.total_seconds()))


@router.get(
    "/me",
    response_model=MePublic,
    summary="The logged-in staff member",
    responses=problem_responses(401),
)
def me(*, principal: CurrentStaff, settings: SettingsDep) -> MePublic:
    csrf = None
    if principal.session_id is not None and principal.via == "session":
        csrf = csrf_token(
            secret=settings.secret_key.get_secret_value(), session_id=principal.session_id
        )
    return MePublic(
        id=principal.staff_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role.value,
        care_team_ids=sorted(principal.team_ids),
        csrf_token=csrf,
    )


def _oidc(request: Request) -> OidcClient:
    client: OidcClient | None = request.app.state.oidc
    if client is None:
        raise NotFoundError("OIDC login is not configured.")
    return client


@oidc_router.get(
    "/login",
    summary="Start an OIDC login (redirects to the identity provider)",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Redirect to the issuer"}, **problem_responses(404, 503)},
)
def oidc_login(*, request: Request, settings: SettingsDep, clock: ClockDep) -> RedirectResponse:
    client = _oidc(request)
    redirect_uri = str(request.url_for("oidc_callback"))
    try:
        auth = client.authorization_request(redirect_uri=redirect_uri)
    except OidcError as exc:
        raise UnavailableError("The identity provider cannot be reached.") from exc
    response = RedirectResponse(auth.url, status_code=303)
    blob = issue_signed(
        secret=settings.secret_key.get_secret_value(),
        purpose="oidc",
        data={"state": auth.state, "nonce": auth.nonce, "verifier": auth.verifier},
        now=clock.now(),
    )
    response.set_cookie(
        OIDC_STATE_COOKIE,
        blob,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/auth/oidc",
    )
    return response


def _login_oidc_user(session: Session, *, issuer: str, subject: str) -> StaffUser | None:
    return session.exec(
        select(StaffUser).where(StaffUser.oidc_issuer == issuer, StaffUser.oidc_subject == subject)
    ).first()


@oidc_router.get(
    "/callback",
    name="oidc_callback",
    summary="Finish an OIDC login (the identity provider redirects here)",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Logged in: redirect to the worklist"},
        **problem_responses(401, 403, 404, 503),
    },
)
def oidc_callback(
    *,
    request: Request,
    session: WorkSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    code: str,
    state: str,
) -> RedirectResponse:
    client = _oidc(request)
    blob = request.cookies.get(OIDC_STATE_COOKIE, "")
    now = clock.now()
    try:
        expected = read_signed(
            secret=settings.secret_key.get_secret_value(), purpose="oidc", token=blob, now=now
        )
    except TokenInvalid as exc:
        raise UnauthorizedError("The login has expired; start again.") from exc
    if expected.get("state") != state:
        raise UnauthorizedError("The login state does not match; start again.")
    try:
        identity = client.exchange(
            code=code,
            redirect_uri=str(request.url_for("oidc_callback")),
            verifier=str(expected["verifier"]),
            nonce=str(expected["nonce"]),
        )
    except OidcError as exc:
        raise UnauthorizedError("The identity provider's answer did not verify.") from exc
    user = _login_oidc_user(session, issuer=identity.issuer, subject=identity.subject)
    if user is None or not user.active:
        record_anonymous(
            session=session,
            now=now,
            username=f"oidc:{identity.subject}",
            action="auth.oidc_login",
            outcome="denied",
        )
        session.commit()
        raise ForbiddenError("This identity has no pust account.")
    principal = load_principal(
        session=session, staff_id=user.id, via="session", session_id=None, language="da"
    )
    if principal is not None:
        record(
            session=session,
            principal=principal,
            now=now,
            action="auth.oidc_login",
            resource_type="session",
        )
    response = RedirectResponse("/", status_code=303)
    start_session(request=request, response=response, session=session, staff_id=user.id)
    response.delete_cookie(OIDC_STATE_COOKIE, path="/auth/oidc")
    return response
