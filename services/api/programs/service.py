"""Programs and their tasks: the task division (任务分工) with quantified targets."""

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import (
    get_visible,
    holds,
    owned_or_403,
    subtree_ids,
    unseen_units,
    visible,
)
from services.api.pagination import PageParams, matches, paginate
from services.api.preconditions import check_version, writable
from services.api.programs.schemas import (
    CarriedOver,
    IndicatorValueIn,
    ProgramClose,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
    TargetProgress,
    TaskCreate,
    TaskPublic,
)
from shared import audit, clock
from shared import report_facts as facts
from shared.errors import Conflict, Forbidden, InvalidState, invalid
from shared.i18n import N_, tr
from shared.models import (
    Assessment,
    IndicatorValue,
    Milestone,
    Program,
    Project,
    ProjectReport,
    Task,
    TaskTarget,
    TaskUnit,
)
from shared.program_settings import ProgramSettings
from shared.vocabulary import ProjectStage, ProjectStatus

NOT_YOURS = N_("Only the program's office (or an office above it) can change the program and its tasks.")


def program_settings(program: Program) -> ProgramSettings:
    return ProgramSettings.model_validate(program.settings)


async def approved_totals(
    session: AsyncSession, program_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Decimal, int]]:
    rows = await session.execute(
        select(
            col(Project.program_id), func.coalesce(func.sum(col(Project.total_investment)), 0), func.count()
        )
        .where(col(Project.program_id).in_(program_ids), col(Project.status) == "approved")
        .group_by(col(Project.program_id))
    )
    return {pid: (Decimal(total), n) for pid, total, n in rows}


def to_public(program: Program, totals: tuple[Decimal, int] | None) -> ProgramPublic:
    settings = program_settings(program)
    total, count = totals or (Decimal(0), 0)
    return ProgramPublic.model_validate(
        {
            **program.model_dump(exclude={"settings"}),
            **settings.model_dump(),
            "approved_total_investment": total,
            "approved_projects": count,
        }
    )


Problems = list[tuple[list[str | int], str]]


def _settings_problems(settings: dict[str, Any]) -> tuple[ProgramSettings | None, Problems]:
    """The program's settings as a whole: each part was checked as the request came in, but not
    whether they fit one another (every notice rule's first rung on the ladder): the faults,
    naming the part, when they do not."""
    try:
        return ProgramSettings.model_validate(settings), []
    except ValidationError as e:
        return None, [
            ([str(p) for p in err["loc"]] or ["escalation_policy"], err["msg"].removeprefix("Value error, "))
            for err in e.errors()
        ]


def _checked(settings: dict[str, Any]) -> ProgramSettings:
    """The settings, or 422 naming each part that does not fit the others."""
    found, problems = _settings_problems(settings)
    if found is None:
        raise invalid(problems)
    return found


SETTINGS = ("report_schedules", "escalation_policy", "notice_rules", "problem_rules", "assessment",
            "lights", "bulletin", "units_enter_projects")  # fmt: skip


async def create_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> Problems:
    """Every fault of a new program the schema cannot see, over the fields given: an office the
    caller cannot see, settings that do not fit one another (services/api/validation.py)."""
    office = fields.get("office_unit_id")
    problems = await unseen_units(session, principal, [(["office_unit_id"], office)]) if office else []
    if all(k in fields for k in SETTINGS):  # a part the schema faulted: how they fit waits for it
        problems += _settings_problems({k: v for k in SETTINGS if (v := fields[k])})[1]
    return problems


def _audit_view(program: Program) -> dict[str, Any]:
    return program.model_dump(mode="json", exclude={"created_at", "updated_at"})


