"""The one writer of a chain's life: open, issue (climbing), close.

Every source of notices — the sweep's rules, the office's own notices, a published ranking or
assessment, a filed report, the office's decision on feedback — opens, issues into and closes
chains through these set-based functions (one statement each, whatever the number of chains),
so every writer sends the same events: `notice.issued` for each notice issued, `notice.closed`
for each standing notice a closing ends, to the webhooks that subscribe to them.

- open: one chain per (rule, subject, period), never twice (ON CONFLICT DO NOTHING);
- issue: one notice per (chain, level), never twice; it supersedes the rung below still
  standing, and sets the chain's level and the day its next rung fires (services/notifier/ladder);
- close: the open chains matching a condition end, with a `ChainClosed` reason, and their
  standing notices close with them.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import Notice, NoticeChain, Webhook
from shared.outbox import publish_events
from shared.program_settings import EscalationPolicy
from shared.queues import EventPayload
from shared.vocabulary import ChainClosed, ChainState, NoticeKind, NoticeRule, NoticeState, WebhookEvent

STANDING = (
    NoticeState.ISSUED,
    NoticeState.FEEDBACK_SUBMITTED,
    NoticeState.EXPLANATION_SUBMITTED,
    NoticeState.REOPENED,
)
REQUIREMENTS = {
    NoticeKind.REMINDER: "{matter}：将于 {due} 到期，请按时完成。",
    NoticeKind.URGING: "{matter}：已到期未完成，请立即办理并书面反馈结果；确实无法按期完成的，书面说明原因。",
    NoticeKind.SUPERVISION: "{matter}：经催办仍未办结，请单位负责人督促办理，并书面说明原因。",
    NoticeKind.CRITICISM: "{matter}：经催办、督办仍未办结，予以通报批评。",
    NoticeKind.INTERVIEW: "{matter}：请单位主要负责人接受约谈，限期整改。",
    NoticeKind.ACCOUNTABILITY: "{matter}：移交纪检监察和组织部门问责。",
    NoticeKind.PRAISE: "{matter}：予以通报表扬。",
}


# What a rung asks when its chain did not climb to it: a ranking's bottom is criticised for its
# rank, not for urging it ignored; a failing grade is referred for the grade.
STARTED_BY = {
    (
        NoticeRule.RANKING,
        NoticeKind.CRITICISM,
    ): "{matter}，予以通报批评。请认真查找原因，限期整改，并书面报告整改情况。",
    (
        NoticeRule.ASSESSMENT,
        NoticeKind.ACCOUNTABILITY,
    ): "{matter}：依照考核办法，移交纪检监察和组织部门问责。",
    (
        NoticeRule.RANKING_STREAK,
        NoticeKind.CRITICISM,
    ): "{matter}，予以通报批评。请认真分析原因，制定整改措施，并书面报告整改情况。",
}


def requirements(kind: str, title: str, due: date, rule: str | None = None) -> str:
    """What a notice of `kind` asks, naming its matter (and, for a reminder, its deadline), in
    the words of the rule that started its chain where they differ."""
    said = STARTED_BY.get((NoticeRule(rule), NoticeKind(kind))) if rule else None
    return (said or REQUIREMENTS[NoticeKind(kind)]).format(matter=title, due=due)


@dataclass(frozen=True)
class Opening:
    """A chain to open: its matter, whom it chases, and the day its first rung is due."""

    subject_type: str
    subject_id: uuid.UUID
    period: str
    recipient_unit_id: uuid.UUID
    due: date  # the matter's deadline (a condition's or an event's: the day it was found)
    title: str
    first_on: date | None  # None: issued at once by the caller (the office's notice, praise)
    schedule_kind: str


_OPEN = text(
    "INSERT INTO notice_chain (id, program_id, rule, subject_type, subject_id, schedule_kind, period, "
    "recipient_unit_id, due_date, policy, level, start_kind, next_level_on, state, closed_reason, closed_at, "
    "opened_at, title) "
    "SELECT gen_random_uuid(), :program, :rule, v.subject_type, v.subject_id, v.kind, v.period, v.recipient, "
    "v.due, CAST(:policy AS jsonb), -1, :start_kind, v.first, :state, :reason, :closed_at, :as_of, v.title "
    "FROM unnest(CAST(:types AS text[]), CAST(:ids AS uuid[]), CAST(:kinds AS text[]), "
    "CAST(:periods AS text[]), CAST(:recipients AS uuid[]), CAST(:dues AS date[]), CAST(:firsts AS date[]), "
    "CAST(:titles AS text[])) AS v(subject_type, subject_id, kind, period, recipient, due, first, title) "
    "ON CONFLICT (rule, subject_type, subject_id, period) DO NOTHING RETURNING id, subject_id, period"
)


async def open_chains(
    session: AsyncSession,
    *,
    program_id: uuid.UUID,
    rule: str,
    policy: EscalationPolicy,
    start_kind: str | None,
    openings: list[Opening],
    at: datetime,
    closed: ChainClosed | None = None,
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Open a chain for each opening not opened before (one INSERT … SELECT FROM unnest(…)),
    keeping a copy of the ladder; `start_kind` None: a deadline's chain (reminder before, urging
    after). `closed`: a chain with nothing to chase (praise), closed as it opens. The ids of the
    chains opened, by (subject, period)."""
    if not openings:
        return {}
    rows = await session.execute(
        _OPEN,
        {
            "program": program_id,
            "rule": str(rule),
            "policy": policy.model_dump_json(),
            "start_kind": None if start_kind is None else str(start_kind),
            "state": str(ChainState.CLOSED if closed else ChainState.OPEN),
            "reason": None if closed is None else str(closed),
            "closed_at": at if closed else None,
            "as_of": at,
            "types": [o.subject_type for o in openings],
            "ids": [o.subject_id for o in openings],
            "kinds": [o.schedule_kind for o in openings],
            "periods": [o.period for o in openings],
            "recipients": [o.recipient_unit_id for o in openings],
            "dues": [o.due for o in openings],
            "firsts": [o.first_on for o in openings],
            "titles": [o.title for o in openings],
        },
    )
    return {(subject, period): chain_id for chain_id, subject, period in rows.all()}


