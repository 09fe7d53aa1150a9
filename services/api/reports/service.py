"""Filing reports: versioned project monthly reports, unit reports, and the problems they raise."""

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.permissions import Action, can
from services.api.auth.principal import Principal
from services.api.auth.scope import condition, get_visible, not_visible, subtree_ids, visible
from services.api.pagination import PageParams, paginate
from services.api.preconditions import writable
from services.api.reports.schemas import MONTH, WEEK, Due, Dues, ProjectReportIn, UnitReportIn
from shared import audit, calendar, clock, dues, indicators, outbox
from shared.clock import OFFICE_TZ
from shared.db import driver_connection
from shared.errors import Conflict, Forbidden, invalid
from shared.i18n import N_, tr, word
from shared.logging import request_id_var
from shared.models import (
    Milestone,
    NoticeChain,
    Problem,
    ProblemEvent,
    Program,
    Project,
    ProjectReport,
    Unit,
    UnitReport,
)
from shared.outbox import OUTBOX_WRITTEN
from shared.program_settings import ProgramSettings
from shared.queues import Job, ReportFiledPayload, Target
from shared.vocabulary import ChainState, DueState, NoticeRule, ProjectStatus, ScheduleKind, UnitReportKind

CENT = Decimal("0.01")


async def raise_problem(
    session: AsyncSession,
    *,
    program: Program,
    owner_unit_id: uuid.UUID,
    title: str,
    description: str | None,
    needs_coordination: bool,
    by: str,
    project_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> Problem:
    """A new problem in the ledger, due a program-set number of working days from today."""
    settings = ProgramSettings.model_validate(program.settings)
    today = clock.today()
    cal = await calendar.load(session, [today.year])
    deadline = cal.add_working_days(today, settings.problem_rules.deadline_working_days)
    now = clock.now()
    problem = Problem(
        program_id=program.id,
        project_id=project_id,
        report_id=report_id,
        owner_unit_id=owner_unit_id,
        title=title,
        description=description,
        needs_coordination=needs_coordination,
        deadline=deadline.date,
        deadline_complete=deadline.complete,
        raised_at=now,
    )
    session.add(problem)
    await session.flush()
    session.add(ProblemEvent(problem_id=problem.id, action="raised", to_level=0, by=by, at=now))
    return problem


# One call files a report (services/api/migrations: 20261124_0007): the row lock, the facts, the
# checks that need them, the deadline, the report, the milestones it meets and its audit row.
_FILE = """SELECT * FROM file_project_report(
    p_project_id => $1, p_unit_path => $2, p_period => $3, p_investment => $4, p_progress => $5,
    p_milestones => $6, p_coordination => $7, p_note => $8, p_report_id => $9, p_by => $10,
    p_now => $11, p_actor_kind => $12, p_actor_id => $13, p_after => $14, p_request_id => $15,
    p_valid => $16, p_due_stamp => $17, p_due_at => $18, p_due_complete => $19,
    p_recorded_at => $20, p_by_office => $21)"""


@lru_cache(maxsize=256)
def _settings(text: str) -> ProgramSettings:
    return ProgramSettings.model_validate_json(text)


async def _deadline(session: AsyncSession, settings_text: str, period: str) -> tuple[datetime | None, bool]:
    """The project monthly deadline of `period` under these program settings (None: the program
    has none), and whether the calendar covered it."""
    schedule = _settings(settings_text).schedule(ScheduleKind.PROJECT_MONTHLY)
    if schedule is not None:
        found = dues.period_for(schedule, period, await calendar.load(session, [int(period[:4])]))
        if found is not None:
            return found.due_at, found.due_complete
    return None, True


async def file_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """A report's faults the schema cannot see, over the fields that passed it
    (services/api/validation.py): the period against the project's, the milestones it names."""
    project = await session.scalar(
        visible(select(Project).where(col(Project.id) == path.get("project_id")), Project, principal)
    )
    if project is None:
        return []
    program = await session.get_one(Program, project.program_id)
    known = list(
        await session.scalars(select(col(Milestone.name)).where(col(Milestone.project_id) == project.id))
    )
    facts = {"o_start_date": project.start_date, "o_end_date": project.end_date, "o_year": program.year,
             "o_milestones": known}  # fmt: skip
    data = SimpleNamespace(period=fields.get("period"), milestones=fields.get("milestones") or [])
    now = clock.now()
    return _not_yet(fields.get("filed_at"), now) + _faults(data, now.astimezone(OFFICE_TZ).date(), facts)


def _faults(data: Any, today: date, filed: Any | None) -> list[tuple[list[str | int], str]]:
    """What is wrong with the report, in words; `filed` holds the facts the database returned
    (None before it was asked).

    Twin: the filing function (services/api/reports/file_project_report.sql) checks the period
    against the start, the milestone names and the total in SQL and answers `invalid`; this words
    them. A rule added here that needs the database's facts must be added there too
    (tests/api/test_reports.py covers each)."""
    faults: list[tuple[list[str | int], str]] = []
    if data.period is None:  # faulted by the schema (file_checks): the rules of the period wait
        pass
    elif data.period > f"{today:%Y-%m}":
        faults.append(
            (
                ["period"],
                tr(
                    "{period} has not begun yet; report a month up to {month}",
                    period=data.period,
                    month=today.strftime("%Y-%m"),
                ),
            )
        )
    if filed is not None and data.period is not None:
        start, end, year = f"{filed['o_start_date']:%Y-%m}", f"{filed['o_end_date']:%Y-%m}", filed["o_year"]
        first, last = max(start, f"{year}-01"), min(end, f"{year}-12")
        if data.period < start:
            faults.append(
                (
                    ["period"],
                    tr(
                        "the project starts in {start}; {period} is before it (it reports {first} to {last})",
                        start=start,
                        period=data.period,
                        first=first,
                        last=last,
                    ),
                )
            )
        elif not first <= data.period <= last:
            faults.append(
                (
                    ["period"],
                    tr(
                        "{period} is outside what this project reports: {first} to {last} (its program's "
                        "year {year}, the project from {start} to {end}); a continuing project reports next "
                        "year in next year's program",
                        period=data.period,
                        first=first,
                        last=last,
                        year=year,
                        start=start,
                        end=end,
                    ),
                )
            )
    known = (filed["o_milestones"] or []) if filed is not None else None
    for i, m in enumerate(data.milestones):
        if known is not None and m.name not in known:
            names = "、".join(known) or tr("none")
            faults.append(
                (
                    ["milestones", i, "name"],
                    tr("the project has no milestone '{name}' (it has: {names})", name=m.name, names=names),
                )
            )
        if m.actual_date > today:
            faults.append((["milestones", i, "actual_date"], tr("{day} is in the future", day=m.actual_date)))
    if (
        filed is not None
        and filed.get("o_to_date") is not None
        and filed["o_to_date"] > filed["o_total_investment"]
    ):
        faults.append(
            (
                ["investment_month"],
                tr(
                    "the investment to date would be {to_date} 万元, "
                    "beyond the total investment ({total} 万元)",
                    to_date=filed["o_to_date"],
                    total=filed["o_total_investment"],
                ),
            )
        )
    return faults


async def file_project_report(
    session: AsyncSession, *, project_id: uuid.UUID, data: ProjectReportIn, principal: Principal
) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """File a monthly report (returned as its row); a second one for the same period is a new version.

    The hot path of the api (every project, every month, often on the last day): one call of the
    file_project_report function does it all, committing on its own when nothing else is
    written with it (no problems raised, no Idempotency-Key to store): one round trip."""
    recorded_at = clock.now()
    history = data.filed_at is not None
    if history:
        _may_enter_history(principal)
    if future := _not_yet(data.filed_at, recorded_at):  # with what else can be told now
        raise invalid(future + _faults(data, recorded_at.astimezone(OFFICE_TZ).date(), None))
    now = _filed_when(data.filed_at, recorded_at)
    today = now.astimezone(OFFICE_TZ).date()
    conn = await driver_connection(session, begin=bool(data.problems))
    report_id = uuid.uuid4()
    by = principal.key
    milestones = [m.model_dump(mode="json") for m in data.milestones]
    coordination = [p.model_dump() for p in data.problems if p.needs_coordination]
    args = [
        project_id,
        principal.unit_path,
        data.period,
        data.investment_month,
        data.progress_percent,
        json.dumps(milestones),
        json.dumps(coordination),
        data.note,
        report_id,
        by,
        now,
        principal.kind,
        str(principal.id),
        json.dumps(data.model_dump(mode="json")),  # the audit row's `after`, completed by the function
        request_id_var.get(),
        not _faults(data, today, None),
    ]
    recording = [recorded_at, history]
    due: list[Any] = [None, None, None]
    for _ in range(3):  # a deadline to compute, then (rarely) a calendar edited meanwhile
        filed = await conn.fetchrow(_FILE, *args, *due, *recording)
        assert filed is not None
        outcome = filed["o_outcome"]
        if outcome == "needs_deadline":
            due = [filed["o_stamp"], *await _deadline(session, filed["o_settings"], data.period)]
            continue
        break
    else:
        raise Conflict(tr("The working-day calendar changed while the report was filed; send it again."))
    if outcome == "not_visible":
        raise not_visible(N_("project"), project_id)
    if outcome == "program_closed":
        project = await session.get_one(Project, project_id)
        writable(await session.get_one(Program, project.program_id))
    if outcome == "not_approved":
        raise Conflict(
            tr(
                "Only projects in the library report; this one is {status}.",
                status=word(ProjectStatus, filed["o_status"]),
            )
        )
    if outcome == "invalid":
        raise invalid(_faults(data, today, filed))
    report: dict[str, Any] = {  # the project_report row, column by column
        "id": report_id,
        "project_id": project_id,
        "program_id": filed["o_program_id"],
        "period": data.period,
        "version": filed["o_version"],
        # as the database keeps them (two decimals), so the answer reads as the history does
        "investment_month": data.investment_month.quantize(CENT),
        "investment_to_date": filed["o_to_date"],
        "progress_percent": data.progress_percent.quantize(CENT),
        "milestones": milestones,
        "coordination": coordination,
        "note": data.note,
        "due_at": filed["o_due_at"],
        "due_complete": filed["o_due_complete"],
        "late": filed["o_late"],
        "submitted_by": by,
        "recorded_by_office": history,
        "submitted_at": filed["o_submitted_at"],  # never before the version it follows
    }
    if filed["o_chased"]:  # the function told the notifier in its outbox: relay it after the commit
        session.info[OUTBOX_WRITTEN] = True
    raised: list[uuid.UUID] = []
    if data.problems:
        program = await session.get_one(Program, filed["o_program_id"])
        for p in data.problems:
            problem = await raise_problem(
                session,
                program=program,
                owner_unit_id=filed["o_responsible_unit_id"],
                title=p.title,
                description=p.description,
                needs_coordination=p.needs_coordination,
                by=by,
                project_id=project_id,
                report_id=report_id,
            )
            raised.append(problem.id)
    return report, raised


def _period_problems(kind: str, period: str | None, today: date) -> list[tuple[list[str | int], str]]:
    """What is wrong with a unit report's period for its kind, as of `today`."""
    if kind == "instant":
        return [] if period is None else [(["period"], tr("an instant report has no period; send null"))]
    pattern, example = (WEEK, "2018-W39") if kind == "weekly" else (MONTH, "2018-09")
    if period is None or not pattern.match(period):
        said = tr(
            "a {kind} report needs its period, such as {example}",
            kind=word(UnitReportKind, kind),
            example=example,
        )
        return [(["period"], said)]
    if kind == "weekly":
        year, week = int(period[:4]), int(period[6:])
        try:
            start = date.fromisocalendar(year, week, 1)
        except ValueError:
            return [(["period"], tr("{year} has no ISO week {week}", year=year, week=week))]
        if start > today:
            return [(["period"], tr("{period} has not begun yet", period=period))]
    elif period > f"{today:%Y-%m}":
        return [(["period"], tr("{period} has not begun yet", period=period))]
    return []


def _unit_report_problems(fields: dict[str, Any], recorded_at: datetime) -> list[tuple[list[str | int], str]]:
    """Every fault of a unit report the schema cannot see, over the fields given: a filing time
    an instant report cannot take or one in the future, a period its kind does not have."""
    problems: list[tuple[list[str | int], str]] = []
    kind, filed_at = fields.get("kind"), fields.get("filed_at")
    if filed_at is not None and kind == "instant":
        problems.append((["filed_at"], tr("an instant report goes out now; it takes no filed_at")))
    else:
        problems += _not_yet(filed_at, recorded_at)
    if kind is not None:
        today = _filed_when(filed_at, recorded_at).astimezone(OFFICE_TZ).date()
        problems += _period_problems(kind, fields.get("period"), today)
    return problems


async def unit_report_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> list[tuple[list[str | int], str]]:
    """`_unit_report_problems` for a report whose other fields failed the schema."""
    return _unit_report_problems(fields, clock.now())


def _may_enter_history(principal: Principal) -> None:
    """403 unless the caller may enter a report with its original filing time (the office)."""
    if not can(principal, Action.REPORTS_RECORD_HISTORY):
        raise Forbidden(
            tr(
                "Only the office records reports with their original filing time (filed_at); "
                "file it without filed_at."
            )
        )


def _not_yet(filed_at: datetime | None, recorded_at: datetime) -> list[tuple[list[str | int], str]]:
    """A history's filing time still to come: the fault, or none."""
    if filed_at is None or filed_at <= recorded_at:
        return []
    return [(["filed_at"], tr("{at} is in the future; give when it was filed", at=filed_at))]


def _filed_when(filed_at: datetime | None, recorded_at: datetime) -> datetime:
    """When a report counts as filed: the history's original time, else now (a time still to
    come is refused first, `_not_yet`; until then it counts as now)."""
    return recorded_at if filed_at is None else min(filed_at, recorded_at)


async def file_unit_report(
    session: AsyncSession, *, unit_id: uuid.UUID, data: UnitReportIn, principal: Principal
) -> UnitReport:
    """A weekly, monthly or instant report; an instant one goes out at once through the outbox.
    The office may enter a weekly or monthly one as history, with its original filing time."""
    recorded_at = clock.now()
    history = data.filed_at is not None
    if history:
        _may_enter_history(principal)
    if problems := _unit_report_problems(dict(data), recorded_at):
        raise invalid(problems)
    now = _filed_when(data.filed_at, recorded_at)
    unit = await get_visible(session, Unit, unit_id, principal, N_("unit"), lock=True)
    version = 1
    if data.period is not None:
        version += (
            await session.scalar(
                select(func.count()).where(
                    col(UnitReport.unit_id) == unit.id,
                    col(UnitReport.kind) == data.kind,
                    col(UnitReport.period) == data.period,
                )
            )
            or 0
        )
    report = UnitReport(
        unit_id=unit.id,
        kind=data.kind,
        period=data.period,
        version=version,
        body=data.body,
        submitted_by=principal.key,
        submitted_at=now,
        recorded_by_office=history,
    )
    session.add(report)
    await session.flush()
    if version == 1 and data.period is not None:
        await _tell_the_chain(session, unit.id, data, recorded_at)
    if data.kind == "instant":
        await outbox.publish_event(
            session,
            event="report.instant",
            subject_type="unit",
            subject_id=unit.id,
            occurred_at=now,
            data={
                "report_id": str(report.id),
                "unit_code": unit.code,
                "unit_name": unit.name,
                "body": data.body,
            },
        )
    await audit.record(
        session,
        actor=principal.actor,
        action=f"unit.report.{data.kind}",
        entity="unit_report",
        entity_id=report.id,
        unit_id=unit.id,
        after=data.model_dump(mode="json") | {"version": version, "recorded_by_office": history},
    )
    return report


async def _tell_the_chain(
    session: AsyncSession, unit_id: uuid.UUID, data: UnitReportIn, now: datetime
) -> None:
    """A period a notice chain is chasing ends its chain now: the notifier is told in this
    transaction (the sweep would close it later). Project reports do this in their function."""
    chased = await session.scalar(
        select(col(NoticeChain.id)).where(
            col(NoticeChain.rule) == NoticeRule.REPORT_DUE, col(NoticeChain.subject_type) == "unit",
            col(NoticeChain.subject_id) == unit_id, col(NoticeChain.period) == data.period,
            col(NoticeChain.state) == ChainState.OPEN,
        )
    )  # fmt: skip
    if chased is not None:
        assert data.period is not None
        payload = ReportFiledPayload(
            subject_type="unit", subject_id=unit_id, period=data.period, filed_at=now
        )
        await outbox.add_message(
            session, producer="api", target=Target.NOTIFIER, job=Job.REPORT_FILED, payload=payload
        )


async def project_report_history(
    session: AsyncSession, *, project: Project, period: str | None, page: PageParams
) -> tuple[list[tuple[ProjectReport, list[uuid.UUID]]], int]:
    """Every version of the project's reports (of one period, if named), newest period and version
    first, each with the problems it raised."""
    stmt = select(ProjectReport).where(col(ProjectReport.project_id) == project.id)
    if period:
        stmt = stmt.where(col(ProjectReport.period) == period)
    rows, count = await paginate(
        session, stmt, page, col(ProjectReport.period).desc(), col(ProjectReport.version).desc()
    )
    raised: dict[uuid.UUID, list[uuid.UUID]] = {}
    for problem_id, report_id in await session.execute(
        select(col(Problem.id), col(Problem.report_id)).where(
            col(Problem.report_id).in_([r.id for r in rows])
        )
    ):
        if report_id is not None:
            raised.setdefault(report_id, []).append(problem_id)
    return [(r, raised.get(r.id, [])) for r in rows], count


async def indicators_of(session: AsyncSession, *, project: Project, as_of: datetime) -> indicators.Indicators:
    program = await session.get_one(Program, project.program_id)
    cal = await calendar.load(session, [program.year])
    return await indicators.compute(session, project=project, program=program, calendar=cal, as_of=as_of)


async def unit_report_history(
    session: AsyncSession, *, unit: Unit, kind: str | None, period: str | None, page: PageParams
) -> tuple[list[UnitReport], int]:
    """The unit's reports, newest first."""
    stmt = select(UnitReport).where(col(UnitReport.unit_id) == unit.id)
    if kind:
        stmt = stmt.where(col(UnitReport.kind) == kind)
    if period:
        stmt = stmt.where(col(UnitReport.period) == period)
    return await paginate(session, stmt, page, col(UnitReport.submitted_at).desc())


# The workbook of dues holds at most this many rows (a province's year is well under it).
MAX_DUES_ROWS = 200_000


async def _dues_statement(
    session: AsyncSession,
    *,
    program: Program,
    principal: Principal,
    as_of: datetime,
    filters: dues.DueFilters,
) -> Any:
    settings = ProgramSettings.model_validate(program.settings)
    cal = await calendar.load(session, [program.year])
    return dues.dues_query(
        program,
        settings,
        cal,
        as_of,
        visible_projects=condition(Project, principal),
        visible_units=subtree_ids(principal),
        filters=filters,
    )


async def list_dues(
    session: AsyncSession,
    *,
    program: Program,
    principal: Principal,
    as_of: datetime,
    page: PageParams,
    filters: dues.DueFilters,
) -> Dues:
    """One page of what the program's units and projects owe as of an instant, with a count per
    state over all of it."""
    stmt = await _dues_statement(session, program=program, principal=principal, as_of=as_of, filters=filters)
    if stmt is None:
        return Dues(as_of=as_of, data=[], count=0, summary=dues.summary_empty())
    # One pass: each row carries the counts per state over the whole set (a window), so the
    # page and the summary come from a single evaluation of the dues.
    sub = stmt.subquery()
    states = [str(s) for s in DueState]
    counted = select(
        sub, *[func.count().filter(sub.c.state == st).over().label(f"n_{st}") for st in states]
    ).subquery()
    listed = _in_order(counted, filters).offset(page.offset).limit(page.page_size)
    rows = (await session.execute(listed)).mappings().all()
    if rows:
        summary = {st: rows[0][f"n_{st}"] for st in states}
    else:  # a page past the end: count separately
        summary = await dues.summary(session, stmt)
    count = summary[filters.state] if filters.state else sum(summary.values())
    return Dues(as_of=as_of, data=await _named(session, rows), count=count, summary=summary)


def _in_order(dues_rows: Any, filters: dues.DueFilters) -> Any:
    """The dues of a subquery in the list's order (by deadline), of one state when asked."""
    listed = select(dues_rows)
    if filters.state:
        listed = listed.where(dues_rows.c.state == filters.state)
    c = dues_rows.c
    return listed.order_by(c.due_at, c.kind, c.period, c.subject_id)


async def _named(session: AsyncSession, rows: Sequence[RowMapping]) -> list[Due]:
    """Dues rows with who owes them (code and name, a project's responsible unit) and the last day."""
    project_ids = {r["subject_id"] for r in rows if r["subject_type"] == "project"}
    projects = {
        p.id: p for p in await session.scalars(select(Project).where(col(Project.id).in_(project_ids)))
    }
    unit_ids = {r["subject_id"] for r in rows if r["subject_type"] == "unit"}
    unit_ids |= {p.responsible_unit_id for p in projects.values()}
    units = {u.id: u for u in await session.scalars(select(Unit).where(col(Unit.id).in_(unit_ids)))}
    out = []
    for r in rows:
        subject: Project | Unit
        if r["subject_type"] == "unit":
            subject = responsible = units[r["subject_id"]]
        else:
            subject = projects[r["subject_id"]]
            responsible = units[subject.responsible_unit_id]
        out.append(
            Due(
                subject_type=r["subject_type"],
                unit_id=r["subject_id"] if r["subject_type"] == "unit" else None,
                project_id=None if r["subject_type"] == "unit" else r["subject_id"],
                code=subject.code,
                name=subject.name,
                responsible_unit_id=responsible.id,
                responsible_unit_code=responsible.code,
                responsible_unit_name=responsible.name,
                kind=r["kind"],
                period=r["period"],
                due_date=(r["due_at"].astimezone(OFFICE_TZ) - timedelta(days=1)).date(),
                due_at=r["due_at"],
                due_complete=r["due_complete"],
                filed_at=r["filed_at"],
                state=r["state"],
            )
        )
    return out


async def all_dues(
    session: AsyncSession,
    *,
    program: Program,
    principal: Principal,
    as_of: datetime,
    filters: dues.DueFilters,
) -> list[Due]:
    """Every due the list would page through (for the workbook), in the list's order."""
    statement = await _dues_statement(
        session, program=program, principal=principal, as_of=as_of, filters=filters
    )
    if statement is None:
        return []
    listed = _in_order(statement.subquery(), filters).limit(MAX_DUES_ROWS)
    return await _named(session, (await session.execute(listed)).mappings().all())
