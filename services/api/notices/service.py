"""The inbox: notices to units in the caller's subtree, with their colour as of today."""

import uuid
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, owned_or_403, owns, unseen_units, visible
from services.api.notices.schemas import (
    ActionPublic,
    NoticeAccepted,
    NoticeDetail,
    NoticeIn,
    NoticePublic,
    Subject,
    Told,
)
from services.api.pagination import PageParams, paginate
from services.api.preconditions import writable
from shared import audit, calendar, clock
from shared.clock import OFFICE_TZ
from shared.errors import Conflict, Forbidden, InvalidState, field_error, invalid
from shared.i18n import N_, tr, word
from shared.models import (
    Notice,
    NoticeActionRecord,
    NoticeChain,
    NoticeDelivery,
    NoticeDigest,
    Problem,
    Program,
    Project,
    Task,
    Unit,
)
from shared.notice_facts import ANSWERS, AWAITING, Colour, awaiting_since, colour_now
from shared.outbox import add_message
from shared.program_settings import ProgramSettings
from shared.queues import IssueNoticePayload, Job, NoticeActionPayload, Target
from shared.vocabulary import ChainClosed, NoticeAction, NoticeKind, NoticeRule, NoticeState, SendState

STANDING = (
    NoticeState.ISSUED,
    NoticeState.FEEDBACK_SUBMITTED,
    NoticeState.EXPLANATION_SUBMITTED,
    NoticeState.REOPENED,
)
OFFICE_ONLY = N_("Only the program's office (or an office above it) issues its own notices.")
MATTERS: dict[str, Any] = {"project": Project, "unit": Unit, "task": Task, "problem": Problem}


async def list_notices(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    program_id: UUID | None = None,
    recipient_unit_id: UUID | None = None,
    state: NoticeState | None = None,
    kind: NoticeKind | None = None,
    level: int | None = None,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    period: str | None = None,
    colour: Colour | None = None,
    awaiting: str | None = None,
    as_of: datetime | None = None,
) -> tuple[list[NoticePublic], int]:
    """Notices in the caller's sight; `awaiting="office"`: those whose feedback or explanation
    waits for the office's decision, the longest waiting first. `as_of`: those issued by then,
    coloured as of that day (a replayed quarter's lights)."""
    colour_sql = await colour_now(session, as_of)
    since = awaiting_since()
    stmt = visible(
        select(Notice, colour_sql.label("colour"), col(NoticeChain.rule), col(NoticeChain.closed_reason),
               since.label("since")).join(NoticeChain, col(NoticeChain.id) == col(Notice.chain_id)),
        Notice, principal,
    )  # fmt: skip
    for column, value in (
        (Notice.program_id, program_id), (Notice.recipient_unit_id, recipient_unit_id), (Notice.state, state),
        (Notice.kind, kind), (Notice.level, level), (Notice.subject_type, subject_type),
        (Notice.subject_id, subject_id), (Notice.period, period),
    ):  # fmt: skip
        if value is not None:
            stmt = stmt.where(col(column) == value)
    if colour is not None:
        stmt = stmt.where(colour_sql == colour.value)
    if as_of is not None:
        stmt = stmt.where(col(Notice.issued_at) <= as_of)
    order: tuple[Any, ...] = (col(Notice.issued_at).desc(), col(Notice.level).desc())
    if awaiting == "office":
        stmt = stmt.where(col(Notice.state).in_(AWAITING))
        order = (since, col(Notice.id))
    rows, count = await paginate(session, stmt, page, *order, whole_rows=True)
    return [to_public(*row) for row in rows], count


async def standing_by_kind(
    session: AsyncSession, *, principal: Principal, program_id: UUID
) -> dict[str, int]:
    """The program's notices in the caller's sight still standing, counted by rung."""
    stmt = visible(
        select(col(Notice.kind), func.count())
        .where(
            col(Notice.program_id) == program_id,
            col(Notice.state).in_(STANDING),
            col(Notice.kind) != NoticeKind.PRAISE,
        )
        .group_by(col(Notice.kind)),
        Notice,
        principal,
    )
    return {kind: n for kind, n in await session.execute(stmt)}