async def create(session: AsyncSession, *, data: ProgramCreate, principal: Principal) -> Program:
    """A new program run by an office in the caller's subtree; settings default to the seeds'."""
    if problems := await create_checks(session, principal, dict(data)):
        raise invalid(problems)
    if await session.scalar(select(col(Program.id)).where(col(Program.code) == data.code)):
        raise Conflict(
            tr("A program with code '{code}' already exists; codes must be unique.", code=data.code)
        )

    given = {k: v for k in SETTINGS if (v := getattr(data, k))}  # an empty list or false: the default
    settings = _checked(given)
    program = Program(
        code=data.code,
        name=data.name,
        year=data.year,
        office_unit_id=data.office_unit_id,
        categories=data.categories,
        settings=settings.model_dump(mode="json"),
    )
    session.add(program)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="program.create",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        after=_audit_view(program),
    )
    return program


async def _update_problems(
    session: AsyncSession, program: Program, sent: dict[str, Any]
) -> tuple[Problems, ProgramSettings | None]:
    """Every fault of a change to the program the schema cannot see (a category its projects
    still use, settings that no longer fit one another), and its settings as changed when none."""
    problems: Problems = []
    if sent.get("categories"):
        in_use = set(
            await session.scalars(
                select(col(Project.category)).where(col(Project.program_id) == program.id).distinct()
            )
        ) - set(sent["categories"])
        if in_use:
            said = tr("projects still use {categories}; keep those", categories="、".join(sorted(in_use)))
            problems.append((["categories"], said))
    settings = program_settings(program).model_dump()
    settings.update({k: v for k, v in sent.items() if k in settings and v is not None})
    found, unfit = _settings_problems(settings)
    problems += unfit
    return problems, None if problems else found


async def update_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    """`_update_problems` for a change whose other fields failed the schema."""
    program = await session.scalar(
        visible(select(Program).where(col(Program.id) == path.get("program_id")), Program, principal)
    )
    return [] if program is None else (await _update_problems(session, program, fields))[0]


async def update(
    session: AsyncSession, *, program_id: uuid.UUID, data: ProgramUpdate, version: int, principal: Principal
) -> Program:
    program = await get_visible(session, Program, program_id, principal, N_("program"))
    await owned_or_403(session, Program, program.id, principal, NOT_YOURS)
    writable(program)
    check_version(program.version, version, N_("program"))
    before = _audit_view(program)
    sent = data.model_dump(exclude_unset=True)
    problems, settings = await _update_problems(session, program, sent)
    if settings is None:
        raise invalid(problems)
    if sent.get("name") is not None:
        program.name = sent["name"]
    if sent.get("categories") is not None:
        program.categories = sent["categories"]
    program.settings = settings.model_dump(mode="json")
    program.version += 1
    program.updated_at = clock.now()
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="program.update",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        before=before,
        after=_audit_view(program),
    )
    return program


def _close_problems(fields: dict[str, Any]) -> Problems:
    """A forced close without a reason."""
    if fields.get("force") and not fields.get("reason"):
        return [(["reason"], tr("say why the year is closed before its annual assessment"))]
    return []


async def close_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    return _close_problems(fields)


def _carry_problems(program: Program, target: Program) -> Problems:
    """A target program not of a later year or not of the same office."""
    if target.year <= program.year or target.office_unit_id != program.office_unit_id:
        return [(["to_program_id"], tr("carry over into a later year's program of the same office"))]
    return []


async def carry_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    """`_carry_problems` for a body whose other fields failed the schema."""
    programs = [
        await session.scalar(visible(select(Program).where(col(Program.id) == pid), Program, principal))
        for pid in (path.get("program_id"), fields.get("to_program_id"))
    ]
    source, target = programs
    return [] if source is None or target is None else _carry_problems(source, target)


