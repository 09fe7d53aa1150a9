"""The project library: entry, the rules, review, dynamic adjustment, listing."""

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import (
    ancestor_ids,
    get_visible,
    owned_or_403,
    unseen_units,
    visible,
)
from services.api.pagination import PageParams, matches, paginate
from services.api.preconditions import check_version, writable
from services.api.projects.schemas import (
    MilestoneIn,
    ProjectCreate,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    WithdrawIn,
)
from shared import audit, clock, lights, outbox
from shared.errors import Conflict, InvalidState, invalid
from shared.i18n import N_, tr, word
from shared.models import Adjustment, Milestone, Program, Project, ProjectReport, Unit
from shared.program_settings import ProgramSettings
from shared.vocabulary import ProjectStatus

REVIEWERS_ONLY = N_("Only the program's office (or an office above it) reviews and adjusts its projects.")
APPROVED_ONLY_SO = N_(
    "Only the program's office (or an office above it) reviews and adjusts its projects. "
    "Approved projects change only so."
)
UNIT_FIELDS = ("region_unit_id", "owner_unit_id", "responsible_unit_id")
Problems = list[tuple[list[str | int], str]]


def rule_problems(fields: dict[str, Any], program: Program) -> Problems:
    """Every rule a project breaks, each located at the field to fix (the import reuses this).
    A rule whose fields are missing (they failed their own checks) is left out."""
    problems: Problems = []
    category = fields.get("category")
    if program.categories and category is not None and category not in program.categories:
        problems.append(
            (
                ["category"],
                tr(
                    "not a category of this program (use one of: {categories})",
                    categories="、".join(program.categories),
                ),
            )
        )
    total, annual = fields.get("total_investment"), fields.get("annual_plan")
    if total is not None and annual is not None and annual > total:
        problems.append(
            (
                ["annual_plan"],
                tr(
                    "the annual plan ({annual} 万元) exceeds the total investment ({total} 万元)",
                    annual=annual,
                    total=total,
                ),
            )
        )
    plan: dict[str, Decimal] = fields.get("monthly_plan") or {}
    outside = [m for m in plan if not m.startswith(f"{program.year}-")]
    for month in outside:
        problems.append((["monthly_plan", month], tr("outside the program year {year}", year=program.year)))
    start, end = fields.get("start_date"), fields.get("end_date")
    period = start is not None and end is not None and end >= start
    for month in sorted(m for m in plan if m not in outside and plan[m]):
        # investment planned in a month the project does not run in (before it starts, after it ends)
        if period and not f"{start:%Y-%m}" <= month <= f"{end:%Y-%m}":
            problems.append(
                (
                    ["monthly_plan", month],
                    tr(
                        "{month} is outside the project period {start} to {end}",
                        month=month,
                        start=start,
                        end=end,
                    ),
                )
            )
    monthly = sum(plan.values(), Decimal(0))
    if annual is not None and monthly > annual:
        problems.append(
            (
                ["monthly_plan"],
                tr(
                    "the months add up to {monthly} 万元, more than the annual plan ({annual} 万元)",
                    monthly=monthly,
                    annual=annual,
                ),
            )
        )
    if start is not None and end is not None and end < start:
        problems.append(
            (["end_date"], tr("the end date {end} is before the start date {start}", end=end, start=start))
        )
    names: set[str] = set()
    for i, m in enumerate(fields.get("milestones") or []):
        name, planned = (
            (m.name, m.planned_date) if isinstance(m, MilestoneIn) else (m["name"], m["planned_date"])
        )
        if name in names:
            problems.append(
                (["milestones", i, "name"], tr("the milestone '{name}' is listed twice", name=name))
            )
        names.add(name)
        if start is not None and end is not None and period and not start <= planned <= end:
            problems.append(
                (
                    ["milestones", i, "planned_date"],
                    tr(
                        "{planned} is outside the project period {start} to {end}",
                        planned=planned,
                        start=start,
                        end=end,
                    ),
                )
            )
    return problems


async def _seen_program(session: AsyncSession, program_id: Any, principal: Principal) -> Program | None:
    return await session.scalar(
        visible(select(Program).where(col(Program.id) == program_id), Program, principal)
    )


def _unseen_program(program_id: Any) -> Problems:
    return [(["program_id"], tr("there is no program {id} that you can see", id=program_id))]


