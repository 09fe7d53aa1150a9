"""One transaction per request, committed before the response is sent.

Routers use `DubanRoute`: it opens the session, applies `Idempotency-Key` to POSTs, runs the
endpoint, stores an idempotent response with the effect, commits, and then wakes the
background pass (which relays the outbox). Services never commit; an error or a 4xx/5xx
answer rolls everything back.
"""

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from services.api import idempotency
from services.api.auth.principal import PRINCIPALS_CHANGED, authenticate
from services.api.errors import DATABASE_GONE, RESPONSES, lost_database
from services.api.storable import nul_errors
from shared.db import rerun, sqlstate
from shared.errors import Conflict
from shared.i18n import tr
from shared.outbox import OUTBOX_WRITTEN

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
API_PREFIX = "/api/v1"
SAFE = ("GET", "HEAD")
RERUNS = 4  # runs of a transaction the database rolled back (a deadlock), before 503
log = logging.getLogger(__name__)


def _conflict(exc: IntegrityError) -> Conflict:
    """A concurrent request won a uniqueness race: say which rule, not a 500."""
    constraint = getattr(exc.orig, "constraint_name", None) or tr("a uniqueness rule")
    return Conflict(
        tr("This conflicts with an existing record ({rule}); reload and try again.", rule=constraint)
    )


class DubanRoute(APIRoute):
    """An APIRoute whose handler runs inside one database transaction."""

    def get_route_handler(self) -> Handler:
        endpoint = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await rerun_when_chosen(request)
            except (DBAPIError, *DATABASE_GONE) as exc:
                # A connection that died while pooled (a failover, pg_terminate_backend) fails the
                # request's first statement. Nothing was written yet when that statement only read,
                # or the request was a read: try once more on a fresh connection. Else 503.
                if not lost_database(exc) or not (request.method in SAFE or not request.state.reached):
                    raise
                log.warning("database connection lost; retrying the request once", extra={"error": repr(exc)})
                return await attempt(request)

        async def rerun_when_chosen(request: Request) -> Response:
            # A deadlock's victim or a serialization race's loser was rolled back whole: nothing of
            # it stands, so it runs again (a few times, then 503 with Retry-After).
            for tries in range(RERUNS):
                try:
                    return await attempt(request)
                except DBAPIError as exc:
                    if not rerun(exc) or tries == RERUNS - 1:
                        raise
                    log.info("transaction rolled back by the database; running it again",
                             extra={"sqlstate": sqlstate(exc), "try": tries + 1})  # fmt: skip
                    await asyncio.sleep(random.uniform(0, 0.02 * 2**tries))
            raise AssertionError("unreachable")

        async def attempt(request: Request) -> Response:
            state = request.app.state
            request.state.reached = False  # whether the endpoint (which may write) began
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
                request.state.reached = True
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
                state.background.wake()
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
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


class PathIndex:
    """The app router's routes, looked up by their path's first segments.

    A router tries its routes one by one, a regular expression each, so a request for a route
    near the end of the list (the report filing is 49th of 62) paid for every route before it.
    Here each request goes to a router holding only the routes that can match its path: those
    whose first `depth` segments are exactly the request's, plus every route with a parameter
    (or fewer segments) among them, in the app's order. Matching, 405s, trailing-slash redirects
    and 404s are the routers' own, over fewer routes; a path with no bucket gets the full router.
    """

    def __init__(self, router: APIRouter, depth: int = 3) -> None:
        self.router, self.depth = router, depth
        self.full = router.app
        self.known = -1
        self.buckets: dict[tuple[str, ...], APIRouter] = {}

    def _head(self, path: str) -> tuple[str, ...]:
        return tuple(path.split("/")[1 : self.depth + 1])

    def _key(self, route: BaseRoute) -> tuple[str, ...] | None:
        if not isinstance(route, Route):
            return None  # a mount or anything else: tried for every path
        head = self._head(route.path)
        return None if any("{" in part for part in head) else head

    def _build(self) -> None:
        routes = self.router.routes
        keyed = [(route, self._key(route)) for route in routes]
        buckets: dict[tuple[str, ...], APIRouter] = {}
        for key in {k for _, k in keyed if k is not None}:
            bucket = [r for r, k in keyed if k is None or k == key]
            buckets[key] = APIRouter(routes=bucket, redirect_slashes=self.router.redirect_slashes)
        self.buckets, self.known = buckets, len(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.full(scope, receive, send)
            return
        if len(self.router.routes) != self.known:  # routes added since: index them too
            self._build()
        bucket = self.buckets.get(self._head(scope["path"]))
        if bucket is None:
            await self.full(scope, receive, send)
            return
        scope.setdefault("router", self.router)  # url_for and friends see every route
        await bucket.app(scope, receive, send)


def index_paths(app: FastAPI) -> None:
    """Route the app's requests through a PathIndex of its router."""
    app.router.middleware_stack = PathIndex(app.router)
