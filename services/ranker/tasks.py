"""Ranker jobs. Thin: take ids from the payload, call a service function."""

from typing import Any

from services.ranker import assessment, scoring
from shared.inbox import claim
from shared.models import Program, RankerInbox, RankerPingReceipt
from shared.ping import ping_task
from shared.queues import Job, PublishAssessmentPayload, RankRoundPayload

ping = ping_task(inbox=RankerInbox, receipt=RankerPingReceipt)


async def rank_round(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Compute a round's results (once per message: its id is kept in the inbox with them)."""
    order = RankRoundPayload.model_validate(payload)
    try:
        snapshot = await scoring.rank_round(ctx["sessions"], order.round_id, message_id=message_id)
    except scoring.Duplicate:
        return "duplicate"
    return "not closed" if snapshot is None else f"version {snapshot.version}"


async def rank_unranked(ctx: dict[str, Any]) -> dict[str, int]:
    """The reconciler's share: rank the closed rounds that have no snapshot yet (their job was
    lost with Redis, or the ranker was down when they closed). A cron."""
    done = 0
    for round_id in await scoring.unranked_rounds(ctx["sessions"]):
        if await scoring.rank_round(ctx["sessions"], round_id) is not None:
            done += 1
    return {"ranked": done}


async def publish_assessment(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Freeze and announce a half-year or annual assessment (once per request)."""
    order = PublishAssessmentPayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, RankerInbox, message_id=message_id, job=Job.PUBLISH_ASSESSMENT):
            return "duplicate"
        program = await session.get_one(Program, order.program_id)
        record = await assessment.publish(session, program, order.year, order.half, order.requested_by)
        return "unchanged" if record is None else f"version {record.version}"
