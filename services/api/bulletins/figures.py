"""The monthly bulletin's figures (一月一排队一通报), as of a day after the month's report deadline:
totals against 序时进度, by category and region, the units ranked in their groups with the 红榜
and 黑榜, the lights, and who owes what. SQL does the sums over the lights' one definition
(shared.lights) and the dues' (shared.dues); docs/scoring.md gives the unit score with a worked
example."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import clock, dues, lights
from shared.calendar import WorkingCalendar
from shared.dues import Period
from shared.lights import LADDER, Light
from shared.models import Problem, Program, Project, Unit
from shared.program_settings import BulletinRules, ProgramSettings, RankingGroup
from shared.ranking import cents, competition_ranks
from shared.vocabulary import NoticeKind, ScheduleKind

HUNDRED = Decimal(100)


def money(value: Decimal | None) -> str:
    return str(cents(Decimal(value or 0)))


def default_as_of(
    program: Program, settings: ProgramSettings, calendar: WorkingCalendar, month: str
) -> datetime:
    """The bulletin's instant: `days_after_deadline` days after the month's project report
    deadline (the first instant after the deadline day, Asia/Shanghai), else after the month."""
    schedule = settings.schedule(ScheduleKind.PROJECT_MONTHLY)
    found: Period | None = dues.period_for(schedule, month, calendar) if schedule else None
    year, number = int(month[:4]), int(month[5:])
    after = (
        found.due_at if found else datetime(year + number // 12, number % 12 + 1, 1, tzinfo=clock.OFFICE_TZ)
    )
    return after + timedelta(days=settings.bulletin.days_after_deadline)


def _shares(year_to_date: Decimal, plan: Decimal, schedule: Decimal) -> dict[str, Any]:
    completion = cents(year_to_date * HUNDRED / plan) if plan else Decimal("0.00")
    return {
        "investment_year": money(year_to_date),
        "annual_plan": money(plan),
        "completion_percent": str(completion),
        "ahead_points": str(cents(completion - schedule)) if plan else "0.00",
    }


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Competition ranks (1, 2, 2, 4) on the rounded score, descending; ties stay tied."""
    rows.sort(key=lambda r: (-Decimal(r["score"]), r["name"]))
    for row, rank in zip(rows, competition_ranks([(r["score"],) for r in rows]), strict=True):
        row["rank"] = rank
    return rows


def _group_of(groups: list[RankingGroup], unit_id: uuid.UUID, kind: str) -> str | None:
    for group in groups:
        if unit_id in group.unit_ids:
            return group.name
    for group in groups:
        if kind in group.unit_kinds:
            return group.name
    return None


OTHERS = "其他单位"


