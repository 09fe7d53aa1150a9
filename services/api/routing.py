"""One transaction per request, committed before the response is sent.

Routers use `DubanRoute`: it opens the session, applies `Idempotency-Key` to POSTs, runs the
endpoint, stores an idempotent response with the effect, commits, and then wakes the outbox
relay. Services never commit; an error or a 4xx/5xx answer rolls everything back.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import idempotency
from services.api.auth.principal import PRINCIPALS_CHANGED, authenticate
from services.api.errors import RESPONSES
from services.api.storable import nul_errors
from shared.errors import Conflict
from shared.outbox import OUTBOX_WRITTEN

Handler = Callable[[Request], Awaitable[Response]]
API_PREFIX = "/api/v1"


def _conflict(exc: IntegrityError) -> Conflict:
    """A concurrent request won a uniqueness race: say which rule, not a 500."""
    constraint = getattr(exc.orig, "constraint_name", None) or "a uniqueness rule"
    return Conflict(f"This conflicts with an existing record ({constraint}); reload and try again.")


class DubanRoute(APIRoute):
    """An APIRoute whose handler runs inside one database transaction."""

    def get_route_handler(self) -> Handler:
        endpoint = super().get_route_handler()

        async def handler(request: Request) -> Response:
            state = request.app.state
            async with state.sessions() as session:
                request.state.session = session
                # Who is asking, before anything else: Idempotency-Key is scoped to them.
                request.state.principal = await authenticate(
                    session, request, state.settings, state.principals
                )
                refused = await nul_errors(request)
                if refused:
                    raise RequestValidationError(refused)
                claim = None
                key = request.headers.get(idempotency.HEADER)
                if key is not None and request.method == "POST":
                    ttl = timedelta(hours=state.settings.idempotency_ttl_hours)
                    outcome = await idempotency.begin(session, request, key=key, ttl=ttl)
                    if isinstance(outcome, Response):
                        await session.rollback()
                        return outcome
                    claim = outcome
                try:
                    response = await endpoint(request)
                except IntegrityError as exc:
                    await session.rollback()
                    raise _conflict(exc) from None
                except BaseException:
                    await session.rollback()
                    raise
                if response.status_code >= 400:
                    await session.rollback()
                    return response
                if claim is not None:
                    idempotency.store(session, request, claim, response)
                wrote_outbox = session.info.pop(OUTBOX_WRITTEN, False)
                try:
                    await session.commit()
                except IntegrityError as exc:
                    raise _conflict(exc) from None
                if session.info.pop(PRINCIPALS_CHANGED, False):
                    state.principals.clear()  # an account, client or unit changed: check tokens afresh
            if wrote_outbox:
                state.relay.wake()
            return response

        return handler


def router(prefix: str = "", **kwargs: object) -> APIRouter:
    """An APIRouter of transactional routes under /api/v1 + `prefix`.

    The full prefix sits on the router itself, so each route's path is its whole template
    (what metrics and logs show).
    """
    return APIRouter(
        prefix=API_PREFIX + prefix,
        route_class=DubanRoute,
        responses=RESPONSES,
        **kwargs,  # type: ignore[arg-type]
    )


async def get_session(request: Request) -> AsyncSession:
    """The request's session (opened by DubanRoute)."""
    return request.state.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