async def program_for(session: AsyncSession, program_id: uuid.UUID, principal: Principal) -> Program:
    """The program a body or form names: 422 on `program_id` when the caller cannot see it."""
    found = await _seen_program(session, program_id, principal)
    if found is None:
        raise invalid(_unseen_program(program_id))
    return found


async def _ensure_code_free(
    session: AsyncSession, program_id: uuid.UUID, code: str, but: uuid.UUID | None = None
) -> None:
    stmt = select(col(Project.id)).where(col(Project.program_id) == program_id, col(Project.code) == code)
    if but:
        stmt = stmt.where(col(Project.id) != but)
    if await session.scalar(stmt):
        raise Conflict(
            tr(
                "The program already has a project with code '{code}'; codes must be unique in a program.",
                code=code,
            )
        )


def _audit_view(project: Project, milestones: Sequence[Any]) -> dict[str, Any]:
    view = project.model_dump(mode="json", exclude={"created_at", "updated_at"})
    view["milestones"] = [{"name": m.name, "planned_date": str(m.planned_date)} for m in milestones]
    return view


async def milestones_of(session: AsyncSession, project_id: uuid.UUID) -> list[Milestone]:
    return (await milestones_by_project(session, [project_id])).get(project_id, [])


async def milestones_by_project(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Milestone]]:
    """Each project's milestones in roadmap order, in one query."""
    found: dict[uuid.UUID, list[Milestone]] = {}
    stmt = (
        select(Milestone).where(col(Milestone.project_id).in_(project_ids)).order_by(col(Milestone.position))
    )
    for m in await session.scalars(stmt):
        found.setdefault(m.project_id, []).append(m)
    return found


def to_public(
    project: Project,
    milestones: list[Milestone],
    latest: ProjectReport | None = None,
    light: str | None = None,
) -> ProjectPublic:
    return ProjectPublic.model_validate(
        {
            **project.model_dump(),
            "milestones": [m.model_dump() for m in milestones],
            "latest_progress": latest.model_dump() if latest is not None else None,
            "light": light,
        }
    )


async def lights_now(
    session: AsyncSession, rows: Sequence[tuple[uuid.UUID, uuid.UUID, str]]
) -> dict[uuid.UUID, str]:
    """Each approved project's light now, of (id, program_id, status) rows."""
    approved = [
        (project_id, program_id)
        for project_id, program_id, status in rows
        if status == ProjectStatus.APPROVED
    ]
    if not approved:
        return {}
    found = await session.scalars(select(Program).where(col(Program.id).in_({p for _, p in approved})))
    programs = {p.id: p for p in found}
    return await lights.of_projects(
        session, programs, [project_id for project_id, _ in approved], clock.now()
    )


def _money_json(plan: dict[str, Decimal]) -> dict[str, str]:
    return {month: str(amount) for month, amount in sorted(plan.items())}


async def _unit_problems(
    session: AsyncSession, program: Program, principal: Principal, named: dict[str, uuid.UUID]
) -> Problems:
    """Each unit field the caller may not name: a unit outside its subtree; or, when the program
    lets units enter their own projects (`units_enter_projects`), a region or owner that is
    neither in its subtree nor above it inside the program's office, or a responsible unit
    outside its subtree."""
    if not ProgramSettings.model_validate(program.settings).units_enter_projects:
        return await unseen_units(session, principal, [([f], u) for f, u in named.items()])
    above = set(ancestor_ids(principal))
    office = program.office_unit_id
    allowed_above = set()
    if office in above:  # the units from the program's office down to the caller's own
        ids = ancestor_ids(principal)
        allowed_above = set(ids[ids.index(office) :])
    strict = {f: u for f, u in named.items() if f == "responsible_unit_id" or u not in allowed_above}
    return await unseen_units(session, principal, [([f], u) for f, u in strict.items()])


async def _units_named(
    session: AsyncSession, program: Program, principal: Principal, named: dict[str, uuid.UUID]
) -> None:
    """422 naming each unit field the caller may not name (`_unit_problems`)."""
    if problems := await _unit_problems(session, program, principal, named):
        raise invalid(problems)


async def create_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> Problems:
    """`_create_problems` for a body whose other fields failed the schema (services/api/validation.py),
    and the program the caller must see."""
    program_id = fields.get("program_id")
    if program_id is None:
        return []
    program = await _seen_program(session, program_id, principal)
    if program is None:
        return _unseen_program(program_id)
    return await _create_problems(session, principal, program, fields)


