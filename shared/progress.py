"""What the filed monthly reports say about a project's progress: its latest report, and a
summary per quarter (what the public disclosure shows, 004 二(七) "按季度公开项目进展情况").

Of each period only the latest version counts (a correction replaces what it corrects), and
the investment to date is summed from those, so a corrected earlier month carries forward.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ProjectReport


@dataclass(frozen=True)
class Quarter:
    quarter: str  # YYYY-Qn
    investment: Decimal  # 万元 reported for the quarter's months
    investment_to_date: Decimal  # 万元 at the quarter's last reported month
    progress_percent: Decimal  # as of the quarter's last reported month
    months_reported: int


async def _latest_versions(session: AsyncSession, project_ids: Sequence[uuid.UUID]) -> list[ProjectReport]:
    """Each period's latest version, for each project, by project then period."""
    if not project_ids:
        return []
    stmt = (
        select(ProjectReport)
        .where(ProjectReport.project_id.in_(project_ids))
        .ext(distinct_on(ProjectReport.project_id, ProjectReport.period))
        .order_by(ProjectReport.project_id, ProjectReport.period, ProjectReport.version.desc())
    )
    return list(await session.scalars(stmt))


async def latest_reports(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProjectReport]:
    """Each project's most recent report: its latest period, in that period's latest version."""
    if not project_ids:
        return {}
    stmt = (
        select(ProjectReport)
        .where(ProjectReport.project_id.in_(project_ids))
        .ext(distinct_on(ProjectReport.project_id))
        .order_by(ProjectReport.project_id, ProjectReport.period.desc(), ProjectReport.version.desc())
    )
    return {r.project_id: r for r in await session.scalars(stmt)}


async def quarterly(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Quarter]]:
    """Each project's reported quarters, oldest first, in one query."""
    out: dict[uuid.UUID, list[Quarter]] = {}
    to_date: dict[uuid.UUID, Decimal] = {}
    for r in await _latest_versions(session, project_ids):
        label = f"{r.period[:4]}-Q{(int(r.period[5:]) - 1) // 3 + 1}"
        total = to_date[r.project_id] = to_date.get(r.project_id, Decimal(0)) + r.investment_month
        quarters = out.setdefault(r.project_id, [])
        if quarters and quarters[-1].quarter == label:
            q = quarters[-1]
            quarters[-1] = Quarter(
                label, q.investment + r.investment_month, total, r.progress_percent, q.months_reported + 1
            )
        else:
            quarters.append(Quarter(label, r.investment_month, total, r.progress_percent, 1))
    return out
