"""Bulletins: computed on demand, frozen on publish (a digest and versions, like round snapshots),
announced as `bulletin.published`; each program may keep its own Word template."""

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import holds, owned_or_403
from services.api.bulletins import figures
from shared import audit, clock, lights, ranking
from shared.errors import InvalidState, NotFound, query_error
from shared.i18n import N_, tr
from shared.models import Bulletin, BulletinTemplate, ObservationRound, Program
from shared.outbox import publish_event
from shared.program_settings import ProgramSettings
from shared.ranking import digest_of
from shared.vocabulary import BulletinKind, WebhookEvent

OFFICE_ONLY = N_("Only the program's office (or an office above it) publishes its bulletins.")


def check_month(program: Program, month: str) -> None:
    if not month[:4].isdigit() or int(month[:4]) != program.year or not 1 <= int(month[5:7] or 0) <= 12:
        raise query_error(
            "month",
            tr(
                "{program} is the program of {year}: ask for a month of {year}",
                program=program.name,
                year=program.year,
            ),
        )


def _frozen(document: dict[str, Any]) -> dict[str, Any]:
    """The document as its digest covers it: without the fields publication adds."""
    return {k: v for k, v in document.items() if k not in ("version", "digest", "number", "published_at")}


def _of(program_id: uuid.UUID, kind: str) -> Any:
    return (col(Bulletin.program_id) == program_id) & (col(Bulletin.kind) == kind)


async def _latest(
    session: AsyncSession, program_id: uuid.UUID, kind: str, period: str, version: int | None = None
) -> Bulletin | None:
    """The period's latest published version, or that version."""
    stmt = select(Bulletin).where(_of(program_id, kind), col(Bulletin.period) == period)
    if version is not None:
        stmt = stmt.where(col(Bulletin.version) == version)
    return await session.scalar(stmt.order_by(col(Bulletin.version).desc()).limit(1))


async def published(session: AsyncSession, program_id: uuid.UUID) -> list[Bulletin]:
    """Every published version of the program's monthly bulletins, by month and version."""
    stmt = select(Bulletin).where(_of(program_id, BulletinKind.MONTHLY))
    return list(await session.scalars(stmt.order_by(col(Bulletin.period), col(Bulletin.version))))


def with_publication(row: Bulletin) -> dict[str, Any]:
    return {
        **row.document,
        "version": row.version,
        "digest": row.digest,
        "number": row.number,
        "published_at": row.published_at.astimezone(clock.OFFICE_TZ).isoformat(),
    }