async def close(
    session: AsyncSession, *, program: Program, data: ProgramClose, principal: Principal
) -> Program:
    """Close the program's year (its office): after the annual assessment is published, or forced
    with a reason. The sweeps chase none of it from then on and end its open chains; every write
    into it is refused."""
    await owned_or_403(session, Program, program.id, principal, NOT_YOURS)
    writable(program)
    assessed = await session.scalar(
        select(func.count()).where(
            col(Assessment.program_id) == program.id,
            col(Assessment.year) == program.year,
            col(Assessment.half) == 0,
        )
    )
    if not assessed and not data.force:
        raise InvalidState(
            tr(
                "The {year} annual assessment is not published yet: publish it first, or close with "
                "force and a reason.",
                year=program.year,
            )
        )
    if problems := _close_problems(dict(data)):
        raise invalid(problems)
    program.closed_at, program.closed_by, program.closed_reason = clock.now(), principal.key, data.reason
    program.version += 1
    await session.flush()
    await audit.record(
        session, actor=principal.actor, action="program.close", entity="program", entity_id=program.id,
        unit_id=program.office_unit_id, after={"reason": data.reason, "force": data.force},
    )  # fmt: skip
    return program


_CARRIED = (
    "code", "name", "category", "region_unit_id", "owner_unit_id", "responsible_unit_id", "leader",
    "service_team", "construction", "stage", "total_investment", "start_date", "end_date", "description",
)  # fmt: skip


async def carry_over(
    session: AsyncSession, *, program: Program, to_program_id: uuid.UUID, principal: Principal
) -> CarriedOver:
    """Copy the program's continuing projects (approved, not completed) into a later program of
    the same office: leaders, service team and the milestones not yet met come along; the annual
    and monthly plans are the new year's to fill, so each copy is a draft. Once per project."""
    await owned_or_403(session, Program, program.id, principal, NOT_YOURS)
    target = await get_visible(session, Program, to_program_id, principal, N_("program"))
    await owned_or_403(session, Program, target.id, principal, NOT_YOURS)
    writable(target)
    if problems := _carry_problems(program, target):
        raise invalid(problems)
    continuing = list(
        await session.scalars(
            select(Project)
            .where(
                col(Project.program_id) == program.id,
                col(Project.status) == ProjectStatus.APPROVED,
                col(Project.stage) != ProjectStage.COMPLETED,
            )
            .order_by(col(Project.code))
        )
    )
    taken = set(
        await session.scalars(
            select(col(Project.carried_from_id)).where(
                col(Project.program_id) == target.id, col(Project.carried_from_id).is_not(None)
            )
        )
    )
    codes = set(await session.scalars(select(col(Project.code)).where(col(Project.program_id) == target.id)))
    met = await _met_milestones(session, program, [p.id for p in continuing])
    made: list[uuid.UUID] = []
    for old in continuing:
        if old.id in taken or old.code in codes:
            continue
        new = Project(
            **{k: getattr(old, k) for k in _CARRIED}, program_id=target.id, annual_plan=Decimal(0),
            monthly_plan={}, status=ProjectStatus.DRAFT, carried_from_id=old.id, created_by=principal.key,
        )  # fmt: skip
        session.add(new)
        await session.flush()
        for m in await session.scalars(select(Milestone).where(col(Milestone.project_id) == old.id)):
            if (old.id, m.name) not in met and m.actual_date is None:
                session.add(
                    Milestone(
                        project_id=new.id, name=m.name, planned_date=m.planned_date, position=m.position
                    )
                )
        made.append(new.id)
    await session.flush()
    await audit.record(
        session, actor=principal.actor, action="program.carry_over", entity="program", entity_id=target.id,
        unit_id=target.office_unit_id, after={"from": str(program.id), "projects": [str(i) for i in made]},
    )  # fmt: skip
    return CarriedOver(carried=len(made), already=len(continuing) - len(made), project_ids=made)


async def _met_milestones(
    session: AsyncSession, program: Program, project_ids: list[uuid.UUID]
) -> set[tuple[uuid.UUID, str]]:
    """(project, milestone) met by now, as the reports say."""
    latest = facts.latest_versions(col(ProjectReport.program_id) == program.id).subquery("latest")
    states = facts.milestone_states(project_ids, latest, clock.today()).subquery("states")
    rows = await session.execute(
        select(states.c.project_id, states.c.name).where(states.c.actual_date.is_not(None))
    )
    return {(pid, name) for pid, name in rows.all()}