async def _create_problems(
    session: AsyncSession, principal: Principal, program: Program, fields: dict[str, Any]
) -> Problems:
    """Every fault of a new project the schema cannot see, over the fields given: the units the
    caller may name, the rules."""
    named = {f: fields[f] for f in UNIT_FIELDS if fields.get(f) is not None}
    return [*await _unit_problems(session, program, principal, named), *rule_problems(fields, program)]


async def create(session: AsyncSession, *, data: ProjectCreate, principal: Principal) -> Project:
    """A draft project: units and program must be visible to the caller, the rules kept."""
    program = await program_for(session, data.program_id, principal)
    writable(program)
    fields = {**data.model_dump(), "milestones": data.milestones}
    if problems := await _create_problems(session, principal, program, fields):
        raise invalid(problems)
    await _ensure_code_free(session, program.id, data.code)
    project = Project(
        **data.model_dump(exclude={"milestones", "monthly_plan", "leader", "service_team"}),
        leader=data.leader.model_dump(),
        service_team=[m.model_dump() for m in data.service_team],
        monthly_plan=_money_json(data.monthly_plan),
        created_by=principal.key,
    )
    session.add(project)
    await session.flush()
    milestones = [
        Milestone(project_id=project.id, name=m.name, planned_date=m.planned_date, position=i)
        for i, m in enumerate(data.milestones)
    ]
    session.add_all(milestones)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="project.create",
        entity="project",
        entity_id=project.id,
        unit_id=project.responsible_unit_id,
        after=_audit_view(project, milestones),
    )
    return project


async def _update_problems(
    session: AsyncSession,
    principal: Principal,
    project: Project,
    program: Program,
    milestones: list[Milestone],
    sent: dict[str, Any],
) -> Problems:
    """Every fault of a change the schema cannot see: a field emptied, a unit the caller may not
    name, a rule the project as changed would break."""
    problems: Problems = [
        ([k], tr("required: it cannot be emptied"))
        for k, v in sent.items()
        if v is None and k != "description"
    ]
    problems += await _unit_problems(
        session, program, principal, {f: sent[f] for f in UNIT_FIELDS if sent.get(f)}
    )
    current = project.model_dump()
    current["monthly_plan"] = {m: Decimal(v) for m, v in project.monthly_plan.items()}
    current["milestones"] = [MilestoneIn(name=m.name, planned_date=m.planned_date) for m in milestones]
    merged = {**current, **{k: v for k, v in sent.items() if v is not None}}
    return problems + rule_problems(merged, program)


async def update_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    """`_update_problems` for a change whose other fields failed the schema."""
    project = await session.scalar(
        visible(select(Project).where(col(Project.id) == path.get("project_id")), Project, principal)
    )
    if project is None:
        return []
    program = await session.get_one(Program, project.program_id)
    return await _update_problems(
        session, principal, project, program, await milestones_of(session, project.id), fields
    )


async def update(
    session: AsyncSession, *, project_id: uuid.UUID, data: ProjectUpdate, version: int, principal: Principal
) -> tuple[Project, list[Milestone]]:
    """Change a draft or returned project; an approved one only by its reviewers."""
    project = await get_visible(session, Project, project_id, principal, N_("project"))
    check_version(project.version, version, N_("project"))
    if project.status in ("submitted", "withdrawn"):
        raise InvalidState(
            tr("The project is under review: wait until it is approved or returned.")
            if project.status == "submitted"
            else tr("The project was withdrawn.")
        )
    program = await session.get_one(Program, project.program_id)
    writable(program)
    if project.status == "approved":
        await owned_or_403(session, Program, program.id, principal, APPROVED_ONLY_SO)
    milestones = await milestones_of(session, project.id)
    before = _audit_view(project, milestones)
    sent = data.model_dump(exclude_unset=True)
    if "milestones" in sent:
        sent["milestones"] = data.milestones or []
    if problems := await _update_problems(session, principal, project, program, milestones, sent):
        raise invalid(problems)
    if sent.get("code") and sent["code"] != project.code:
        await _ensure_code_free(session, project.program_id, sent["code"], but=project.id)
    for key, value in sent.items():
        if key == "milestones":
            continue
        if key == "leader":
            value = data.leader.model_dump() if data.leader else value
        elif key == "service_team":
            value = [m.model_dump() for m in data.service_team or []]
        elif key == "monthly_plan":
            value = _money_json(data.monthly_plan or {})
        setattr(project, key, value)
    if "milestones" in sent:
        milestones = await _replace_milestones(session, project.id, milestones, data.milestones or [])
    project.version += 1
    project.updated_at = clock.now()
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="project.update",
        entity="project",
        entity_id=project.id,
        unit_id=project.responsible_unit_id,
        before=before,
        after=_audit_view(project, milestones),
    )
    return project, milestones


