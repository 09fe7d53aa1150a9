"""The rules that find what is late, each a SELECT over the report facts as of an instant.

Each rule is declared once in `RULES` (its finder, what ends its chains, its settings); adding
one is a declaration, its finder and its test. A rule answers with the matters that stand now
— an unfiled report period, an unmet milestone, an unresolved problem, a project behind its
plan — and the sweep opens a chain for each one whose first rung is due, and closes the open
chains of that rule whose matter no longer stands (the report filed, the milestone met, the
problem resolved, the investment caught up, the rule switched off). Deadline rules (reports,
milestones, problems) climb the ladder from their deadline: a reminder before it, the urging
notice after it. Condition rules (investment behind the plan curve, 开而未动, 动而迟缓) open at
the rung of their `start_kind` on the day they find the matter; 开而未动 and 动而迟缓 keep one
open chain per project.
"""

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import cadence, dues, lights
from shared import report_facts as facts
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.i18n import word
from shared.models import AppUser, Milestone, Problem, Program, Project, ProjectReport, Team, Unit
from shared.program_settings import ConditionRule, NoticeRules, ProgramSettings, Switch
from shared.vocabulary import (
    ChainClosed,
    NoticeKind,
    NoticeRule,
    ProblemState,
    ProjectStage,
    ProjectStatus,
    ScheduleKind,
    VisitKind,
)

HORIZON = timedelta(days=60)  # deadlines further off than this cannot need a reminder yet


@dataclass(frozen=True)
class Matter:
    """Something a unit must do, found by a rule: the key of its chain and what a notice says."""

    subject_type: str
    subject_id: uuid.UUID
    period: str
    recipient_unit_id: uuid.UUID
    due: date  # the deadline's last day, or the day a condition was found
    title: str  # what the notices name, in the words a clerk reads
    first_on: date | None = None  # a condition rule's first rung comes on this day
    kind: str | None = None  # a report's schedule kind (the chain's schedule_kind; else the rule)


@dataclass(frozen=True)
class Found:
    """What a rule found as of the instant, and how its chains run."""

    rule: NoticeRule
    matters: list[Matter]
    closes: ChainClosed  # why an open chain whose matter is no longer found ends
    per_subject: bool = False  # one open chain per subject, whatever its period
    start_kind: NoticeKind | None = None  # a condition rule's first rung; None: a deadline's ladder


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    program: Program
    settings: ProgramSettings
    calendar: WorkingCalendar
    as_of: datetime

    @property
    def today(self) -> date:
        return self.as_of.astimezone(OFFICE_TZ).date()

    def first_working_day_from(self, day: date) -> date:
        return day if self.calendar.is_working_day(day) else self.calendar.next_working_day(day).date


def _approved(*where: Any) -> Any:
    return and_(col(Project.status) == ProjectStatus.APPROVED, *where)


def _project(name: str) -> str:
    return f"项目“{name}”"


async def report_due(ctx: Context) -> list[Matter]:
    """Each report period owed and not filed (shared.dues), reminded before its last day."""
    query = dues.dues_query(
        ctx.program,
        ctx.settings,
        ctx.calendar,
        ctx.as_of,
        visible_projects=col(Project.id).is_not(None),
        visible_units=select(col(Unit.id)),
        filters=dues.DueFilters(),
    )
    if query is None:
        return []
    owed = query.subquery("owed")
    stmt = (
        select(
            owed.c.subject_type,
            owed.c.subject_id,
            owed.c.kind,
            owed.c.period,
            owed.c.due_at,
            func.coalesce(col(Project.responsible_unit_id), owed.c.subject_id).label("recipient"),
            col(Project.name).label("project"),
            col(Unit.name).label("unit"),
        )
        .outerjoin(Project, and_(owed.c.subject_type == "project", col(Project.id) == owed.c.subject_id))
        .outerjoin(Unit, and_(owed.c.subject_type == "unit", col(Unit.id) == owed.c.subject_id))
        .where(owed.c.state.in_(("open", "overdue")))
    )
    out = []
    for r in (await ctx.session.execute(stmt)).mappings():
        due = (r["due_at"].astimezone(OFFICE_TZ) - timedelta(days=1)).date()
        who = _project(r["project"]) if r["project"] else r["unit"]
        report = word(ScheduleKind, r["kind"], "zh_CN")
        title = f"{who} {r['period']} {report}（{due} 截止）"
        out.append(
            Matter(
                r["subject_type"], r["subject_id"], r["period"], r["recipient"], due, title, kind=r["kind"]
            )
        )
    return out