async def list_programs(
    session: AsyncSession, *, principal: Principal, page: PageParams, year: int | None, q: str | None
) -> tuple[list[Program], int]:
    stmt = visible(select(Program), Program, principal)
    if year:
        stmt = stmt.where(col(Program.year) == year)
    if q:
        stmt = stmt.where(matches(q, col(Program.name), col(Program.code)))
    return await paginate(session, stmt, page, col(Program.year).desc(), col(Program.code))


# --- tasks -------------------------------------------------------------------------------


TASK_ROLES = ("lead_unit_ids", "responsible_unit_ids", "cooperating_unit_ids")


async def task_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> Problems:
    """Every fault of a new task's units, over the fields given: a unit listed twice, a unit
    with two parts, a unit out of sight (services/api/validation.py too)."""
    problems: Problems = []
    refs: list[tuple[list[str | int], uuid.UUID]] = []
    seen: set[uuid.UUID] = set()
    for field in TASK_ROLES:
        ids = fields.get(field) or []
        if len(ids) != len(set(ids)):
            problems.append(([field], tr("each unit may be listed once")))
        elif twice := [u for u in ids if u in seen]:
            problems.append(([field], tr("unit {id} already has another part in this task", id=twice[0])))
        seen |= set(ids)
        refs += [([field, i], unit_id) for i, unit_id in enumerate(ids)]
    return problems + await unseen_units(session, principal, refs)


async def create_task(
    session: AsyncSession, *, program_id: uuid.UUID, data: TaskCreate, principal: Principal
) -> Task:
    program = await get_visible(session, Program, program_id, principal, N_("program"))
    await owned_or_403(session, Program, program.id, principal, NOT_YOURS)
    writable(program)
    if problems := await task_checks(session, principal, dict(data)):
        raise invalid(problems)
    if await session.scalar(
        select(col(Task.id)).where(col(Task.program_id) == program.id, col(Task.number) == data.number)
    ):
        raise Conflict(tr("The program already has a task numbered '{number}'.", number=data.number))
    task = Task(
        program_id=program.id,
        number=data.number,
        title=data.title,
        description=data.description,
        due_date=data.due_date,
    )
    session.add(task)
    await session.flush()
    for role, ids in (
        ("lead", data.lead_unit_ids),
        ("responsible", data.responsible_unit_ids),
        ("cooperating", data.cooperating_unit_ids),
    ):
        for unit_id in ids:
            session.add(TaskUnit(task_id=task.id, unit_id=unit_id, role=role))
    for t in data.targets:
        session.add(TaskTarget(task_id=task.id, **t.model_dump()))
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="task.create",
        entity="task",
        entity_id=task.id,
        unit_id=program.office_unit_id,
        after=data.model_dump(mode="json"),
    )
    return task


def target_state(target: TaskTarget, values: list[IndicatorValue], as_of: date) -> TargetProgress:
    """Met when a value on or before the due date reaches the target; missed when the due date
    passed without that; otherwise on track when the latest value is at least where a straight
    line from the first reported value to the target would be today, else behind."""

    def reaches(v: Decimal) -> bool:
        return v >= target.target_value if target.direction == "at_least" else v <= target.target_value

    known = sorted((v for v in values if v.as_of <= as_of), key=lambda v: (v.as_of, v.created_at))
    latest = known[-1] if known else None
    expected: Decimal | None = None
    if any(reaches(v.value) for v in known if v.as_of <= target.due_date):
        state = "met"
    elif as_of > target.due_date:
        state = "missed"
    elif latest is None:
        state = "behind"
    else:
        first = known[0]
        span = (target.due_date - first.as_of).days
        share = Decimal(1) if span <= 0 else Decimal((as_of - first.as_of).days) / Decimal(span)
        expected = (first.value + (target.target_value - first.value) * share).quantize(Decimal("0.0001"))
        ahead = latest.value >= expected if target.direction == "at_least" else latest.value <= expected
        state = "on_track" if ahead else "behind"
    return TargetProgress(
        id=target.id,
        indicator=target.indicator,
        unit=target.unit,
        target_value=target.target_value,
        direction=target.direction,
        due_date=target.due_date,
        latest_value=latest.value if latest else None,
        latest_as_of=latest.as_of if latest else None,
        expected_value=expected,
        state=state,
    )


