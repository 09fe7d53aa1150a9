"""The office pages' session: the api's own access token, kept in an HttpOnly, SameSite=Strict
cookie scoped to /office, so every page is authorized exactly as the API authorizes a bearer; and
a CSRF token on every form (derived from the session, or a double-submitted cookie before one)."""

import hashlib
import hmac
import secrets

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import ApiSettings

PREFIX = "/office"
SESSION = "duban_session"
PRE_CSRF = "duban_csrf"  # before sign-in: the login form's double-submitted token


def _cookies(scope: Scope) -> dict[str, str]:
    raw = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie"), "")
    found = {}
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            found[name] = value
    return found


class OfficeCookie:
    """For /office paths: the session cookie stands in for `Authorization: Bearer`, and the pages
    speak Chinese. Nothing outside /office reads the cookie (its Path keeps browsers from
    sending it there anyway)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", b"accept-language")]
            token = _cookies(scope).get(SESSION)
            if token:
                headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
            headers.append((b"accept-language", b"zh-CN"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def csrf_for(settings: ApiSettings, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of it under the api's secret key."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"office-csrf\0" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def fresh_token() -> str:
    return secrets.token_urlsafe(24)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
