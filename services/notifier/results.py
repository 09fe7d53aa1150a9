"""Published results, as notices: praise for the top of a ranking, a criticism bulletin for the
bottom (the ladder's criticism rung: left undone, the interview follows), an accountability
referral for a failing grade (shared.ranking defines the events the ranker sends).

Praise is issued at once (nothing to act on: its chain is closed as it opens). A criticism or
a referral opens a chain at its rung, issued by the next sweep in working hours. Once per unit
and quarter (or assessment period): a republished version opens nothing twice.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from services.notifier.sweep import requirements
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeChain, Program, Unit
from shared.outbox import publish_event
from shared.program_settings import ProgramSettings
from shared.queues import EventPayload
from shared.ranking import AssessmentPublished, RoundPublished
from shared.vocabulary import ChainState, Grade, NoticeKind, NoticeRule, NoticeState, WebhookEvent

CRITICISM, ACCOUNTABILITY = 3, 5  # the ladder's rungs (DOMAIN: "or bottom of a ranking", "failed assessment")


async def consume(session: AsyncSession, happened: EventPayload) -> str:
    """Turn a published result into notices (in the event's transaction); '' for other events."""
    if happened.event == WebhookEvent.ROUND_PUBLISHED:
        return await _round(session, RoundPublished.model_validate(happened.data), happened.occurred_at)
    if happened.event == WebhookEvent.ASSESSMENT_PUBLISHED:
        return await _assessment(
            session, AssessmentPublished.model_validate(happened.data), happened.occurred_at
        )
    return ""


async def _round(session: AsyncSession, done: RoundPublished, at: datetime) -> str:
    program = await session.get_one(Program, done.program_id)
    rules = ProgramSettings.model_validate(program.settings).notice_rules
    praise = done.top(rules.praise_top_of_ranking if done.praise_top is None else done.praise_top)
    bottom = done.bottom(
        rules.criticise_bottom_of_ranking if done.criticise_bottom is None else done.criticise_bottom
    )
    names = await _names(session, [u.unit_id for u in [*praise, *bottom]])
    praised = criticised = 0
    for u in praise:
        title = f"{names[u.unit_id]}在 {done.quarter} 观摩评比中排名第 {u.rank} 名（综合得分 {u.score}）"
        praised += await _praise(session, program, u.unit_id, f"{done.quarter}-praise", title, at)
    for u in bottom:
        title = f"{names[u.unit_id]}在 {done.quarter} 观摩评比中排名第 {u.rank} 名（综合得分 {u.score}）"
        if not u.distinguishable:
            title += "，与相邻名次差异不显著"
        criticised += await _open(
            session, program, NoticeRule.RANKING, u.unit_id, done.quarter, CRITICISM, title, at
        )
    return f"{praised} praised, {criticised} criticised"


async def _assessment(session: AsyncSession, done: AssessmentPublished, at: datetime) -> str:
    program = await session.get_one(Program, done.program_id)
    failed = [u for u in done.units if u.grade == Grade.FAIL]
    names = await _names(session, [u.unit_id for u in failed])
    referred = 0
    for u in failed:
        title = f"{names[u.unit_id]} {done.period} 考核不合格（得分 {u.score}）"
        referred += await _open(
            session, program, NoticeRule.ASSESSMENT, u.unit_id, done.period, ACCOUNTABILITY, title, at
        )
    return f"{referred} referred for accountability"


async def _names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(ids)))
    return dict(rows.all())


def _chain(
    program: Program, rule: str, unit_id: uuid.UUID, period: str, level: int, title: str, at: datetime
) -> dict[str, Any]:
    today = at.astimezone(OFFICE_TZ).date()
    return {
        "program_id": program.id,
        "rule": rule,
        "subject_type": "unit",
        "subject_id": unit_id,
        "schedule_kind": rule,
        "period": period,
        "recipient_unit_id": unit_id,
        "due_date": today,
        "policy": ProgramSettings.model_validate(program.settings).escalation_policy.model_dump(mode="json"),
        "level": -1,
        "first_level": level,
        "state": ChainState.OPEN,
        "opened_at": at,
        "title": title,
    }


async def _open(
    session: AsyncSession,
    program: Program,
    rule: str,
    unit_id: uuid.UUID,
    period: str,
    level: int,
    title: str,
    at: datetime,
) -> int:
    """A chain at `level`, issued by the next sweep in working hours."""
    today = at.astimezone(OFFICE_TZ).date()
    cal = await calendar.load(session, [today.year])
    first = today if cal.is_working_day(today) else cal.next_working_day(today).date
    opened = await session.scalar(
        insert(NoticeChain)
        .values(**_chain(program, rule, unit_id, period, level, title, at), next_level_on=first)
        .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"])
        .returning(col(NoticeChain.id))
    )
    return opened is not None


async def _praise(
    session: AsyncSession, program: Program, unit_id: uuid.UUID, period: str, title: str, at: datetime
) -> int:
    """A praise notice, issued now; its chain is closed as it opens (nothing to chase)."""
    chain = _chain(program, NoticeRule.RANKING, unit_id, period, 0, title, at)
    chain_id = await session.scalar(
        insert(NoticeChain)
        .values(
            **chain | {"level": 0, "state": ChainState.CLOSED, "closed_reason": "praised", "closed_at": at}
        )
        .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"])
        .returning(col(NoticeChain.id))
    )
    if chain_id is None:
        return 0
    notice_id = uuid.uuid4()
    await session.execute(
        insert(Notice).values(
            id=notice_id,
            chain_id=chain_id,
            program_id=program.id,
            kind=NoticeKind.PRAISE,
            level=0,
            recipient_unit_id=unit_id,
            recipient="all_units",
            subject_type="unit",
            subject_id=unit_id,
            period=period,
            requirements=requirements(NoticeKind.PRAISE, title, chain["due_date"]),
            issued_on=chain["due_date"],
            issued_at=at,
            due_date=chain["due_date"],
            state=NoticeState.ISSUED,
        )
    )
    await publish_event(
        session, event=WebhookEvent.NOTICE_ISSUED, subject_type="notice", subject_id=notice_id,
        data={"kind": NoticeKind.PRAISE.value, "level": 0, "due_date": str(chain["due_date"]),
              "recipient_unit_id": str(unit_id),
              "matter": {"type": "unit", "id": str(unit_id), "period": period}},
        occurred_at=at, producer="notifier",
    )  # fmt: skip
    return 1