async def milestone_due(ctx: Context) -> list[Matter]:
    """Each milestone of an approved project not met by its planned day (as the reports filed by
    now say), reminded before that day and urged after it."""
    ids = select(col(Project.id)).where(_approved(col(Project.program_id) == ctx.program.id))
    latest = facts.latest_versions(col(ProjectReport.program_id) == ctx.program.id, as_of=ctx.as_of)
    states = facts.milestone_states(ids, latest.subquery("latest"), ctx.today).subquery("states")
    stmt: Any = (
        select(
            col(Milestone.id),
            col(Milestone.name),
            col(Milestone.planned_date),
            col(Project.name).label("project"),
            col(Project.responsible_unit_id),
        )
        .join(
            states,
            and_(states.c.project_id == col(Milestone.project_id), states.c.name == col(Milestone.name)),
        )
        .join(Project, col(Project.id) == col(Milestone.project_id))
        .where(states.c.actual_date.is_(None), col(Milestone.planned_date) <= ctx.today + HORIZON)
    )
    return [
        Matter(
            "milestone",
            m.id,
            m.planned_date.isoformat(),
            m.responsible_unit_id,
            m.planned_date,
            f"{_project(m.project)}里程碑“{m.name}”（计划 {m.planned_date} 完成）",
        )
        for m in (await ctx.session.execute(stmt)).all()
    ]


async def problem_overdue(ctx: Context) -> list[Matter]:
    """Each problem raised by now and not resolved by now (the office's confirmation, 办结复核),
    reminded before its deadline, urged past it."""
    stmt = select(
        col(Problem.id), col(Problem.title), col(Problem.deadline), col(Problem.owner_unit_id)
    ).where(
        col(Problem.program_id) == ctx.program.id,
        or_(col(Problem.state) != ProblemState.RESOLVED, col(Problem.resolved_at) > ctx.as_of),
        col(Problem.raised_at) <= ctx.as_of,
        col(Problem.deadline) <= ctx.today + HORIZON,
    )
    return [
        Matter(
            "problem",
            p.id,
            p.deadline.isoformat(),
            p.owner_unit_id,
            p.deadline,
            f"问题“{p.title}”（限 {p.deadline} 解决）",
        )
        for p in (await ctx.session.execute(stmt)).all()
    ]


def _under_construction(ctx: Context) -> Any:
    return _approved(
        col(Project.program_id) == ctx.program.id, col(Project.stage) == ProjectStage.CONSTRUCTION
    )


async def investment_behind(ctx: Context) -> list[Matter]:
    """At each checkpoint passed this year, each project under construction whose investment this
    year to the checkpoint's month is below its share of the annual plan, urged the working day after."""
    rule = ctx.settings.notice_rules.investment_behind
    latest = facts.latest_versions(col(ProjectReport.program_id) == ctx.program.id, as_of=ctx.as_of)
    out: list[Matter] = []
    for point in rule.checkpoints:
        day = date.fromisoformat(f"{ctx.program.year}-{point.on}")
        if day >= ctx.today:
            continue
        money = facts.investment(latest.subquery("latest"), year=ctx.program.year, month=f"{day:%Y-%m}")
        money_q = money.subquery("money")
        done = func.coalesce(money_q.c.year_to_date, 0)
        share = Decimal(str(point.share))
        stmt = (
            select(
                col(Project.id),
                col(Project.name),
                col(Project.responsible_unit_id),
                col(Project.annual_plan),
                done.label("done"),
            )
            .outerjoin(money_q, money_q.c.project_id == col(Project.id))
            .where(
                _under_construction(ctx),
                col(Project.annual_plan) > 0,
                done < col(Project.annual_plan) * literal(share, Numeric(6, 4)),
            )
        )
        for p in (await ctx.session.execute(stmt)).all():
            ratio = Decimal(p.done) / p.annual_plan * 100
            out.append(
                Matter(
                    "project",
                    p.id,
                    day.isoformat(),
                    p.responsible_unit_id,
                    day,
                    f"{_project(p.name)}截至 {day} 完成年度投资计划的 {ratio:.1f}%"
                    f"（要求 {share * 100:.0f}%）",
                    first_on=ctx.calendar.next_working_day(day).date,
                )
            )
    return out


