"""The api's app factory. Engines, pools and the background pass are made in the lifespan, never at import."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.api import docs, errors
from services.api.audit.router import audit_log
from services.api.auth.principal import PrincipalCache
from services.api.auth.router import auth
from services.api.background import BackgroundPass
from services.api.bulletins.router import programs as bulletin_views
from services.api.bulletins.router import rounds as round_bulletins
from services.api.calendar.router import calendars
from services.api.middleware import RequestContextMiddleware
from services.api.notices.router import deliveries, digests, notices
from services.api.office.router import office
from services.api.office.session import OfficeCookie
from services.api.ops.router import router as ops_router
from services.api.pings.router import pings
from services.api.problems.router import problems
from services.api.programs.router import programs, tasks
from services.api.projects.router import program_views, projects, public
from services.api.reports.router import project_reports, reports, unit_reports
from services.api.rounds.router import assessments, rounds
from services.api.routing import index_paths
from services.api.teams.router import supervision, teams
from services.api.units.phone import PhoneBox
from services.api.units.router import units
from services.api.users.router import people
from services.api.visits.router import evidence_files, findings, visits
from services.api.webhooks.router import webhooks
from shared import charts
from shared.db import check_pool_fits, create_engine, session_factory
from shared.filestore import open_store
from shared.queues import deserialize, serialize
from shared.settings import ApiSettings, load_settings

DESCRIPTION = """
Duban (督办) drives government-backed construction projects to completion: the project
library, the reports units owe, urging and supervision notices, quarterly observation
scoring, rankings and annual assessment.

Errors are RFC 9457 problem details (`application/problem+json`). Every POST honours an
`Idempotency-Key` header: the same key and body give the first response again (marked
`Idempotent-Replayed: true`), the same key with another body gives 422, and a key whose
first request is still running gives 409.

Every instant is answered in RFC 3339, in Beijing time (`+08:00`) unless a `Time-Zone` header
names another IANA zone (`Time-Zone: UTC`); where a day is meant a date is taken too.
"""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the api; pass settings to skip reading the environment."""
    settings = settings or load_settings(ApiSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        charts.warn_if_no_font()  # bulletins would draw Chinese as boxes: say so at start-up
        engine = create_engine(settings)
        await check_pool_fits(engine, settings.db_pool_size, "api")
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.redis = await create_pool(
            settings.redis(),
            job_serializer=serialize,
            job_deserializer=deserialize,
        )
        app.state.background = BackgroundPass(app.state.sessions, app.state.redis, settings)
        app.state.background.start()
        try:
            yield
        finally:
            await app.state.background.stop()
            await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Duban API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # services/api/docs.py serves /docs and /redoc from the package
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.files = open_store(settings)  # evidence from phones (services/api/visits)
    app.state.phones = PhoneBox(settings.secret_key.get_secret_value())
    app.state.principals = PrincipalCache(settings.principal_cache_seconds)
    errors.install(app)
    docs.install(app)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(OfficeCookie)  # outermost: the cookie and the language, before anything reads them
    app.mount(
        "/office/static", StaticFiles(packages=[("services.api.office", "static")]), name="office-static"
    )
    # The routes go straight onto the app's router. `include_router` would keep each domain
    # router as a nested node that FastAPI walks, route by route with its own bookkeeping, on
    # every request (about a third of a cheap request's CPU here). Each domain router already
    # carries its whole prefix and tags, so its routes are complete as they are.
    for domain in (
        ops_router,
        auth,
        units,
        people,
        programs,
        tasks,
        projects,
        program_views,
        bulletin_views,
        public,
        webhooks,
        calendars,
        project_reports,
        unit_reports,
        reports,
        problems,
        notices,
        digests,
        deliveries,
        round_bulletins,
        rounds,
        assessments,
        audit_log,
        pings,
        teams,
        supervision,
        visits,
        findings,
        evidence_files,
        office,
    ):
        app.router.routes.extend(domain.routes)
    if settings.path_index:
        index_paths(app)
    return app