async def task_public(session: AsyncSession, task: Task, as_of: date | None = None) -> TaskPublic:
    as_of = as_of or clock.today()
    units: dict[str, list[uuid.UUID]] = defaultdict(list)
    for tu in await session.scalars(select(TaskUnit).where(col(TaskUnit.task_id) == task.id)):
        units[tu.role].append(tu.unit_id)
    targets = list(
        await session.scalars(
            select(TaskTarget)
            .where(col(TaskTarget.task_id) == task.id)
            .order_by(col(TaskTarget.due_date), col(TaskTarget.indicator))
        )
    )
    by_indicator: dict[str, list[IndicatorValue]] = defaultdict(list)
    for v in await session.scalars(select(IndicatorValue).where(col(IndicatorValue.task_id) == task.id)):
        by_indicator[v.indicator].append(v)
    return TaskPublic(
        **task.model_dump(include={"id", "program_id", "number", "title", "description", "due_date"}),
        lead_unit_ids=units["lead"],
        responsible_unit_ids=units["responsible"],
        cooperating_unit_ids=units["cooperating"],
        as_of=as_of,
        targets=[target_state(t, by_indicator[t.indicator], as_of) for t in targets],
    )


async def list_tasks(
    session: AsyncSession, *, program_id: uuid.UUID, principal: Principal, page: PageParams
) -> tuple[list[Task], int]:
    await get_visible(session, Program, program_id, principal, N_("program"))
    stmt = visible(select(Task), Task, principal).where(col(Task.program_id) == program_id)
    return await paginate(session, stmt, page, col(Task.number))


async def _indicator_problems(session: AsyncSession, task: Task, fields: dict[str, Any]) -> Problems:
    """A reported value's faults the schema cannot see: an indicator the task has no target for,
    a date in the future."""
    problems: Problems = []
    indicators = set(
        await session.scalars(select(col(TaskTarget.indicator)).where(col(TaskTarget.task_id) == task.id))
    )
    indicator = fields.get("indicator")
    if indicator is not None and indicator not in indicators:
        known = "、".join(sorted(indicators)) or tr("none yet")
        said = tr("the task has no target for '{indicator}' (its indicators: {known})", indicator=indicator,
                  known=known)  # fmt: skip
        problems.append((["indicator"], said))
    as_of = fields.get("as_of")
    if as_of is not None and as_of > clock.today():
        problems.append((["as_of"], tr("a value cannot be reported for a future date")))
    return problems


async def indicator_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    """`_indicator_problems` for a value whose other fields failed the schema."""
    task = await session.scalar(
        visible(select(Task).where(col(Task.id) == path.get("task_id")), Task, principal)
    )
    return [] if task is None else await _indicator_problems(session, task, fields)


async def report_indicator(
    session: AsyncSession, *, task_id: uuid.UUID, data: IndicatorValueIn, principal: Principal
) -> IndicatorValue:
    """A value reported by one of the task's units (or the program's office)."""
    task = await get_visible(session, Task, task_id, principal, N_("task"))
    if problems := await _indicator_problems(session, task, dict(data)):
        raise invalid(problems)
    program = await session.get_one(Program, task.program_id)
    if not await holds(session, Program, program.id, principal):
        mine = await session.scalar(
            select(col(TaskUnit.unit_id))
            .where(col(TaskUnit.task_id) == task.id, col(TaskUnit.unit_id).in_(subtree_ids(principal)))
            .limit(1)
        )
        if mine is None:
            raise Forbidden(
                tr("Only the task's lead, responsible or cooperating units report its indicators.")
            )
    value = IndicatorValue(task_id=task.id, reported_by=principal.key, **data.model_dump())
    session.add(value)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="task.indicator_value",
        entity="task",
        entity_id=task.id,
        unit_id=program.office_unit_id,
        after=data.model_dump(mode="json"),
    )
    return value
