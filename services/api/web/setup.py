"""Mount the web UI on the app: templates, static files, pages, and HTML error pages for
page requests (API requests keep their problem+json answers)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.audit.failures import audit_refusal
from services.api.problems import ApiError, api_error_response, problem_response
from services.api.web import (
    access_report_page,
    admin_pages,
    auth_pages,
    citizen_forms,
    citizen_list_page,
    citizen_pages,
    device_pages,
    worklist_pages,
)
from services.api.web.render import STATIC, LoginRequiredError, build_environment, render
from services.api.what_if import page as what_if_page

API_PREFIXES = ("/api/", "/fhir/", "/auth/oidc/", "/healthz", "/readyz", "/metrics", "/openapi")

_ERROR_KEYS = {404: "not_found", 409: "conflict", 403: "forbidden", 422: "invalid_input"}


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def install_web(app: FastAPI) -> None:
    app.state.templates = build_environment()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (
        auth_pages,
        worklist_pages,
        citizen_list_page,
        citizen_pages,
        citizen_forms,
        admin_pages,
    )
    for module in (*pages, access_report_page, device_pages, what_if_page):
        app.include_router(module.router)

    async def on_login_required(request: Request, _exc: Exception) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.method != "GET" or not is_page_request(request):
            target = "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        await audit_refusal(request, exc.status)
        if not is_page_request(request):
            return api_error_response(exc)
        from services.api.auth.current import language_of
        from services.api.web.i18n import translator

        t = translator(language_of(request))
        key = "csrf" if "CSRF" in exc.detail else _ERROR_KEYS.get(exc.status, "error_title")
        return render(
            request, "error.html", principal=None, status=exc.status, message=t(key), back_url="/"
        )

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        """A page that does not exist (``/citizenz``) is a Danish HTML page for a browser;
        the API's paths keep their problem+json answer."""
        assert isinstance(exc, StarletteHTTPException)
        if not is_page_request(request) or request.method != "GET":
            return problem_response(
                status=exc.status_code,
                detail=str(exc.detail),
                headers=dict(exc.headers) if exc.headers else None,
            )
        from services.api.auth.current import language_of
        from services.api.web.i18n import translator

        t = translator(language_of(request))
        key = "page_not_found" if exc.status_code == 404 else "error_title"
        return render(
            request,
            "error.html",
            principal=None,
            status=exc.status_code,
            message=t(key),
            back_url="/",
        )

    app.add_exception_handler(LoginRequiredError, on_login_required)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