def _lists(
    ranking: list[dict[str, Any]], rules: BulletinRules
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    red = [
        r
        for r in ranking
        if r["rank"] <= rules.red_list_top and Decimal(r["score"]) >= Decimal(str(rules.red_list_from))
    ]
    praised = {r["unit_id"] for r in red}
    cut = len(ranking) - rules.black_list_bottom
    black = [
        r
        for r in ranking
        if r["rank"] > cut
        and Decimal(r["score"]) < Decimal(str(rules.black_list_below))
        and r["unit_id"] not in praised
    ]
    return red, black


def unit_score(
    year_to_date: Decimal,
    plan: Decimal,
    schedule: Decimal,
    due: int,
    on_time: int,
    serious: int,
    rules: BulletinRules,
) -> tuple[Decimal, dict[str, Decimal]]:
    """(score, components): docs/scoring.md. Investment: completion of the annual plan against
    序时进度, capped at 100 (100 with no plan or before any month); timeliness: reports filed on
    time of those due (100 when none was due); notices: 100 less the penalty for each standing
    notice at supervision or above (not below 0)."""
    completion = year_to_date * HUNDRED / plan if plan else None
    investment = (
        HUNDRED if completion is None or not schedule else min(HUNDRED, completion * HUNDRED / schedule)
    )
    timeliness = HUNDRED * on_time / due if due else HUNDRED
    notices = max(Decimal(0), HUNDRED - Decimal(str(rules.notice_penalty)) * serious)
    score = (
        Decimal(str(rules.investment_weight)) * investment
        + Decimal(str(rules.timeliness_weight)) * timeliness
        + Decimal(str(rules.notices_weight)) * notices
    )
    return cents(score), {
        "investment": cents(investment),
        "timeliness": cents(timeliness),
        "notices": cents(notices),
    }


def _keyed(row: Any, key: Any) -> SimpleNamespace:
    return SimpleNamespace(
        key=key, projects=row.projects, started=row.started, year_to_date=row.year_to_date, plan=row.plan
    )


async def _names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await session.execute(
        select(col(Unit.id), col(Unit.name), col(Unit.kind)).where(col(Unit.id).in_(set(ids)))
    )
    return {unit_id: (name, kind) for unit_id, name, kind in rows}


async def monthly(
    session: AsyncSession,
    program: Program,
    month: str,
    calendar: WorkingCalendar,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The bulletin of the program's month `month` (YYYY-MM, of the program's year)."""
    settings = ProgramSettings.model_validate(program.settings)
    rules = settings.bulletin
    at = as_of or min(default_as_of(program, settings, calendar, month), clock.now())
    months = int(month[5:])
    basis = lights.basis(program, at, months)
    schedule = basis.schedule_percent
    exact = Decimal(months) * HUNDRED / 12  # the unit score divides by 序时进度 unrounded
    facts = lights.facts_query(program, settings, calendar, at, months=months).subquery("facts")

    started = facts.c.started_month.is_not(None)
    sums = [
        func.count().label("projects"),
        func.count().filter(started).label("started"),
        func.coalesce(func.sum(facts.c.year_to_date), 0).label("year_to_date"),
        func.coalesce(func.sum(facts.c.annual_plan), 0).label("plan"),
    ]
    # one pass over the lights' facts: the totals, and the sums by category, region and unit
    keys = (facts.c.category, facts.c.region_unit_id, facts.c.responsible_unit_id)
    rows = (
        await session.execute(
            select(
                *keys,
                *(func.grouping(k).label(f"apart_{n}") for n, k in enumerate(keys)),
                *sums,
                *(func.count().filter(facts.c.light == light.value).label(light.label) for light in Light),
            ).group_by(func.grouping_sets(*keys, tuple_()))
        )
    ).all()
    grouped: dict[int, list[Any]] = {0: [], 1: [], 2: [], 3: []}
    for row in rows:  # by which key: the one not rolled up (3: the totals)
        grouped[next((n for n in range(3) if not row[3 + n]), 3)].append(row)
    total = grouped[3][0]
    by_category = sorted(grouped[0], key=lambda r: r.category)
    by_region = [_keyed(r, r.region_unit_id) for r in grouped[1]]
    by_unit = [_keyed(r, r.responsible_unit_id) for r in grouped[2]]

    # what units owe: each project's dues go to its responsible unit
    owed = dues.dues_query(
        program,
        settings,
        calendar,
        at,
        visible_projects=literal(True),
        visible_units=select(col(Unit.id)),
        filters=dues.DueFilters(),
    )
    reports: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: {"due": 0, "on_time": 0, "overdue": 0})
    if owed is not None:
        rows = owed.subquery("owed")
        owner = func.coalesce(col(Project.responsible_unit_id), rows.c.subject_id)
        counted = await session.execute(
            select(owner, rows.c.state, func.count())
            .select_from(rows)
            .outerjoin(Project, (rows.c.subject_type == "project") & (col(Project.id) == rows.c.subject_id))
            .where(rows.c.state != "open")
            .group_by(owner, rows.c.state)
        )
        for unit_id, state, n in counted:
            reports[unit_id]["due"] += n
            reports[unit_id]["on_time"] += n if state == "submitted" else 0
            reports[unit_id]["overdue"] += n if state == "overdue" else 0

    chains = lights.standing_chains(program, at).subquery("chains")
    serious_from = LADDER.index(NoticeKind.SUPERVISION)
    notices: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    serious: dict[uuid.UUID, int] = defaultdict(int)  # chains at supervision or above
    for unit_id, rank, n in await session.execute(
        select(chains.c.recipient_unit_id, chains.c.rank, func.count()).group_by(
            chains.c.recipient_unit_id, chains.c.rank
        )
    ):
        notices[unit_id][LADDER[rank].value] = n
        serious[unit_id] += n if rank >= serious_from else 0

    problems: dict[uuid.UUID, tuple[int, int]] = {}
    open_at = (col(Problem.raised_at) <= at) & (
        col(Problem.resolved_at).is_(None) | (col(Problem.resolved_at) > at)
    )
    for unit_id, n, late in await session.execute(
        select(
            col(Problem.owner_unit_id), func.count(), func.count().filter(col(Problem.deadline) < basis.day)
        )
        .where(col(Problem.program_id) == program.id, open_at)
        .group_by(col(Problem.owner_unit_id))
    ):
        problems[unit_id] = (n, late)

    names = await _names(
        session,
        {r.key for r in by_region} | {r.key for r in by_unit} | set(reports) | set(notices) | set(problems),
    )

    def line(row: Any) -> dict[str, Any]:
        return {
            "projects": row.projects,
            "started": row.started,
            **_shares(row.year_to_date, row.plan, schedule),
        }

    groups: dict[str, list[dict[str, Any]]] = {g.name: [] for g in rules.groups}
    for unit in by_unit:
        unit_id = unit.key
        name, kind = names[unit_id]
        owe = reports[unit_id]
        score, parts = unit_score(
            unit.year_to_date, unit.plan, exact, owe["due"], owe["on_time"], serious[unit_id], rules
        )
        group = _group_of(rules.groups, unit_id, kind) or OTHERS
        groups.setdefault(group, []).append(
            {
                "unit_id": str(unit_id),
                "name": name,
                "score": str(score),
                "components": {k: str(v) for k, v in parts.items()},
                "projects": unit.projects,
                **_shares(unit.year_to_date, unit.plan, schedule),
                "reports_due": owe["due"],
                "reports_on_time": owe["on_time"],
                "serious_notices": serious[unit_id],
            }
        )
    ranked = []
    for name, members in groups.items():
        if not members and name == OTHERS:
            continue
        ranking = _ranked(members)
        red, black = _lists(ranking, rules)
        ranked.append({"name": name, "ranking": ranking, "red_list": red, "black_list": black})

    def by_unit_name(items: dict[uuid.UUID, Any]) -> list[uuid.UUID]:
        return sorted(items, key=lambda u: names[u][0])

    return {
        "program_id": str(program.id),
        "program_name": program.name,
        "month": month,
        "as_of": at.astimezone(clock.OFFICE_TZ).isoformat(),
        "version": None,
        "digest": None,
        "totals": {
            "projects": total.projects,
            "started": total.started,
            "not_started": total.projects - total.started,
            **_shares(total.year_to_date, total.plan, schedule),
            "schedule_percent": str(schedule),
        },
        "by_category": [{"category": r.category, **line(r)} for r in by_category],
        "by_region": sorted(
            ({"unit_id": str(r.key), "name": names[r.key][0], **line(r)} for r in by_region),
            key=lambda r: r["name"],
        ),
        "groups": ranked,
        "lights": {light.label: getattr(total, light.label) for light in Light},
        "overdue_reports": [
            {"unit_id": str(u), "name": names[u][0], "overdue": reports[u]["overdue"]}
            for u in by_unit_name({u: v for u, v in reports.items() if v["overdue"]})
        ],
        "standing_notices": [
            {"unit_id": str(u), "name": names[u][0], "count": sum(notices[u].values()), "by_kind": notices[u]}
            for u in by_unit_name(notices)
        ],
        "open_problems": [
            {"unit_id": str(u), "name": names[u][0], "open": problems[u][0], "past_deadline": problems[u][1]}
            for u in by_unit_name(problems)
        ],
    }