async def _replace_milestones(
    session: AsyncSession, project_id: uuid.UUID, old: list[Milestone], new: list[MilestoneIn]
) -> list[Milestone]:
    """Keep a milestone (and its actual date) when its name stays; drop the rest."""
    by_name = {m.name: m for m in old}
    kept: list[Milestone] = []
    for i, m in enumerate(new):
        row = by_name.pop(m.name, None) or Milestone(
            project_id=project_id, name=m.name, planned_date=m.planned_date
        )
        row.planned_date, row.position = m.planned_date, i
        session.add(row)
        kept.append(row)
    for gone in by_name.values():
        await session.delete(gone)
    await session.flush()
    return kept


# status reached → (statuses it can be reached from, whether only the program's reviewers may)
TRANSITIONS = {
    "submitted": (("draft", "returned"), False),
    "approved": (("submitted",), True),
    "returned": (("submitted",), True),
}


async def transition(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    principal: Principal,
    to: str,
    version: int | None,
    reason: str | None = None,
) -> Project:
    """Move a project along the review workflow; approval announces `project.approved`."""
    allowed_from, review = TRANSITIONS[to]
    project = await get_visible(session, Project, project_id, principal, N_("project"))
    if version is not None:
        check_version(project.version, version, N_("project"))
    if review:
        await owned_or_403(session, Program, project.program_id, principal, REVIEWERS_ONLY)
    if project.status not in allowed_from:
        raise InvalidState(
            tr(
                "A project that is {status} cannot become {to}; only a project that is {allowed} can.",
                status=word(ProjectStatus, project.status),
                to=word(ProjectStatus, to),
                allowed=tr(" or ").join(word(ProjectStatus, s) for s in allowed_from),
            )
        )
    before = {"status": project.status, "version": project.version}
    now = clock.now()
    project.status, project.updated_at = to, now
    project.version += 1
    if to == "submitted":
        project.submitted_at, project.return_reason = now, None
    elif to == "approved":
        project.approved_at = now
    elif to == "returned":
        project.return_reason = reason
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action=f"project.{to}",
        entity="project",
        entity_id=project.id,
        unit_id=project.responsible_unit_id,
        before=before,
        after={"status": project.status, "version": project.version, "return_reason": project.return_reason},
    )
    if to == "approved":
        await announce_approved(session, project)
    return project


async def announce_approved(session: AsyncSession, project: Project) -> None:
    """`project.approved` through the outbox, for banks and investment platforms."""
    await outbox.publish_event(
        session,
        event="project.approved",
        subject_type="project",
        subject_id=project.id,
        occurred_at=project.approved_at,
        data={
            "id": str(project.id),
            "program_id": str(project.program_id),
            "code": project.code,
            "name": project.name,
            "category": project.category,
            "region_unit_id": str(project.region_unit_id),
            "owner_unit_id": str(project.owner_unit_id),
            "responsible_unit_id": str(project.responsible_unit_id),
            "stage": project.stage,
            "total_investment": str(project.total_investment),
            "annual_plan": str(project.annual_plan),
            "start_date": str(project.start_date),
            "end_date": str(project.end_date),
        },
    )


async def approved_total(session: AsyncSession, program_id: uuid.UUID) -> Decimal:
    stmt = select(func.coalesce(func.sum(col(Project.total_investment)), 0)).where(
        col(Project.program_id) == program_id, col(Project.status) == "approved"
    )
    return Decimal(await session.scalar(stmt) or 0)