async def one(session: AsyncSession, notice: Notice, as_of: datetime | None = None) -> NoticeDetail:
    """The notice with its colour as of today (or `as_of`), why it ended, and every action on it."""
    row = (
        await session.execute(
            select(await colour_now(session, as_of), col(NoticeChain.rule), col(NoticeChain.closed_reason),
                   awaiting_since())
            .select_from(Notice).join(NoticeChain, col(NoticeChain.id) == col(Notice.chain_id))
            .where(col(Notice.id) == notice.id)
        )
    ).one()  # fmt: skip
    actions = await session.scalars(
        select(NoticeActionRecord)
        .where(col(NoticeActionRecord.notice_id) == notice.id)
        .order_by(col(NoticeActionRecord.at), col(NoticeActionRecord.id))
    )
    told = await session.scalars(
        select(NoticeDelivery)
        .where(
            col(NoticeDelivery.digest_id) == notice.digest_id,
            NoticeDelivery.content["items"].contains([{"id": str(notice.id)}]),
        )
        .order_by(col(NoticeDelivery.created_at), col(NoticeDelivery.id))
    )
    return NoticeDetail(
        **to_public(notice, *row).model_dump(),
        actions=[ActionPublic.model_validate(a, from_attributes=True) for a in actions],
        told=[Told.model_validate(d, from_attributes=True) for d in told],
    )


async def told(session: AsyncSession, digest_ids: list[UUID]) -> dict[UUID, list[Told]]:
    """Each digest's deliveries: whom it went to, through which channel."""
    out: dict[UUID, list[Told]] = {d: [] for d in digest_ids}
    for d in await session.scalars(
        select(NoticeDelivery)
        .where(col(NoticeDelivery.digest_id).in_(digest_ids))
        .order_by(col(NoticeDelivery.created_at), col(NoticeDelivery.id))
    ):
        out[d.digest_id].append(Told.model_validate(d, from_attributes=True))
    return out


_COPIED = {"id", "chain_id", "program_id", "kind", "level", "recipient_unit_id", "recipient", "requirements",
           "issued_at", "due_date", "state", "parent_id", "closed_at"}  # fmt: skip


def to_public(
    notice: Notice, colour: str | None, rule: str, reason: str | None, since: datetime | None
) -> NoticePublic:
    return NoticePublic(
        **notice.model_dump(include=_COPIED),
        subject=Subject(
            type=notice.subject_type,
            id=notice.subject_id,
            # the office's own and a finding's: an internal key
            period=None if rule in (NoticeRule.MANUAL, NoticeRule.FINDING) else notice.period,
        ),
        colour=Colour(colour) if colour else None,
        closed_reason=ChainClosed(reason) if reason and notice.state == NoticeState.CLOSED else None,
        awaiting_since=since,
    )