async def not_moving(ctx: Context) -> list[Matter]:
    """开而未动: each project under construction whose latest `months` monthly reports (filed by
    now) all say no investment; the chain's period is the first month of that run."""
    months = ctx.settings.notice_rules.not_moving.months
    latest = facts.latest_versions(col(ProjectReport.program_id) == ctx.program.id, as_of=ctx.as_of)
    lv = latest.subquery("latest")
    ranked = select(
        lv.c.project_id,
        lv.c.period,
        lv.c.investment_month,
        func.row_number().over(partition_by=lv.c.project_id, order_by=lv.c.period.desc()).label("n"),
    ).subquery("ranked")
    runs = (
        select(ranked.c.project_id, func.min(ranked.c.period).label("since"))
        .where(ranked.c.n <= months)
        .group_by(ranked.c.project_id)
        .having(and_(func.count() == months, func.max(ranked.c.investment_month) == 0))
        .subquery("runs")
    )
    stmt = (
        select(col(Project.id), col(Project.name), col(Project.responsible_unit_id), runs.c.since)
        .join(runs, runs.c.project_id == col(Project.id))
        .where(_under_construction(ctx))
    )
    first_on = ctx.first_working_day_from(ctx.today)
    return [
        Matter(
            "project",
            p.id,
            p.since,
            p.responsible_unit_id,
            ctx.today,
            f"{_project(p.name)}在建，自 {p.since} 起连续 {months} 个月无投资（开而未动）",
            first_on=first_on,
        )
        for p in (await ctx.session.execute(stmt)).all()
    ]


async def moving_slowly(ctx: Context) -> list[Matter]:
    """动而迟缓: each project under construction with some investment this year, but below `below`
    of its monthly plan summed to the month of its latest report this year."""
    below = Decimal(str(ctx.settings.notice_rules.moving_slowly.below))
    year = ctx.program.year
    latest = facts.latest_versions(
        col(ProjectReport.program_id) == ctx.program.id,
        col(ProjectReport.period).startswith(f"{year}-"),
        as_of=ctx.as_of,
    ).subquery("latest")
    done = (
        select(
            latest.c.project_id,
            func.sum(latest.c.investment_month).label("done"),
            func.max(latest.c.period).label("month"),
        )
        .group_by(latest.c.project_id)
        .subquery("done")
    )
    plan = func.jsonb_each_text(col(Project.monthly_plan)).table_valued("key", "value").alias("plan")
    planned = (
        select(func.coalesce(func.sum(func.cast(plan.c.value, Numeric(16, 2))), 0))
        .select_from(plan)
        .where(plan.c.key.startswith(f"{year}-"), plan.c.key <= done.c.month)
        .scalar_subquery()
    )
    stmt = (
        select(
            col(Project.id),
            col(Project.name),
            col(Project.responsible_unit_id),
            done.c.done,
            done.c.month,
            planned.label("planned"),
        )
        .join(done, done.c.project_id == col(Project.id))
        .where(_under_construction(ctx), done.c.done > 0)
    )
    first_on = ctx.first_working_day_from(ctx.today)
    out = []
    for p in (await ctx.session.execute(stmt)).all():
        if p.planned <= 0 or p.done >= p.planned * below:
            continue
        ratio = p.done / p.planned * 100
        title = (
            f"{_project(p.name)}截至 {p.month} 投资为计划进度的 {ratio:.1f}%"
            f"（低于 {below * 100:.0f}%，动而迟缓）"
        )
        out.append(
            Matter("project", p.id, p.month, p.responsible_unit_id, ctx.today, title, first_on=first_on)
        )
    return out


async def red_light(ctx: Context) -> list[Matter]:
    """Each approved project whose light (shared.lights, the one definition) is red now; one chain
    per project and year, closed once the light is not red."""
    facts = lights.facts_query(ctx.program, ctx.settings, ctx.calendar, ctx.as_of).subquery("facts")
    stmt = select(facts).where(facts.c.light == lights.Light.RED.value)
    first_on = ctx.first_working_day_from(ctx.today)
    out = []
    for p in (await ctx.session.execute(stmt)).all():
        reasons = "、".join(
            RED_REASONS[d] for d in lights.DIMENSIONS if getattr(p, d) == lights.Light.RED.value
        )
        out.append(
            Matter(
                "project", p.project_id, str(ctx.program.year), p.responsible_unit_id, ctx.today,
                f"{_project(p.name)}亮红灯（{reasons}）", first_on=first_on,
            )
        )  # fmt: skip
    return out


