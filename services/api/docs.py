"""The API's own documentation, offline: Swagger UI at /docs and ReDoc at /redoc from assets in
the package (services/api/static/docs, see its README.md; a government intranet has no CDN), and
the OpenAPI's security — a bearer token from POST /api/v1/auth/token (OAuth2 password or client
credentials), declared on every operation that needs one with the permission it needs, so /docs
has an Authorize button and generated clients send the header."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from services.api.auth.permissions import REQUIRES, Action
from services.api.errors import amend_openapi

ASSETS = Path(__file__).parent / "static" / "docs"
TOKEN_URL = "/api/v1/auth/token"
BEARER, PASSWORD, CLIENT = "bearer", "password", "client"


def install(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect, /redoc and their assets (FastAPI's own pages off), and
    declare the security in the OpenAPI."""
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} {app.version}"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=title,
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    async def redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=str(app.openapi_url),
            title=title,
            redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon-32x32.png",
            with_google_fonts=False,
        )

    amend_openapi(app, lambda spec: declare_security(app, spec))
    app.add_api_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", redirect, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


def security_schemes() -> dict[str, Any]:
    scopes = {a.value: a.value.replace(":", " ") for a in Action}
    return {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": f"an access token from POST {TOKEN_URL}",
        },
        PASSWORD: {
            "type": "oauth2",
            "description": "people: username and password; the roles decide what the token may do",
            "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": scopes}},
        },
        CLIENT: {
            "type": "oauth2",
            "description": "integrating systems: client_id and client_secret, with the scopes granted",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": scopes}},
        },
    }


def declare_security(app: FastAPI, spec: dict[str, Any]) -> None:
    """Add the security schemes to `spec`, and to each operation that needs a signed-in caller
    the schemes it takes (with the permission it needs as the OAuth2 scope)."""
    spec.setdefault("components", {})["securitySchemes"] = security_schemes()
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        needs = [REQUIRES[d.call] for d in route.dependant.dependencies if d.call in REQUIRES]
        if not needs:
            continue
        scopes = [str(a) for a in needs if a is not None]
        for method in route.methods or ():
            operation = spec["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = [{BEARER: []}, {PASSWORD: scopes}, {CLIENT: scopes}]
