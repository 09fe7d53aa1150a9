"""Publishing a half-year or annual assessment (shared.assessment computes it): frozen as a
versioned record, announced as `assessment.published` (a failing grade becomes an accountability
referral in the notifier)."""

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.assessment import compute, latest_published
from shared.models import Assessment, Program
from shared.outbox import publish_event
from shared.ranking import AssessmentPublished, GradedUnit, digest_of
from shared.vocabulary import Grade, WebhookEvent


async def publish(
    session: AsyncSession, program: Program, year: int, half: int | None, by: str
) -> Assessment | None:
    """Freeze the period's assessment as version n+1 and announce it; None when nothing changed
    since the latest published version (a replayed request)."""
    document = await compute(session, program, year, half)
    digest = digest_of(document)
    latest = await latest_published(session, program.id, year, half)
    if latest is not None and latest.digest == digest:
        return None
    record = Assessment(
        program_id=program.id,
        year=year,
        half=half or 0,
        version=(latest.version if latest else 0) + 1,
        digest=digest,
        document=document,
        published_at=clock.now(),
        published_by=by,
    )
    session.add(record)
    event = AssessmentPublished(
        program_id=program.id,
        year=year,
        half=half,
        units=[
            GradedUnit(unit_id=u["unit_id"], score=Decimal(u["score"]), grade=Grade(u["grade"]))
            for u in document["units"]
        ],
    )
    await publish_event(
        session,
        event=WebhookEvent.ASSESSMENT_PUBLISHED,
        subject_type="program",
        subject_id=program.id,
        data=event.model_dump(mode="json"),
        producer="ranker",
    )
    return record