async def _replacement_problems(
    session: AsyncSession, principal: Principal, project: Project, ids: list[uuid.UUID]
) -> tuple[Problems, list[Project]]:
    """Every fault of a withdrawal's replacements (listed twice or the project itself, out of
    sight, of another program, withdrawn themselves), and the replacements found."""
    if len(ids) != len(set(ids)) or project.id in ids:
        said = tr("list each replacement once, and not the withdrawn project")
        return [(["replacement_project_ids"], said)], []
    replacements = list(
        await session.scalars(visible(select(Project).where(col(Project.id).in_(ids)), Project, principal))
    )
    found = {r.id: r for r in replacements}
    problems: Problems = []
    for i, rid in enumerate(ids):
        r = found.get(rid)
        if r is None:
            problems.append(
                (["replacement_project_ids", i], tr("there is no project {id} that you can see", id=rid))
            )
        elif r.program_id != project.program_id:
            problems.append(
                (["replacement_project_ids", i], tr("{code} belongs to another program", code=r.code))
            )
        elif r.status == "withdrawn":
            problems.append((["replacement_project_ids", i], tr("{code} was withdrawn itself", code=r.code)))
    return problems, replacements


async def withdraw_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    """`_replacement_problems` for a withdrawal whose reason failed the schema."""
    stmt = select(Project).where(col(Project.id) == path.get("project_id"))
    project = await session.scalar(visible(stmt, Project, principal))
    ids = fields.get("replacement_project_ids")
    return (
        []
        if project is None or ids is None
        else (await _replacement_problems(session, principal, project, ids))[0]
    )


async def withdraw(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    data: WithdrawIn,
    principal: Principal,
    version: int | None,
) -> Adjustment:
    """Move an approved project out and its replacements in; the approved total must not drop."""
    project = await get_visible(session, Project, project_id, principal, N_("project"))
    if version is not None:
        check_version(project.version, version, N_("project"))
    await owned_or_403(session, Program, project.program_id, principal, REVIEWERS_ONLY)
    # One adjustment of a program at a time: the total is checked and changed under this lock.
    await session.execute(
        select(col(Program.id)).where(col(Program.id) == project.program_id).with_for_update()
    )
    await session.refresh(project)
    if project.status != "approved":
        raise InvalidState(
            tr(
                "Only an approved project can be withdrawn; this one is {status}.",
                status=word(ProjectStatus, project.status),
            )
        )
    ids = data.replacement_project_ids
    problems, replacements = await _replacement_problems(session, principal, project, ids)
    if problems:
        raise invalid(problems)
    before = await approved_total(session, project.program_id)
    moving_in = [r for r in replacements if r.status != "approved"]
    after = before - project.total_investment + sum((r.total_investment for r in moving_in), Decimal(0))
    if after < before:
        raise Conflict(
            tr(
                "Withdrawing {code} would drop the program's approved total investment from {before} to "
                "{after} 万元; name replacement projects worth at least {missing} 万元 more.",
                code=project.code,
                before=before,
                after=after,
                missing=before - after,
            )
        )

    now = clock.now()
    project.status, project.withdrawn_at, project.updated_at = "withdrawn", now, now
    project.version += 1
    for r in moving_in:
        r.status, r.approved_at, r.updated_at = "approved", now, now
        r.version += 1
    adjustment = Adjustment(
        program_id=project.program_id,
        withdrawn_project_id=project.id,
        replacement_project_ids=ids,
        reason=data.reason,
        approved_total_before=before,
        approved_total_after=after,
        decided_by=principal.key,
    )
    session.add(adjustment)
    await session.flush()
    for r in moving_in:
        await announce_approved(session, r)
    await audit.record(
        session,
        actor=principal.actor,
        action="project.withdrawn",
        entity="project",
        entity_id=project.id,
        unit_id=project.responsible_unit_id,
        before={"status": "approved", "approved_total": str(before)},
        after={
            "status": "withdrawn",
            "reason": data.reason,
            "replacements": [str(r) for r in ids],
            "approved_total": str(after),
        },
    )
    return adjustment


async def adjustments(
    session: AsyncSession, *, program: Program, principal: Principal, page: PageParams
) -> tuple[list[Adjustment], int]:
    """The program's dynamic adjustments the principal may see, oldest first."""
    stmt = visible(select(Adjustment), Adjustment, principal).where(col(Adjustment.program_id) == program.id)
    return await paginate(session, stmt, page, col(Adjustment.decided_at))


SORTS = {
    "code": col(Project.code),
    "name": col(Project.name),
    "total_investment": col(Project.total_investment),
    "annual_plan": col(Project.annual_plan),
    "start_date": col(Project.start_date),
    "end_date": col(Project.end_date),
    "updated_at": col(Project.updated_at),
}
SUMMARY_COLUMNS = [Project.__table__.c[name] for name in ProjectSummary.model_fields if name != "light"]  # type: ignore[attr-defined]


