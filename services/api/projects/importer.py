"""Importing the project library from a spreadsheet: every error by row and column, all or nothing."""

import asyncio
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.projects import excel
from services.api.projects.schemas import ImportError_, ImportResult, ProjectFields
from services.api.projects.service import rule_problems
from shared import audit, clock
from shared.i18n import pydantic_message, tr
from shared.models import Milestone, Program, Project, Unit

FIELD_HEADER = {
    "code": "项目编号",
    "name": "项目名称",
    "category": "所属类别",
    "region_unit_id": "所属区域",
    "owner_unit_id": "业主单位",
    "responsible_unit_id": "责任单位",
    "leader": "责任领导",
    "service_team": "服务团队",
    "construction": "建设性质",
    "stage": "建设阶段",
    "total_investment": "总投资(万元)",
    "annual_plan": "年度计划投资(万元)",
    "start_date": "开工日期",
    "end_date": "竣工日期",
    "milestones": "主要节点",
    "monthly_plan": "1月计划投资(万元)",
    "description": "项目简介",
}
REQUIRED = ["项目编号", "项目名称", "所属类别", "所属区域", "业主单位", "责任单位", "建设性质", "建设阶段"]


class UnitLookup:
    """Units the caller can see, found by code or, when unambiguous, by name."""

    def __init__(self, units: list[tuple[uuid.UUID, str, str]]) -> None:
        self.by_code = {code: uid for uid, code, _ in units}
        self.by_name: dict[str, list[uuid.UUID]] = defaultdict(list)
        for uid, _, name in units:
            self.by_name[name].append(uid)

    def find(self, value: Any) -> uuid.UUID:
        key = excel.text(value)
        if key is None:
            raise excel.CellError(tr("required: the unit's code or name"))
        if key in self.by_code:
            return self.by_code[key]
        named = self.by_name.get(key, [])
        if len(named) == 1:
            return named[0]
        if named:
            raise excel.CellError(tr("several units are named '{name}'; use the unit's code", name=key))
        raise excel.CellError(tr("there is no unit '{name}' that you can see", name=key))


def _header_for(loc: tuple[Any, ...], program_year: int) -> str:
    field = str(loc[0]) if loc else ""
    if field == "monthly_plan" and len(loc) > 1 and str(loc[1]).startswith(f"{program_year}-"):
        return excel.MONTH_HEADERS[int(str(loc[1])[5:7]) - 1]
    return FIELD_HEADER.get(field, field)


