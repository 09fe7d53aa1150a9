"""The framework's own floor: FastAPI, served like the api, with one POST that validates the
real report body and answers the real report schema — no middleware, no auth, no database.

Whatever the api's filing endpoint does on top can only go below this; `make bench` prints
it beside the bare INSERT so a target ratio can be checked against what is reachable at all.
"""

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, status

from services.api.reports.schemas import ProjectReportIn, ProjectReportPublic

app = FastAPI()


@app.post(
    "/projects/{project_id}/reports", status_code=status.HTTP_201_CREATED, response_model=ProjectReportPublic
)
async def file_report(project_id: uuid.UUID, data: ProjectReportIn) -> ProjectReportPublic:
    return ProjectReportPublic(
        id=uuid.uuid4(),
        project_id=project_id,
        period=data.period,
        version=1,
        investment_month=data.investment_month,
        investment_to_date=data.investment_month,
        progress_percent=data.progress_percent,
        milestones=data.milestones,
        note=data.note,
        due_at=None,
        due_complete=True,
        late=False,
        submitted_by="bench",
        submitted_at=datetime.now(UTC),
    )


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}
