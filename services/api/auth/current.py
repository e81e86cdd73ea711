"""Resolve the caller: a bearer token (ours, or an OIDC issuer's) or the browser session
cookie (a server-side session: revoked or expired ones are refused). Unsafe requests made
with the cookie must carry the session's CSRF token."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Select, Table, bindparam
from sqlalchemy import select as select_columns
from sqlmodel import Session, select

from pust.db.tables import StaffMembership, StaffUser
from services.api.auth import session_store
from services.api.auth.oidc import OidcClient, OidcError
from services.api.auth.principal import Principal, Role
from services.api.auth.tokens import TokenInvalid, csrf_valid, read_token
from services.api.deps import SessionDep
from services.api.problems import ForbiddenError, UnauthorizedError

SESSION_COOKIE = "pust_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LANGUAGES = ("da", "en")


def language_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("pust_lang") or "da"
    return wanted if wanted in LANGUAGES else "da"


def client_address(request: Request) -> str:
    """The client's address (the real one behind a trusted proxy: client_origin.py)."""
    return request.client.host if request.client is not None else ""


def load_principal(
    *, session: Session, staff_id: uuid.UUID, via: str, session_id: str | None, language: str
) -> Principal | None:
    """The staff member as they are now (a deactivated one, or one whose role is unknown,
    is nobody): read on every request, never cached, so a change of role, teams or
    active takes effect at the caller's next request."""
    rows = session.execute(_principal_statement(), {"staff_id": staff_id}).all()
    if not rows:
        return None
    user = rows[0]
    if not user.active:
        return None
    try:
        role = Role(user.role)
    except ValueError:
        return None
    return Principal(
        staff_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=role,
        team_ids=frozenset(row.care_team_id for row in rows if row.care_team_id is not None),
        via=via,
        session_id=session_id,
        language=language,
    )


@cache
def _principal_statement() -> Select[Any]:
    """One round trip: the user's columns and their memberships, one row per team (built
    once, on the tables' columns: plain rows, no ORM entities)."""
    user = cast(Table, StaffUser.__table__)  # type: ignore[attr-defined]
    membership = cast(Table, StaffMembership.__table__)  # type: ignore[attr-defined]
    return (
        select_columns(
            user.c.id,
            user.c.username,
            user.c.display_name,
            user.c.role,
            user.c.active,
            membership.c.care_team_id,
        )
        .select_from(user.outerjoin(membership, membership.c.staff_id == user.c.id))
        .where(user.c.id == bindparam("staff_id"))
    )


def _staff_for_oidc(session: Session, *, issuer: str, subject: str) -> uuid.UUID | None:
    user = session.exec(
        select(StaffUser).where(StaffUser.oidc_issuer == issuer, StaffUser.oidc_subject == subject)
    ).first()
    return None if user is None else user.id


def resolve_principal(request: Request, session: Session) -> Principal | None:
    """The caller, or None when the request carries no valid credentials."""
    state = request.app.state
    secret = state.settings.secret_key.get_secret_value()
    now = state.clock.now()
    language = language_of(request)
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
        try:
            claims = read_token(secret=secret, token=token, kind="access", now=now)
        except TokenInvalid:
            oidc: OidcClient | None = state.oidc
            if oidc is None:
                return None
            try:
                identity = oidc.verify(token)
            except OidcError:
                return None
            staff_id = _staff_for_oidc(session, issuer=identity.issuer, subject=identity.subject)
            if staff_id is None:
                return None
            return load_principal(
                session=session,
                staff_id=staff_id,
                via="bearer",
                session_id=None,
                language=language,
            )
        return load_principal(
            session=session,
            staff_id=claims.staff_id,
            via="bearer",
            session_id=None,
            language=language,
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        active = session_store.find_active(session, token=cookie, now=now)
        if active is None:
            return None
        return load_principal(
            session=session,
            staff_id=active.staff_id,
            via="session",
            session_id=active.id,
            language=language,
        )
    return None


async def check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    candidate = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if candidate is None and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        candidate = value if isinstance(value, str) else None
    secret = request.app.state.settings.secret_key.get_secret_value()
    if (
        candidate is None
        or principal.session_id is None
        or not csrf_valid(secret=secret, session_id=principal.session_id, candidate=candidate)
    ):
        raise ForbiddenError("The form has expired or its CSRF token is missing. Reload the page.")


async def get_principal(request: Request, session: SessionDep) -> Principal:
    principal = await run_in_threadpool(resolve_principal, request, session)
    if principal is None:
        raise UnauthorizedError("Log in, or send a valid bearer token.")
    request.state.principal = principal
    await check_csrf(request, principal)
    return principal


CurrentStaff = Annotated[Principal, Depends(get_principal)]
