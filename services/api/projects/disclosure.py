"""Public disclosure (004 二(七) "按季度公开项目进展情况"): approved projects, their responsible leader,
service team and time nodes, and quarterly progress — no phone numbers or other personal contacts."""

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.projects.service import UNIT_FIELDS, milestones_by_project, unit_names
from shared import progress
from shared.errors import NotFound
from shared.i18n import tr
from shared.models import Program, Project
from shared.vocabulary import ConstructionKind, ProjectStage, ProjectStatus


class DisclosedProgram(BaseModel):
    id: str
    code: str
    name: str
    year: int


class Leader(BaseModel):
    name: str | None
    title: str | None


class TeamMember(BaseModel):
    role: str | None
    name: str | None
    title: str | None


class TimeNode(BaseModel):
    name: str
    planned_date: date
    actual_date: date | None


class QuarterProgress(BaseModel):
    quarter: str = Field(examples=["2018-Q3"])
    investment: Decimal = Field(description="万元 reported for the quarter's months")
    investment_to_date: Decimal = Field(description="万元 at the quarter's last reported month")
    progress_percent: Decimal
    months_reported: int


class DisclosedProject(BaseModel):
    code: str
    name: str
    category: str
    region: str | None
    owner: str | None
    responsible_unit: str | None
    responsible_leader: Leader
    service_team: list[TeamMember]
    construction: ConstructionKind
    stage: ProjectStage
    total_investment: Decimal
    annual_plan: Decimal
    start_date: date
    end_date: date
    time_nodes: list[TimeNode]
    quarterly_progress: list[QuarterProgress]


class Disclosure(BaseModel):
    program: DisclosedProgram
    count: int
    data: list[DisclosedProject]


async def disclose(session: AsyncSession, program_id: uuid.UUID) -> Disclosure:
    """What the public may see of a program (404 when there is no such program)."""
    program = await session.get(Program, program_id)
    if program is None:
        raise NotFound(tr("There is no program with id {id}.", id=program_id))

    rows = list(
        await session.scalars(
            select(Project)
            .where(col(Project.program_id) == program.id, col(Project.status) == ProjectStatus.APPROVED)
            .order_by(col(Project.code))
        )
    )
    ids = [p.id for p in rows]
    milestones = await milestones_by_project(session, ids)
    quarters = await progress.quarterly(session, ids)
    units = await unit_names(session, {getattr(p, f) for p in rows for f in UNIT_FIELDS})
    return Disclosure(
        program=DisclosedProgram(id=str(program.id), code=program.code, name=program.name, year=program.year),
        count=len(rows),
        data=[
            DisclosedProject(
                code=p.code,
                name=p.name,
                category=p.category,
                region=units.get(p.region_unit_id),
                owner=units.get(p.owner_unit_id),
                responsible_unit=units.get(p.responsible_unit_id),
                responsible_leader=Leader(name=p.leader.get("name"), title=p.leader.get("title")),
                service_team=[
                    TeamMember(role=m.get("role"), name=m.get("name"), title=m.get("title"))
                    for m in p.service_team
                ],
                construction=ConstructionKind(p.construction),
                stage=ProjectStage(p.stage),
                total_investment=p.total_investment,
                annual_plan=p.annual_plan,
                start_date=p.start_date,
                end_date=p.end_date,
                time_nodes=[
                    TimeNode(name=m.name, planned_date=m.planned_date, actual_date=m.actual_date)
                    for m in milestones.get(p.id, [])
                ],
                quarterly_progress=[
                    QuarterProgress(
                        quarter=q.quarter,
                        investment=q.investment,
                        investment_to_date=q.investment_to_date,
                        progress_percent=q.progress_percent,
                        months_reported=q.months_reported,
                    )
                    for q in quarters.get(p.id, [])
                ],
            )
            for p in rows
        ],
    )