def filtered(
    principal: Principal,
    *,
    program_id: uuid.UUID | None = None,
    region_unit_id: uuid.UUID | None = None,
    responsible_unit_id: uuid.UUID | None = None,
    category: str | None = None,
    stage: str | None = None,
    status: str | None = None,
    q: str | None = None,
    columns: Sequence[Any] = (),
) -> Any:
    """The visible projects matching the filters (the list and the Excel export share this)."""
    stmt = visible(select(*columns) if columns else select(Project), Project, principal)
    for column, value in (
        (col(Project.program_id), program_id),
        (col(Project.region_unit_id), region_unit_id),
        (col(Project.responsible_unit_id), responsible_unit_id),
        (col(Project.category), category),
        (col(Project.stage), stage),
        (col(Project.status), status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if q:
        stmt = stmt.where(matches(q, col(Project.name), col(Project.code)))
    return stmt


def order(stmt: Any, sort: str) -> Any:
    column = SORTS[sort.lstrip("-")]
    ordered = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    return stmt.order_by(ordered, col(Project.id))


async def list_projects(
    session: AsyncSession, *, principal: Principal, page: PageParams, sort: str, **filters: Any
) -> tuple[list[dict[str, Any]], int]:
    """One query: the page and, beside each row, the count of all matching rows."""
    stmt = filtered(
        principal, columns=[*SUMMARY_COLUMNS, func.count().over().label("total_count")], **filters
    )
    rows = (
        (await session.execute(order(stmt, sort).offset(page.offset).limit(page.page_size))).mappings().all()
    )
    if rows:
        return [dict(r) for r in rows], rows[0]["total_count"]
    count = await session.scalar(select(func.count()).select_from(filtered(principal, **filters).subquery()))
    return [], count or 0


async def unit_names(
    session: AsyncSession, unit_ids: set[uuid.UUID], column: Any = None
) -> dict[uuid.UUID, Any]:
    """id → the unit's `column` (its name unless said) for the given units."""
    found = await session.execute(
        select(col(Unit.id), column if column is not None else col(Unit.name)).where(
            col(Unit.id).in_(unit_ids)
        )
    )
    return {unit_id: value for unit_id, value in found}


async def categories(
    session: AsyncSession, *, program_id: uuid.UUID | None, principal: Principal
) -> list[str]:
    """The program's categories, for the template's pick-list (none without a program)."""
    if program_id is None:
        return []
    return (await get_visible(session, Program, program_id, principal, N_("program"))).categories


async def unit_choices(session: AsyncSession, *, principal: Principal) -> list[str]:
    """The names of the units the caller can see, for the template's unit pick-lists (the import
    takes a unit's name when it names one unit)."""
    names = await session.scalars(
        visible(select(col(Unit.name)), Unit, principal).order_by(col(Unit.name)).distinct().limit(5000)
    )
    return list(names)


async def export_rows(
    session: AsyncSession, *, principal: Principal, sort: str, limit: int, **filters: Any
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, str]]:
    """The filtered list's projects with their milestones, as rows for the workbook, and the name
    of every unit they name (the import takes names back, or codes where names repeat)."""
    stmt = order(filtered(principal, **filters), sort).limit(limit)
    rows = [p.model_dump() for p in await session.scalars(stmt)]
    milestones = await milestones_by_project(session, [r["id"] for r in rows])
    for r in rows:
        r["milestones"] = [m.model_dump() for m in milestones.get(r["id"], [])]
    return rows, await unit_names(session, {r[k] for r in rows for k in UNIT_FIELDS})


async def for_oc4ids(
    session: AsyncSession, *, program: Program, principal: Principal
) -> tuple[list[Project], dict[uuid.UUID, list[Milestone]], dict[uuid.UUID, Unit]]:
    """The program's approved and withdrawn projects the caller sees, by code, with their
    milestones and every unit they (and the program) name."""
    rows = list(
        await session.scalars(
            visible(select(Project), Project, principal)
            .where(
                col(Project.program_id) == program.id,
                col(Project.status).in_((ProjectStatus.APPROVED, ProjectStatus.WITHDRAWN)),
            )
            .order_by(col(Project.code))
        )
    )
    milestones = await milestones_by_project(session, [p.id for p in rows])
    unit_ids = {program.office_unit_id} | {getattr(p, f) for p in rows for f in UNIT_FIELDS}
    units = {u.id: u for u in await session.scalars(select(Unit).where(col(Unit.id).in_(unit_ids)))}
    return rows, milestones, units