def _parse_row(
    cells: dict[str, Any], units: UnitLookup, program: Program
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The row as ProjectFields input, or the (column, message) problems found."""
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}

    def take(header: str, parse: Any, field: str) -> None:
        try:
            value = parse(cells.get(header))
        except excel.CellError as exc:
            problems.append((header, str(exc)))
            return
        if value is not None:
            out[field] = value

    for header in REQUIRED:
        if excel.text(cells.get(header)) is None:
            problems.append((header, tr("required")))
    take("项目编号", excel.text, "code")
    take("项目名称", excel.text, "name")
    take("所属类别", excel.text, "category")
    take("项目简介", excel.text, "description")
    for header, field in (
        ("所属区域", "region_unit_id"),
        ("业主单位", "owner_unit_id"),
        ("责任单位", "responsible_unit_id"),
    ):
        if excel.text(cells.get(header)) is not None:
            take(header, units.find, field)
    take("建设性质", lambda v: excel.choice(v, excel.CONSTRUCTION), "construction")
    take("建设阶段", lambda v: excel.choice(v, excel.STAGES), "stage")
    for header, field in (("总投资(万元)", "total_investment"), ("年度计划投资(万元)", "annual_plan")):
        take(header, excel.money, field)
    for header, field in (("开工日期", "start_date"), ("竣工日期", "end_date")):
        take(header, excel.day, field)
    leader = {"name": excel.text(cells.get("责任领导")), "title": excel.text(cells.get("领导职务"))}
    if leader["name"] is None:
        problems.append(("责任领导", tr("required: the responsible leader's name")))
    elif leader["title"] is None:
        problems.append(("领导职务", tr("required: the responsible leader's title")))
    else:
        out["leader"] = leader
    take(
        "主要节点",
        lambda v: [{"name": n, "planned_date": d} for n, d in excel.pairs(v, "节点:YYYY-MM-DD", excel.day)],
        "milestones",
    )
    take(
        "服务团队",
        lambda v: [{"role": r, "name": n} for r, n in excel.pairs(v, "职责:姓名", str)],
        "service_team",
    )
    plan: dict[str, Decimal] = {}
    for month, header in enumerate(excel.MONTH_HEADERS, start=1):
        try:
            amount = excel.money(cells.get(header))
        except excel.CellError as exc:
            problems.append((header, str(exc)))
            continue
        if amount is not None:
            plan[f"{program.year}-{month:02d}"] = amount
    out["monthly_plan"] = plan
    return (None if problems else out), problems


async def run(
    session: AsyncSession,
    *,
    program: Program,
    filename: str,
    content: bytes,
    principal: Principal,
    dry_run: bool,
) -> ImportResult:
    # parsed in a thread: one upload never holds up the other requests on the event loop
    headers, rows = await asyncio.to_thread(excel.read_rows, filename, content)
    errors: list[ImportError_] = []
    known = set(excel.BY_HEADER) | excel.IGNORED_HEADERS
    if faults := excel.header_faults(headers, REQUIRED, known):
        errors = [ImportError_(row=1, column=c, message=m) for c, m in faults]
        return ImportResult(created=0, dry_run=dry_run, errors=errors)
    if not rows:
        errors.append(ImportError_(row=2, column=None, message=tr("the sheet holds no projects")))
        return ImportResult(created=0, dry_run=dry_run, errors=errors)
    unit_rows = await session.execute(
        visible(select(col(Unit.id), col(Unit.code), col(Unit.name)), Unit, principal)
    )
    units = UnitLookup([(unit_id, code, name) for unit_id, code, name in unit_rows])
    taken = set(await session.scalars(select(col(Project.code)).where(col(Project.program_id) == program.id)))
    seen: dict[str, int] = {}
    valid: list[ProjectFields] = []
    for number, values in rows:
        cells = {h: values[i] if i < len(values) else None for i, h in enumerate(headers) if h}
        parsed, problems = _parse_row(cells, units, program)
        if parsed is not None:
            try:
                fields = ProjectFields.model_validate(parsed)
            except ValidationError as exc:
                problems = [(_header_for(e["loc"], program.year), pydantic_message(e)) for e in exc.errors()]
            else:
                dumped = fields.model_dump()
                problems = [
                    (_header_for(tuple(loc), program.year), msg)
                    for loc, msg in rule_problems(dumped, program)
                ]
                code = fields.code
                if code in taken:
                    problems.append(("项目编号", tr("the program already has a project '{code}'", code=code)))
                elif code in seen:
                    problems.append(
                        ("项目编号", tr("'{code}' is also on row {row}", code=code, row=seen[code]))
                    )

                seen.setdefault(code, number)
                if not problems:
                    valid.append(fields)
        errors += [ImportError_(row=number, column=c, message=m) for c, m in problems]
    if errors or dry_run:
        return ImportResult(created=0 if errors else len(valid), dry_run=dry_run, errors=errors)
    await _insert(session, program=program, projects=valid, principal=principal)
    return ImportResult(created=len(valid), dry_run=False, errors=[])


async def _insert(
    session: AsyncSession, *, program: Program, projects: list[ProjectFields], principal: Principal
) -> None:
    """Bulk INSERTs (one round trip per table and batch), and one audit row for the import."""
    now, by = clock.now(), principal.key
    project_rows, milestone_rows = [], []
    for f in projects:
        pid = uuid.uuid4()
        project_rows.append(
            {
                "id": pid,
                "program_id": program.id,
                "code": f.code,
                "name": f.name,
                "category": f.category,
                "region_unit_id": f.region_unit_id,
                "owner_unit_id": f.owner_unit_id,
                "responsible_unit_id": f.responsible_unit_id,
                "leader": f.leader.model_dump(),
                "service_team": [m.model_dump() for m in f.service_team],
                "construction": f.construction,
                "stage": f.stage,
                "status": "draft",
                "total_investment": f.total_investment,
                "annual_plan": f.annual_plan,
                "start_date": f.start_date,
                "end_date": f.end_date,
                "monthly_plan": {m: str(a) for m, a in f.monthly_plan.items()},
                "description": f.description,
                "version": 1,
                "created_by": by,
                "updated_at": now,
            }
        )
        milestone_rows += [
            {
                "id": uuid.uuid4(),
                "project_id": pid,
                "name": m.name,
                "planned_date": m.planned_date,
                "position": i,
            }
            for i, m in enumerate(f.milestones)
        ]
    for start in range(0, len(project_rows), 2000):
        await session.execute(insert(Project), project_rows[start : start + 2000])
    for start in range(0, len(milestone_rows), 5000):
        await session.execute(insert(Milestone), milestone_rows[start : start + 5000])
    await audit.record(
        session,
        actor=principal.actor,
        action="project.import",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        after={"created": len(project_rows), "projects": {r["code"]: str(r["id"]) for r in project_rows}},
    )