@dataclass(frozen=True)
class Issue:
    """A rung to issue into an open chain."""

    chain_id: uuid.UUID
    program_id: uuid.UUID
    kind: str
    level: int
    recipient_unit_id: uuid.UUID
    recipient: str
    subject_type: str
    subject_id: uuid.UUID
    period: str
    requirements: str
    due_date: date
    next_on: date | None  # the day the rung above fires (services/notifier/ladder.next_day)
    id: uuid.UUID | None = None  # the api's id for the office's own notice; else a new one


_ISSUE = text(
    "INSERT INTO notice (id, chain_id, program_id, kind, level, recipient_unit_id, recipient, subject_type, "
    "subject_id, period, requirements, issued_on, issued_at, due_date, state, parent_id) "
    "SELECT v.id, v.chain_id, v.program_id, v.kind, v.level, v.recipient_unit_id, v.recipient, "
    "v.subject_type, v.subject_id, v.period, v.requirements, :today, :as_of, v.due_date, 'issued', "
    "(SELECT p.id FROM notice p JOIN notice_chain c ON c.id = p.chain_id "
    " WHERE p.chain_id = v.chain_id AND p.level = c.level) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:chains AS uuid[]), CAST(:programs AS uuid[]), "
    "CAST(:kinds AS text[]), CAST(:levels AS integer[]), CAST(:units AS uuid[]), "
    "CAST(:recipients AS text[]), "
    "CAST(:types AS text[]), CAST(:subjects AS uuid[]), CAST(:periods AS text[]), "
    "CAST(:requirements AS text[]), CAST(:dues AS date[])) "
    "AS v(id, chain_id, program_id, kind, level, recipient_unit_id, recipient, subject_type, subject_id, "
    "period, requirements, due_date) "
    "ON CONFLICT (chain_id, level) DO NOTHING RETURNING id, chain_id, parent_id"
)
# The rung a chain climbs from is the only one of it still standing (each climb supersedes the
# one before), so superseding is by the issued notices' parents: a lookup by primary key, whatever
# the planner believes of the notices this very transaction wrote (a join on (chain, level <)
# met its estimate of one standing notice with a nested loop over all of them: 15 s for 10,000).
_SUPERSEDE = text(
    "UPDATE notice SET state = 'superseded' "
    "WHERE id = ANY(CAST(:parents AS uuid[])) AND state = ANY(CAST(:standing AS text[]))"
)
_CLIMBED = text(
    "UPDATE notice_chain c SET level = v.level, last_issued_on = :today, next_level_on = v.next "
    "FROM unnest(CAST(:chains AS uuid[]), CAST(:levels AS integer[]), CAST(:nexts AS date[])) "
    "AS v(id, level, next) WHERE c.id = v.id"
)


