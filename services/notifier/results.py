"""Published results, as notices: praise for the top of a ranking, a criticism bulletin for the
bottom (the ladder's criticism rung: left undone, the interview follows), an accountability
referral for a failing grade (shared.ranking defines the events the ranker sends).

Praise is issued at once (nothing to act on: its chain is closed as it opens). A criticism or
a referral opens a chain at its rung, issued by the next sweep in working hours. Once per unit
and quarter (or assessment period): a republished version opens nothing twice.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from services.notifier import chains
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.models import Program, Unit
from shared.program_settings import ProgramSettings
from shared.queues import EventPayload
from shared.ranking import AssessmentPublished, RankedUnit, RoundPublished
from shared.vocabulary import ChainClosed, Grade, NoticeKind, NoticeRule, WebhookEvent


async def consume(session: AsyncSession, happened: EventPayload) -> str:
    """Turn a published result into notices (in the event's transaction); '' for other events."""
    if happened.event == WebhookEvent.ROUND_PUBLISHED:
        return await _round(session, RoundPublished.model_validate(happened.data), happened.occurred_at)
    if happened.event == WebhookEvent.ASSESSMENT_PUBLISHED:
        return await _assessment(
            session, AssessmentPublished.model_validate(happened.data), happened.occurred_at
        )
    if happened.event == WebhookEvent.BULLETIN_PUBLISHED:
        return await _streaks(session, happened.data, happened.occurred_at)
    return ""


async def _streaks(session: AsyncSession, data: dict[str, Any], at: datetime) -> str:
    """A monthly bulletin's 黑榜: each unit on it `streak_months` published months running gets a
    criticism notice (rule `ranking_streak`), once per unit and month however often the month is
    republished."""
    if data.get("kind") != "monthly":
        return ""
    program = await session.get_one(Program, uuid.UUID(data["program_id"]))
    months = ProgramSettings.model_validate(program.settings).bulletin.streak_months
    year, month = data["period"].split("-")
    due = [b for b in data["black_list"] if b["months"] >= months]
    criticised = await _open(
        session, program, NoticeRule.RANKING_STREAK, NoticeKind.CRITICISM,
        [
            (uuid.UUID(b["unit_id"]),
             f"{b['name']}连续 {b['months']} 个月列入月度排名{b['group']}黑榜"
             f"（{year} 年 {int(month)} 月第 {b['rank']} 名，得分 {b['score']}）")
            for b in due
        ],
        data["period"], at,
    )  # fmt: skip
    return f"{criticised} criticised for a streak"


async def _round(session: AsyncSession, done: RoundPublished, at: datetime) -> str:
    program = await session.get_one(Program, done.program_id)
    rules = ProgramSettings.model_validate(program.settings).notice_rules
    praise = done.top(rules.praise_top_of_ranking if done.praise_top is None else done.praise_top)
    bottom = done.bottom(
        rules.criticise_bottom_of_ranking if done.criticise_bottom is None else done.criticise_bottom
    )
    praised_ids = {u.unit_id for u in praise}
    bottom = [
        u for u in bottom if u.unit_id not in praised_ids
    ]  # a small round: never praised and criticised
    names = await _names(session, [u.unit_id for u in [*praise, *bottom]])

    year, quarter = done.quarter.split("-Q")

    def title(u: RankedUnit, criticised: bool = False) -> str:
        said = (
            f"{names[u.unit_id]}在 {year} 年第 {quarter} 季度观摩评比中"
            f"排名第 {u.rank} 名（综合得分 {u.score}）"
        )
        return said + "，与相邻名次差异不显著" if criticised and not u.distinguishable else said

    praised = await _praise(
        session, program, [(u.unit_id, title(u)) for u in praise], f"{done.quarter}-praise", at
    )
    criticised = await _open(
        session, program, NoticeRule.RANKING, NoticeKind.CRITICISM,
        [(u.unit_id, title(u, criticised=True)) for u in bottom], done.quarter, at,
    )  # fmt: skip
    return f"{praised} praised, {criticised} criticised"


async def _assessment(session: AsyncSession, done: AssessmentPublished, at: datetime) -> str:
    """A failing annual grade is referred for accountability; a half-year grade informs (the
    rules: "units that fail the annual assessment face interviews and accountability")."""
    if done.half is not None:
        return "a half-year grade: nobody referred"
    program = await session.get_one(Program, done.program_id)
    failed = [u for u in done.units if u.grade == Grade.FAIL]
    names = await _names(session, [u.unit_id for u in failed])
    referred = await _open(
        session, program, NoticeRule.ASSESSMENT, NoticeKind.ACCOUNTABILITY,
        [(u.unit_id, f"{names[u.unit_id]} {done.year} 年度考核不合格（得分 {u.score}）") for u in failed],
        done.period, at,
    )  # fmt: skip
    return f"{referred} referred for accountability"


async def _names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(ids)))
    return dict(rows.all())


def _openings(
    units: list[tuple[uuid.UUID, str]], period: str, rule: str, at: datetime, first_on: date | None
) -> list[chains.Opening]:
    """A unit's chain: the unit is its subject and recipient; found the day of the event."""
    today = at.astimezone(OFFICE_TZ).date()
    return [chains.Opening("unit", u, period, u, today, title, first_on, rule) for u, title in units]


async def _open(
    session: AsyncSession,
    program: Program,
    rule: NoticeRule,
    kind: NoticeKind,
    units: list[tuple[uuid.UUID, str]],
    period: str,
    at: datetime,
) -> int:
    """A chain for each unit at the rung of `kind`, issued by the next sweep in working hours
    (closed by it, `no_rung`, should the program's ladder have no such rung)."""
    today = at.astimezone(OFFICE_TZ).date()
    cal = await calendar.load(session, [today.year])
    opened = await chains.open_chains(
        session,
        program_id=program.id,
        rule=rule,
        policy=ProgramSettings.model_validate(program.settings).escalation_policy,
        start_kind=kind,
        openings=_openings(units, period, rule, at, cal.next_working_day(today).date),
        at=at,
    )
    return len(opened)


async def _praise(
    session: AsyncSession, program: Program, units: list[tuple[uuid.UUID, str]], period: str, at: datetime
) -> int:
    """A praise notice for each unit, issued now: nothing to act on, so its chain is closed as it
    opens (`praised`) and the notice stands without a deadline's colour."""
    today = at.astimezone(OFFICE_TZ).date()
    opened = await chains.open_chains(
        session,
        program_id=program.id,
        rule=NoticeRule.RANKING,
        policy=ProgramSettings.model_validate(program.settings).escalation_policy,
        start_kind=NoticeKind.PRAISE,
        openings=_openings(units, period, NoticeRule.RANKING, at, None),
        at=at,
        closed=ChainClosed.PRAISED,
    )
    titles = dict(units)
    issued = await chains.issue(
        session,
        [
            chains.Issue(
                chain_id=chain_id, program_id=program.id, kind=NoticeKind.PRAISE, level=0,
                recipient_unit_id=unit_id, recipient="all_units", subject_type="unit", subject_id=unit_id,
                period=period, requirements=chains.requirements(NoticeKind.PRAISE, titles[unit_id], today),
                due_date=today, next_on=None,
            )
            for (unit_id, _), chain_id in opened.items()
        ],
        today=today,
        at=at,
    )  # fmt: skip
    return len(issued)