async def record(
    session: AsyncSession,
    *,
    notice: Notice,
    action: NoticeAction,
    principal: Principal,
    text: str | None = None,
    proposed_due_date: date | None = None,
    due_in_working_days: int | None = None,
) -> NoticeActionRecord:
    """Record a person's action on a notice and hand it to the notifier (in this transaction).

    The unit answers a standing notice with feedback, or — before its deadline — with an
    explanation and a proposed date (延期申请); the office accepts or rejects the latest answer
    not yet decided. 409 with the reason when the notice cannot take the action; nothing is
    changed then."""
    # one action of a notice at a time: they are recorded (and applied) in the order they happened
    await session.execute(select(col(Notice.id)).where(col(Notice.id) == notice.id).with_for_update())
    taken = list(
        await session.scalars(
            select(NoticeActionRecord)
            .where(col(NoticeActionRecord.notice_id) == notice.id)
            .order_by(col(NoticeActionRecord.at), col(NoticeActionRecord.id))
        )
    )
    decided = {a.decides_id: a for a in taken if a.decides_id is not None}
    answers = {a.id: a for a in taken if a.action in ANSWERS}
    if any(
        d.action == NoticeAction.ACCEPT and answers[i].action == NoticeAction.FEEDBACK
        for i, d in decided.items()
    ):
        raise Conflict(tr("The office has accepted this notice's feedback already; nothing was changed."))
    pending = next((a for a in reversed(taken) if a.action in ANSWERS and a.id not in decided), None)
    if notice.state not in STANDING:
        raise InvalidState(
            tr(
                "This notice is {state}: answer the notice that stands now.",
                state=word(NoticeState, notice.state),
            )
        )
    today = clock.today()
    decides: NoticeActionRecord | None = None
    due_date: date | None = None
    if action == NoticeAction.WITHDRAW:
        await audit.record(
            session, actor=principal.actor, action="notice.withdraw", entity="notice", entity_id=notice.id,
            unit_id=notice.recipient_unit_id, after={"reason": text},
        )  # fmt: skip
    elif action in ANSWERS:
        if not await session.scalar(
            select(col(Notice.id)).where(col(Notice.id) == notice.id, owns(Notice, principal))
        ):
            raise Forbidden(tr("Only the unit the notice was sent to (or one above it) answers it."))
        if pending is not None and pending.action == NoticeAction.EXPLANATION:
            raise InvalidState(tr("The office has not yet decided on the explanation you sent."))
        if action == NoticeAction.EXPLANATION:
            _explainable(notice, today, proposed_due_date, pending)
    else:
        if pending is None:
            raise InvalidState(
                tr("There is no feedback on this notice to accept yet.")
                if action == NoticeAction.ACCEPT
                else tr("There is no feedback or explanation on this notice to reject.")
            )
        decides = pending
        if action == NoticeAction.REJECT and pending.action == NoticeAction.FEEDBACK:
            days = due_in_working_days or await _default_days(session, notice)
            cal = await calendar.load(session, [today.year, today.year + 1])
            due_date = cal.add_working_days(today, days).date
    done = NoticeActionRecord(
        notice_id=notice.id, action=action, text=text, actor=principal.key, at=clock.now(),
        decides_id=decides.id if decides else None, proposed_due_date=proposed_due_date, due_date=due_date,
    )  # fmt: skip
    session.add(done)
    await session.flush()
    payload = NoticeActionPayload(
        action_id=done.id, notice_id=notice.id, action=action, at=done.at,
        decides=decides.action if decides else None,
        proposed_due_date=decides.proposed_due_date if decides else proposed_due_date, due_date=due_date,
    )  # fmt: skip
    await add_message(session, producer="api", target=Target.NOTIFIER, job=Job.NOTICE_ACTION, payload=payload)
    return done


def _explainable(
    notice: Notice, today: date, proposed: date | None, pending: NoticeActionRecord | None
) -> None:
    """An explanation is asked before the deadline passes, for a later date, on an unanswered notice."""
    if pending is not None:
        raise InvalidState(tr("This notice has feedback awaiting the office: it cannot be explained now."))
    if today > notice.due_date:
        raise InvalidState(
            tr(
                "The deadline ({due}) has passed: an explanation is asked before it; send feedback instead.",
                due=notice.due_date,
            )
        )
    if proposed is None or proposed <= notice.due_date:
        raise field_error(
            ["proposed_due_date"], tr("propose a day after the deadline ({due})", due=notice.due_date)
        )


async def explanation_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """An explanation's proposed day not after the deadline, for a body whose other field failed
    the schema (the notice was found visible before the body was read)."""
    notice = await session.get(Notice, path.get("notice_id"))
    proposed = fields.get("proposed_due_date")
    if notice is None or proposed is None or proposed > notice.due_date:
        return []
    return [(["proposed_due_date"], tr("propose a day after the deadline ({due})", due=notice.due_date))]


async def _default_days(session: AsyncSession, notice: Notice) -> int:
    program = await session.get_one(Program, notice.program_id)
    return ProgramSettings.model_validate(program.settings).notice_rules.default_due_in_working_days


