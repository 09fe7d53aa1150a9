"""The framework's own floors, served like the api, so that a target ratio can be checked
against what is reachable at all (`make bench` prints them beside the bare INSERT):

- FastAPI alone: one POST that validates the real report body and answers the real report
  schema — no middleware, no auth, no database;
- FastAPI + the filing: the same, and between the two the one call of the database's
  file_project_report function the api makes (the row lock, the facts, the checks, the
  version, the report row, its audit row), on a bare asyncpg pool — still no middleware,
  no auth, no session.

Whatever the api's filing endpoint does on top can only go below these.
"""

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, status

from bench.library import file_in_db
from services.api.reports.schemas import ProjectReportIn, ProjectReportPublic


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DATABASE_URL"], min_size=10, max_size=20)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


def _answer(
    project_id: uuid.UUID, data: ProjectReportIn, report_id: uuid.UUID, filed: Mapping[str, Any]
) -> ProjectReportPublic:
    """The report schema the api answers, from the body and what the filing function returned."""
    return ProjectReportPublic(
        id=report_id,
        project_id=project_id,
        period=data.period,
        version=filed["o_version"],
        investment_month=data.investment_month,
        investment_to_date=filed["o_to_date"],
        progress_percent=data.progress_percent,
        milestones=data.milestones,
        note=data.note,
        due_at=filed["o_due_at"],
        due_complete=filed["o_due_complete"],
        late=filed["o_late"],
        submitted_by="bench",
        submitted_at=filed["o_submitted_at"],
        recorded_by_office=False,
    )


@app.post(
    "/projects/{project_id}/reports", status_code=status.HTTP_201_CREATED, response_model=ProjectReportPublic
)
async def file_report(project_id: uuid.UUID, data: ProjectReportIn) -> ProjectReportPublic:
    as_if_filed = {
        "o_version": 1,
        "o_to_date": data.investment_month,
        "o_due_at": None,
        "o_due_complete": True,
        "o_late": False,
        "o_submitted_at": datetime.now(UTC),
    }
    return _answer(project_id, data, uuid.uuid4(), as_if_filed)


@app.post(
    "/filed/projects/{project_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectReportPublic,
)
async def file_report_in_db(project_id: uuid.UUID, data: ProjectReportIn) -> ProjectReportPublic:
    report_id = uuid.uuid4()
    async with app.state.pool.acquire() as conn:
        filed = await file_in_db(conn, project_id, data.model_dump(mode="json"), report_id, datetime.now(UTC))
    return _answer(project_id, data, report_id, filed)


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}