async def monthly(
    session: AsyncSession,
    *,
    program: Program,
    month: str,
    principal: Principal,
    as_of: datetime | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """A published version when asked (or, for anyone but the office, the latest published one);
    for the office without `version`, the figures computed now (as of `as_of` or the month's day)."""
    check_month(program, month)
    office = await holds(session, Program, program.id, principal)
    if version is not None or not office:
        row = await _latest(session, program.id, BulletinKind.MONTHLY, month, version)
        if row is None:
            raise NotFound(
                tr("The bulletin of {month} has no version {version}.", month=month, version=version)
                if version is not None
                else tr("The bulletin of {month} is not published yet.", month=month)
            )
        return with_publication(row)
    calendar = await lights.load_calendar(session, program)
    return await figures.monthly(session, program, month, calendar, as_of)


async def _streaks(
    session: AsyncSession, program: Program, month: str, document: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each unit on this month's 黑榜 and the months running it has been there, counting the
    latest published version of each month before."""
    black = {b["unit_id"]: (g["name"], b) for g in document["groups"] for b in g["black_list"]}
    months = {u: 1 for u in black}
    earlier = {  # the latest version of each month published before this one
        row.period: row
        for row in await session.scalars(
            select(Bulletin)
            .where(_of(program.id, BulletinKind.MONTHLY), col(Bulletin.period) < month)
            .order_by(col(Bulletin.period), col(Bulletin.version))
        )
    }
    year, number = int(month[:4]), int(month[5:])
    running = set(black)
    for before in range(number - 1, 0, -1):
        row = earlier.get(f"{year}-{before:02d}")
        running &= {b["unit_id"] for g in row.document["groups"] for b in g["black_list"]} if row else set()
        if not running:
            break
        for u in running:
            months[u] += 1
    return [
        {
            "unit_id": u,
            "name": b["name"],
            "group": group,
            "rank": b["rank"],
            "score": b["score"],
            "months": months[u],
        }
        for u, (group, b) in black.items()
    ]


async def publish_monthly(
    session: AsyncSession, *, program: Program, month: str, principal: Principal, as_of: datetime | None
) -> tuple[Bulletin, bool]:
    """Freeze the month's figures as a new version, unless they are the latest version's
    (then that one, and False)."""
    check_month(program, month)
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    await session.refresh(program, with_for_update=True)  # one publication at a time per program
    calendar = await lights.load_calendar(session, program)
    document = _frozen(await figures.monthly(session, program, month, calendar, as_of))
    digest = digest_of(document)
    latest = await _latest(session, program.id, BulletinKind.MONTHLY, month)
    if latest is not None and latest.digest == digest:
        return latest, False
    published = await session.scalar(select(func.count()).where(col(Bulletin.program_id) == program.id)) or 0
    settings = ProgramSettings.model_validate(program.settings)
    row = Bulletin(
        program_id=program.id,
        kind=BulletinKind.MONTHLY,
        period=month,
        version=(latest.version + 1) if latest else 1,
        number=f"〔{program.year}〕{settings.bulletin.document_number + published}号",
        digest=digest,
        document=document,
        as_of=datetime.fromisoformat(document["as_of"]),
        published_by=principal.key,
        published_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    await publish_event(
        session,
        event=WebhookEvent.BULLETIN_PUBLISHED,
        subject_type="program",
        subject_id=program.id,
        data={
            "program_id": str(program.id),
            "kind": row.kind,
            "period": month,
            "version": row.version,
            "digest": digest,
            "number": row.number,
            "black_list": await _streaks(session, program, month, document),
        },
    )
    await audit.record(
        session,
        actor=principal.actor,
        action="bulletin.published",
        entity="bulletin",
        entity_id=row.id,
        unit_id=program.office_unit_id,
        after={"period": month, "version": row.version, "digest": digest},
    )
    return row, True


async def office_only(session: AsyncSession, program: Program, principal: Principal) -> None:
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)


async def template_of(session: AsyncSession, program_id: uuid.UUID) -> bytes | None:
    found = await session.get(BulletinTemplate, program_id)
    return found.content if found else None


async def keep_template(
    session: AsyncSession, *, program: Program, filename: str, content: bytes, principal: Principal
) -> BulletinTemplate:
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    found = await session.get(BulletinTemplate, program.id)
    sha = hashlib.sha256(content).hexdigest()
    if found is None:
        found = BulletinTemplate(
            program_id=program.id,
            filename=filename,
            content=content,
            sha256=sha,
            uploaded_by=principal.key,
            uploaded_at=clock.now(),
        )
        session.add(found)
    else:
        found.filename, found.content, found.sha256 = filename, content, sha
        found.uploaded_by, found.uploaded_at = principal.key, clock.now()
    await audit.record(
        session,
        actor=principal.actor,
        action="bulletin_template.uploaded",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        after={"filename": filename, "sha256": sha},
    )
    await session.flush()
    return found


async def of_round(session: AsyncSession, rnd: ObservationRound) -> dict[str, Any]:
    """The observation bulletin of a round's published snapshot: its rankings by project, unit and
    region, praise for the top and criticism for the bottom, and the fairness notes."""
    if rnd.published_version is None:
        raise InvalidState(tr("The round is not published yet: its bulletin comes with publication."))
    snapshot = await ranking.snapshot(session, rnd.id, rnd.published_version)
    if snapshot is None:  # a published version always has its snapshot
        raise NotFound(tr("This round has no results version {version}.", version=rnd.published_version))
    doc = ranking.RoundResults.of(snapshot)
    program = await session.get_one(Program, rnd.program_id)
    praise, criticise = doc.settings.praise_top, doc.settings.criticise_bottom

    def group(name: str, rows: list[Any]) -> dict[str, Any]:
        ranked = [{"unit_id": r.id, "name": r.name, "score": r.score, "rank": r.rank} for r in rows if r.rank]
        top = [r for r in ranked if r["rank"] <= praise]
        cut = len(ranked) - criticise
        bottom = [r for r in ranked if r["rank"] > cut and r not in top]
        return {"name": name, "ranking": ranked, "red_list": top, "black_list": bottom}

    notes = [f"评分一致性（{doc.fairness.agreement.method}）：{doc.fairness.agreement.value or '—'}。"]
    if doc.fairness.bootstrap:
        notes.append(
            f"名次区间按检查员重抽样{doc.fairness.bootstrap.resamples}次估计（{doc.fairness.bootstrap.interval}）。"
        )
    notes += list(doc.fairness.warnings or [])
    return {
        "program_id": str(program.id),
        "program_name": program.name,
        "round_id": str(rnd.id),
        "round_name": rnd.name,
        "quarter": rnd.quarter,
        "as_of": datetime.fromisoformat(doc.settings.as_of).astimezone(clock.OFFICE_TZ).isoformat(),
        "version": snapshot.version,
        "digest": snapshot.digest,
        "number": None,
        "groups": [
            group("项目排名", doc.projects),
            group("责任单位排名", doc.units),
            group("区域排名", doc.regions),
        ],
        "fairness_notes": notes,
    }


__all__ = [
    "OFFICE_ONLY",
    "keep_template",
    "monthly",
    "of_round",
    "office_only",
    "publish_monthly",
    "published",
    "template_of",
]