async def issue(session: AsyncSession, issues: list[Issue], *, today: date, at: datetime) -> list[Issue]:
    """Issue each rung (once per chain and level): the notices, the rungs they supersede, the
    chains' levels and next days, and the `notice.issued` events, one statement each. The
    issues written (a rung issued before is not)."""
    if not issues:
        return []
    rows = [i if i.id is not None else replace(i, id=uuid.uuid4()) for i in issues]

    def column(name: str) -> list[Any]:
        return [getattr(row, name) for row in rows]

    done = await session.execute(
        _ISSUE,
        {
            "today": today,
            "as_of": at,
            "ids": column("id"),
            "chains": column("chain_id"),
            "programs": column("program_id"),
            "kinds": [str(k) for k in column("kind")],
            "levels": column("level"),
            "units": column("recipient_unit_id"),
            "recipients": column("recipient"),
            "types": column("subject_type"),
            "subjects": column("subject_id"),
            "periods": column("period"),
            "requirements": column("requirements"),
            "dues": column("due_date"),
        },
    )
    written = done.all()
    issued = {notice_id for notice_id, _, _ in written}
    parents = [parent for _, _, parent in written if parent is not None]
    rows = [row for row in rows if row.id in issued]
    if parents:
        await session.execute(_SUPERSEDE, {"parents": parents, "standing": [str(s) for s in STANDING]})
    await session.execute(
        _CLIMBED,
        {
            "chains": column("chain_id"),
            "levels": column("level"),
            "nexts": column("next_on"),
            "today": today,
        },
    )
    await announce(session, [_issued(row, at) for row in rows])
    return rows


async def close(session: AsyncSession, reason: ChainClosed, at: datetime, *where: Any) -> list[uuid.UUID]:
    """Close the open chains matching `where`, with their standing notices (one `notice.closed`
    event each); the ids of the chains closed."""
    closed = list(
        await session.scalars(
            update(NoticeChain)
            .where(col(NoticeChain.state) == ChainState.OPEN, *where)
            .values(
                state=ChainState.CLOSED,
                closed_reason=reason,
                closed_at=at,
                next_level_on=None,
                paused_on=None,
            )
            .returning(col(NoticeChain.id))
        )
    )
    if not closed:
        return closed
    ended = await session.execute(
        update(Notice)
        .where(col(Notice.chain_id).in_(closed), col(Notice.state).in_(STANDING))
        .values(state=NoticeState.CLOSED, closed_at=at)
        .returning(
            col(Notice.id),
            col(Notice.kind),
            col(Notice.level),
            col(Notice.period),
            col(Notice.subject_type),
            col(Notice.subject_id),
            col(Notice.recipient_unit_id),
        )
    )
    await announce(
        session,
        [
            EventPayload(
                event=WebhookEvent.NOTICE_CLOSED,
                subject_type="notice",
                subject_id=notice_id,
                occurred_at=at,
                data={
                    "kind": kind,
                    "level": level,
                    "reason": str(reason),
                    "recipient_unit_id": str(unit),
                    "matter": {"type": subject_type, "id": str(subject_id), "period": period},
                },
            )
            for notice_id, kind, level, period, subject_type, subject_id, unit in ended.all()
        ],
    )
    return closed


async def announce(session: AsyncSession, events: list[EventPayload]) -> None:
    """Publish the events an active webhook subscribes to. The rest would each be a queue job that
    fans out to no one, and a sweep issuing 10,000 notices would put every filing and webhook
    behind them."""
    if not events:
        return
    wanted = set(
        await session.scalars(
            select(func.unnest(col(Webhook.events))).where(col(Webhook.is_active)).distinct()
        )
    )
    await publish_events(session, [e for e in events if e.event in wanted], producer="notifier")


def _issued(row: Issue, at: datetime) -> EventPayload:
    """The `notice.issued` event, for the signed webhooks of those who see the recipient unit."""
    assert row.id is not None
    return EventPayload(
        event=WebhookEvent.NOTICE_ISSUED,
        subject_type="notice",
        subject_id=row.id,
        occurred_at=at,
        data={
            "kind": str(row.kind),
            "level": row.level,
            "due_date": str(row.due_date),
            "recipient_unit_id": str(row.recipient_unit_id),
            "matter": {"type": row.subject_type, "id": str(row.subject_id), "period": row.period},
        },
    )


__all__ = ["STANDING", "Issue", "Opening", "announce", "close", "issue", "open_chains", "requirements"]