async def _order_problems(
    session: AsyncSession, principal: Principal, program: Program, fields: dict[str, Any]
) -> tuple[list[tuple[list[str | int], str]], uuid.UUID | None]:
    """Every fault of the office's notice the schema cannot see, over the fields given (a rung
    the ladder lacks, a recipient or a matter out of sight), and the matter's id when found."""
    problems: list[tuple[list[str | int], str]] = []
    if (recipient := fields.get("recipient_unit_id")) is not None:
        problems += await unseen_units(session, principal, [(["recipient_unit_id"], recipient)])
    kind = fields.get("kind")
    if (
        kind is not None
        and ProgramSettings.model_validate(program.settings).escalation_policy.rung(kind) is None
    ):
        problems.append(
            (
                ["kind"],
                tr(
                    "the program's ladder has no {kind} rung; issue a kind it has",
                    kind=word(NoticeKind, kind),
                ),
            )
        )
    subject, found = fields.get("subject"), None
    if subject is not None and subject.type == "instruction":
        if subject.id is not None:
            problems.append((["subject", "id"], tr("a leader's instruction has no id: leave it out")))
    elif subject is not None:
        model = MATTERS[subject.type]
        found = subject.id and await session.scalar(
            visible(select(col(model.id)).where(col(model.id) == subject.id), model, principal)
        )
        if not found:
            said = tr("there is no {what} {id} that you can see", what=tr(subject.type), id=subject.id)
            problems.append((["subject", "id"], said))
    return problems, found


async def order_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> list[tuple[list[str | int], str]]:
    """`_order_problems` for a notice whose other fields failed the schema."""
    program_id = fields.get("program_id")
    program = await session.scalar(
        visible(select(Program).where(col(Program.id) == program_id), Program, principal)
    ) if program_id else None  # fmt: skip
    return [] if program is None else (await _order_problems(session, principal, program, fields))[0]


async def order(session: AsyncSession, *, data: NoticeIn, principal: Principal) -> NoticeAccepted:
    """Check the office's notice and hand it to the notifier to issue (in this transaction)."""
    program = await get_visible(session, Program, data.program_id, principal, N_("program"))
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    writable(program)
    problems, found = await _order_problems(session, principal, program, dict(data))
    if problems:
        raise invalid(problems)
    notice_id = uuid.uuid4()
    subject_id = notice_id if data.subject.type == "instruction" else found
    now = clock.now()
    cal = await calendar.load(session, [now.year, now.year + 1])
    due = cal.add_working_days(now.astimezone(OFFICE_TZ).date(), data.due_in_working_days).date
    payload = IssueNoticePayload(
        notice_id=notice_id, program_id=program.id, kind=data.kind, recipient_unit_id=data.recipient_unit_id,
        subject_type=data.subject.type, subject_id=subject_id, requirements=data.requirements,
        due_date=due, issued_at=now, actor=principal.key,
    )  # fmt: skip
    await add_message(session, producer="api", target=Target.NOTIFIER, job=Job.ISSUE_NOTICE, payload=payload)
    return NoticeAccepted(id=notice_id, due_date=due)


async def deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    program_id: UUID | None,
    unit_id: UUID | None,
    state: SendState | None,
    channel: str | None,
) -> tuple[list[NoticeDelivery], int]:
    """What went to the people of units in the caller's subtree, newest first; of a program:
    the deliveries of digests that listed one of its notices."""
    stmt = visible(select(NoticeDelivery), NoticeDelivery, principal)
    if program_id is not None:
        stmt = stmt.where(
            select(col(Notice.id))
            .where(
                col(Notice.digest_id) == col(NoticeDelivery.digest_id), col(Notice.program_id) == program_id
            )
            .exists()
        )
    if unit_id is not None:
        stmt = stmt.where(col(NoticeDelivery.unit_id) == unit_id)
    if state is not None:
        stmt = stmt.where(col(NoticeDelivery.state) == state)
    if channel is not None:
        stmt = stmt.where(col(NoticeDelivery.channel) == channel)
    return await paginate(session, stmt, page, col(NoticeDelivery.created_at).desc(), col(NoticeDelivery.id))


async def digests(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    unit_id: UUID | None,
    day: date | None,
) -> tuple[list[NoticeDigest], int]:
    """The daily messages sent to units of the caller's subtree, newest first."""
    stmt = visible(select(NoticeDigest), NoticeDigest, principal)
    if unit_id is not None:
        stmt = stmt.where(col(NoticeDigest.unit_id) == unit_id)
    if day is not None:
        stmt = stmt.where(col(NoticeDigest.day) == day)
    return await paginate(
        session, stmt, page, col(NoticeDigest.day).desc(), col(NoticeDigest.created_at).desc()
    )
