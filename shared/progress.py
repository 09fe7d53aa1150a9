"""What the filed monthly reports say about a project's progress: its latest report, and a
summary per quarter (what the public disclosure shows, 004 二(七) "按季度公开项目进展情况").

Of each period only the latest version counts (shared.report_facts), and the investment to date
is summed from those, so a corrected earlier month carries forward.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Integer, Text, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import report_facts as facts
from shared.models import ProjectReport


@dataclass(frozen=True)
class Quarter:
    quarter: str  # YYYY-Qn
    investment: Decimal  # 万元 reported for the quarter's months
    investment_to_date: Decimal  # 万元 at the quarter's last reported month
    progress_percent: Decimal  # as of the quarter's last reported month
    months_reported: int


async def latest_reports(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProjectReport]:
    """Each project's most recent report: its latest period, in that period's latest version."""
    if not project_ids:
        return {}
    stmt = facts.latest_report(col(ProjectReport.project_id).in_(project_ids))
    return {r.project_id: r for r in await session.scalars(stmt)}


async def quarterly(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Quarter]]:
    """Each project's reported quarters, oldest first, in one query."""
    if not project_ids:
        return {}
    latest = facts.latest_versions(col(ProjectReport.project_id).in_(project_ids)).subquery("latest")
    running = (
        select(
            latest.c.project_id,
            latest.c.period,
            latest.c.investment_month,
            latest.c.progress_percent,
            func.sum(latest.c.investment_month)
            .over(partition_by=latest.c.project_id, order_by=latest.c.period)
            .label("to_date"),
            (
                func.substr(latest.c.period, 1, 4)
                + "-Q"
                + func.cast((func.cast(func.substr(latest.c.period, 6, 2), Integer) - 1) // 3 + 1, Text)
            ).label("quarter"),
        )
    ).subquery("running")
    last = running.c.period.desc()
    stmt = (
        select(
            running.c.project_id,
            running.c.quarter,
            func.sum(running.c.investment_month),
            func.array_agg(aggregate_order_by(running.c.to_date, last))[1],
            func.array_agg(aggregate_order_by(running.c.progress_percent, last))[1],
            func.count(),
        )
        .group_by(running.c.project_id, running.c.quarter)
        .order_by(running.c.project_id, running.c.quarter)
    )
    out: dict[uuid.UUID, list[Quarter]] = {}
    for project_id, quarter, invested, to_date, progress, months in await session.execute(stmt):
        out.setdefault(project_id, []).append(Quarter(quarter, invested, to_date, progress, months))
    return out