async def visit_due(ctx: Context) -> list[Matter]:
    """Each kind of visit a supervision team owes by its cadence (shared.cadence), reminded to the
    team leader's unit before its due day and urged after it; the visit made ends the chain (the
    next one is a new period)."""
    before = cadence.reminder_days(ctx.settings.escalation_policy)
    owed = [
        s
        for s in await cadence.standings(
            ctx.session, program_id=ctx.program.id, today=ctx.today, cal=ctx.calendar, before=before
        )
        if s.due <= ctx.today + HORIZON
    ]
    if not owed:
        return []
    teams = {
        t.id: (t.name, leader, unit_id)
        for t, leader, unit_id in await ctx.session.execute(
            select(Team, col(AppUser.display_name), col(AppUser.unit_id))
            .join(AppUser, col(AppUser.id) == col(Team.leader_user_id))
            .where(col(Team.id).in_({s.team_id for s in owed}))
        )
    }
    out = []
    for s in owed:
        name, leader, unit_id = teams[s.team_id]
        what = word(VisitKind, s.kind, "zh_CN")
        title = f"督查组“{name}”{what}（应于 {s.due} 前开展，组长 {leader}）"
        out.append(Matter("team", s.team_id, f"{s.due:%Y%m%d}-{s.kind}", unit_id, s.due, title, kind=s.kind))
    return out


RED_REASONS = {
    "start": "逾期未开工",
    "progress": "投资严重滞后于序时进度",
    "reports": "多期逾期未报",
    "problems": "问题超期未解决",
    "notices": "督办事项久拖未办",
}


Finder = Callable[[Context], Coroutine[Any, Any, list[Matter]]]


@dataclass(frozen=True)
class Rule:
    """A notice rule, declared once: its finder, what ends its chains, and its settings (a
    deadline rule's `Switch`, or a condition rule's with the rung its chains start on)."""

    name: NoticeRule
    finder: Finder
    closes: ChainClosed
    settings: Callable[[NoticeRules], Switch | ConditionRule]
    per_subject: bool = False

    def start_kind(self, rules: NoticeRules) -> NoticeKind | None:
        chosen = self.settings(rules)
        return chosen.start_kind if isinstance(chosen, ConditionRule) else None


RULES: tuple[Rule, ...] = (
    Rule(NoticeRule.REPORT_DUE, report_due, ChainClosed.REPORT_FILED, lambda r: r.report_due),
    Rule(NoticeRule.MILESTONE_DUE, milestone_due, ChainClosed.MILESTONE_MET, lambda r: r.milestone_due),
    Rule(
        NoticeRule.PROBLEM_OVERDUE, problem_overdue, ChainClosed.PROBLEM_RESOLVED, lambda r: r.problem_overdue
    ),
    Rule(
        NoticeRule.INVESTMENT_BEHIND, investment_behind, ChainClosed.CAUGHT_UP, lambda r: r.investment_behind
    ),
    Rule(
        NoticeRule.NOT_MOVING, not_moving, ChainClosed.MOVING_AGAIN, lambda r: r.not_moving, per_subject=True
    ),
    Rule(
        NoticeRule.MOVING_SLOWLY,
        moving_slowly,
        ChainClosed.CAUGHT_UP,
        lambda r: r.moving_slowly,
        per_subject=True,
    ),
    Rule(NoticeRule.RED_LIGHT, red_light, ChainClosed.LIGHT_CLEARED, lambda r: r.red_light, per_subject=True),
    Rule(NoticeRule.VISIT_DUE, visit_due, ChainClosed.VISIT_MADE, lambda r: r.visit_due),
)


async def find(ctx: Context) -> list[Found]:
    """What each of the program's rules finds as of the instant (nothing for a rule switched off,
    so its open chains close)."""
    out = []
    for rule in RULES:
        enabled = rule.settings(ctx.settings.notice_rules).enabled
        out.append(
            Found(
                rule.name,
                await rule.finder(ctx) if enabled else [],
                rule.closes if enabled else ChainClosed.RULE_SWITCHED_OFF,
                per_subject=rule.per_subject,
                start_kind=rule.start_kind(ctx.settings.notice_rules),
            )
        )
    return out
