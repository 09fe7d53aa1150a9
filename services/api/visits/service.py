"""Supervision visits: a team records what it saw; each finding becomes a notice the notifier
chases up the ladder until the office confirms the rectification; phones attach evidence."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import (
    get_visible,
    holds,
    on_team,
    program_held,
    subtree_ids,
    unseen_units,
    visible,
)
from services.api.preconditions import writable
from services.api.visits import evidence
from services.api.visits.schemas import FilePublic, FindingPublic, VisitIn, VisitPublic
from shared import audit, calendar, clock
from shared.clock import OFFICE_TZ
from shared.errors import Forbidden, InvalidState, PayloadTooLarge, invalid
from shared.filestore import FileStore, digest
from shared.i18n import N_, tr, word
from shared.models import EvidenceFile, Finding, Program, Project, Task, Team, Visit
from shared.outbox import add_message
from shared.program_settings import ProgramSettings
from shared.queues import FindingRectifiedPayload, IssueNoticePayload, Job, Target
from shared.settings import ApiSettings
from shared.vocabulary import FindingState, NoticeKind, NoticeRule, Severity, VisitKind

Problems = list[tuple[list[str | int], str]]
MB = 1024 * 1024
TEAM_ONLY = N_("Only the team's leader and members (or the program's office) record its visits and evidence.")
OFFICE_ONLY = N_("Only the program's office (or an office above it) confirms a finding rectified.")


def notice_kind(severity: str) -> NoticeKind:
    """A critical finding is supervised (督办) at once; the others are urged (催办)."""
    return NoticeKind.SUPERVISION if severity == Severity.CRITICAL else NoticeKind.URGING


async def _may_record(session: AsyncSession, team: Team, principal: Principal) -> None:
    """The team's leader or a member, or the program's office (and above)."""
    if await session.scalar(select(on_team(col(Team.id), principal)).where(col(Team.id) == team.id)):
        return
    if not await holds(session, Program, team.program_id, principal):
        raise Forbidden(tr(TEAM_ONLY))


async def _problems(
    session: AsyncSession, principal: Principal, team: Team, fields: dict[str, Any]
) -> Problems:
    """Every fault the schema cannot see: a visit in the future, projects, units or tasks out of
    sight or of another program, a rung the program's ladder lacks."""
    problems: Problems = []
    if (day := fields.get("date")) is not None and day > clock.today():
        problems.append((["date"], tr("a visit is recorded once made: give a day not after today")))
    wanted = set(fields.get("project_ids") or [])
    findings = fields.get("findings") or []
    wanted |= {f.project_id for f in findings if f.project_id}
    seen = set(
        await session.scalars(
            visible(
                select(col(Project.id)).where(
                    col(Project.id).in_(wanted), col(Project.program_id) == team.program_id
                ),
                Project, principal,
            )
        )
    ) if wanted else set()  # fmt: skip
    said = N_("there is no project {id} of this program that you can see")
    problems += [
        (["project_ids", i], tr(said, id=p))
        for i, p in enumerate(fields.get("project_ids") or [])
        if p not in seen
    ]
    tasks = {f.task_id for f in findings if f.task_id}
    known = set(
        await session.scalars(
            select(col(Task.id)).where(col(Task.id).in_(tasks), col(Task.program_id) == team.program_id)
        )
    ) if tasks else set()  # fmt: skip
    program = await session.get_one(Program, team.program_id)
    ladder = ProgramSettings.model_validate(program.settings).escalation_policy
    for i, f in enumerate(findings):
        if (f.project_id is None) == (f.task_id is None):
            problems.append((["findings", i], tr("name either a project_id or a task_id")))
        if f.project_id and f.project_id not in seen:
            problems.append((["findings", i, "project_id"], tr(said, id=f.project_id)))
        if f.task_id and f.task_id not in known:
            problems.append(
                (["findings", i, "task_id"], tr("there is no task {id} in this program", id=f.task_id))
            )
        if ladder.rung(notice_kind(f.severity)) is None:
            problems.append(
                (["findings", i, "severity"],
                 tr("the program's ladder has no {kind} rung for this severity",
                    kind=word(NoticeKind, notice_kind(f.severity))))
            )  # fmt: skip
    problems += await unseen_units(
        session, principal, [(["findings", i, "unit_id"], f.unit_id) for i, f in enumerate(findings)]
    )
    return problems


async def record_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    team_id = fields.get("team_id")
    team = (
        await session.scalar(visible(select(Team).where(col(Team.id) == team_id), Team, principal))
        if team_id
        else None
    )
    return [] if team is None else await _problems(session, principal, team, fields)


async def record(session: AsyncSession, *, data: VisitIn, principal: Principal) -> VisitPublic:
    """Record the visit and its findings, and hand each finding's notice to the notifier (in this
    transaction, under an id known now): due the finding's working days from today."""
    team = await get_visible(session, Team, data.team_id, principal, N_("team"))
    await _may_record(session, team, principal)
    program = await session.get_one(Program, team.program_id)
    writable(program)
    if problems := await _problems(session, principal, team, dict(data)):
        raise invalid(problems)
    visit = Visit(
        program_id=program.id, team_id=team.id, kind=data.kind, visited_on=data.date, places=data.places,
        project_ids=list(dict.fromkeys(data.project_ids)), participants=data.participants, note=data.note,
        created_by=principal.key,
    )  # fmt: skip
    session.add(visit)
    await session.flush()
    now = clock.now()
    today = now.astimezone(OFFICE_TZ).date()
    cal = await calendar.load(session, [today.year, today.year + 1])
    names = await _names(session, data)
    what = word(VisitKind, data.kind, "zh_CN")
    for i, f in enumerate(data.findings):
        finding = Finding(
            visit_id=visit.id, program_id=program.id, position=i, unit_id=f.unit_id, project_id=f.project_id,
            task_id=f.task_id, severity=f.severity, requirement=f.requirement,
            due_date=cal.add_working_days(today, f.due_in_working_days).date, notice_id=uuid.uuid4(),
            opened_at=now,
        )  # fmt: skip
        session.add(finding)
        subject = ("project", f.project_id) if f.project_id else ("task", f.task_id)
        on = names.get(subject[1], "")
        title = f"督查组“{team.name}”{data.date} {what}发现问题：{on}{_first_line(f.requirement)}"
        await add_message(
            session, producer="api", target=Target.NOTIFIER, job=Job.ISSUE_NOTICE,
            payload=IssueNoticePayload(
                notice_id=finding.notice_id, program_id=program.id, kind=notice_kind(f.severity),
                recipient_unit_id=f.unit_id, subject_type=subject[0], subject_id=subject[1],
                requirements=f.requirement, due_date=finding.due_date, issued_at=now, actor=principal.key,
                rule=NoticeRule.FINDING, title=title,
            ),
        )  # fmt: skip
    await session.flush()
    view = await to_public(session, visit)
    await audit.record(
        session, actor=principal.actor, action="visit.create", entity="visit", entity_id=visit.id,
        after=view.model_dump(mode="json"),
    )  # fmt: skip
    return view


async def _names(session: AsyncSession, data: VisitIn) -> dict[Any, str]:
    """What each finding is on, as its notice names it: 项目“…” or 任务“…”."""
    projects = {f.project_id for f in data.findings if f.project_id}
    tasks = {f.task_id for f in data.findings if f.task_id}
    out: dict[Any, str] = {}
    if projects:
        rows = await session.execute(
            select(col(Project.id), col(Project.name)).where(col(Project.id).in_(projects))
        )
        out |= {i: f"项目“{n}”" for i, n in rows}
    if tasks:
        rows = await session.execute(select(col(Task.id), col(Task.title)).where(col(Task.id).in_(tasks)))
        out |= {i: f"任务“{n}”" for i, n in rows}
    return out


def _first_line(text: str) -> str:
    first = text.strip().splitlines()[0]
    return first[:60] + ("…" if len(first) > 60 else "")


async def to_public(session: AsyncSession, visit: Visit) -> VisitPublic:
    findings = await session.scalars(
        select(Finding).where(col(Finding.visit_id) == visit.id).order_by(col(Finding.position))
    )
    files = await session.scalars(
        select(EvidenceFile)
        .where(col(EvidenceFile.visit_id) == visit.id)
        .order_by(col(EvidenceFile.received_at))
    )
    return VisitPublic(
        **visit.model_dump(include={"id", "program_id", "team_id", "kind", "places", "project_ids",
                                    "participants", "note", "created_by", "created_at"}),
        date=visit.visited_on,
        findings=[FindingPublic.model_validate(f, from_attributes=True) for f in findings],
        files=[FilePublic.model_validate(f, from_attributes=True) for f in files],
    )  # fmt: skip


async def list_visits(
    session: AsyncSession,
    *,
    principal: Principal,
    program_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    month: str | None,
) -> list[Visit]:
    stmt = visible(select(Visit), Visit, principal)
    if program_id is not None:
        stmt = stmt.where(col(Visit.program_id) == program_id)
    if team_id is not None:
        stmt = stmt.where(col(Visit.team_id) == team_id)
    if month is not None:
        stmt = stmt.where(func.to_char(col(Visit.visited_on), "YYYY-MM") == month)
    return list(
        await session.scalars(stmt.order_by(col(Visit.visited_on).desc(), col(Visit.created_at).desc()))
    )


async def confirm(session: AsyncSession, *, finding: Finding, principal: Principal) -> Finding:
    """The office confirms the finding rectified (整改到位): the notifier ends its chain."""
    await session.refresh(finding, with_for_update=True)
    if not await holds(session, Program, finding.program_id, principal):
        raise Forbidden(tr(OFFICE_ONLY))
    if finding.state == FindingState.RECTIFIED:
        raise InvalidState(tr("This finding was confirmed rectified already; nothing was changed."))
    now = clock.now()
    finding.state, finding.rectified_at, finding.confirmed_by = FindingState.RECTIFIED, now, principal.key
    await session.flush()
    await add_message(
        session, producer="api", target=Target.NOTIFIER, job=Job.FINDING_RECTIFIED,
        payload=FindingRectifiedPayload(notice_id=finding.notice_id, confirmed_at=now),
    )  # fmt: skip
    await audit.record(
        session, actor=principal.actor, action="finding.confirm", entity="finding", entity_id=finding.id,
        unit_id=finding.unit_id, after={"state": finding.state, "rectified_at": now},
    )  # fmt: skip
    return finding


# Evidence


async def attach(
    session: AsyncSession,
    *,
    visit: Visit,
    data: bytes,
    filename: str | None,
    finding_id: uuid.UUID | None,
    captured_at: datetime | None,
    latitude: float | None,
    longitude: float | None,
    accuracy_m: float | None,
    principal: Principal,
    store: FileStore,
    settings: ApiSettings,
) -> tuple[EvidenceFile, bool]:
    """Keep a photo or document of the visit (or one of its findings): judged by its bytes,
    within the size limits, stored once under its SHA-256 with the copy without EXIF beside it.
    The same bytes sent again for the visit find the file they made (False: not new)."""
    team = await session.get_one(Team, visit.team_id)
    await _may_record(session, team, principal)
    if len(data) > settings.evidence_max_file_mb * MB:
        raise PayloadTooLarge(
            tr(
                "The file is larger than {mb} MB; send a smaller photo or document.",
                mb=settings.evidence_max_file_mb,
            )
        )
    finding = None
    if finding_id is not None:
        finding = await session.scalar(
            select(Finding).where(col(Finding.id) == finding_id, col(Finding.visit_id) == visit.id)
        )
        if finding is None:
            raise invalid([(["finding_id"], tr("this visit has no finding {id}", id=finding_id))])
    judged = evidence.judge(data, filename)
    # one upload of a visit at a time: the visit's total is counted with nothing else arriving
    await session.execute(select(col(Visit.id)).where(col(Visit.id) == visit.id).with_for_update())
    sha256 = digest(data)
    found = await session.scalar(
        select(EvidenceFile).where(col(EvidenceFile.visit_id) == visit.id, col(EvidenceFile.sha256) == sha256)
    )
    if found is not None:
        return found, False
    total = await session.scalar(
        select(func.coalesce(func.sum(col(EvidenceFile.size)), 0)).where(
            col(EvidenceFile.visit_id) == visit.id
        )
    )
    if (total or 0) + len(data) > settings.evidence_max_visit_mb * MB:
        raise PayloadTooLarge(
            tr("The visit's files would pass {mb} MB together; it keeps {kept} MB already.",
               mb=settings.evidence_max_visit_mb, kept=round((total or 0) / MB, 1))
        )  # fmt: skip
    await store.put(data)
    public_sha = await store.put(judged.public) if judged.public is not None else None
    lat = latitude if latitude is not None else judged.seen.latitude
    lon = longitude if longitude is not None else judged.seen.longitude
    distance = await _distance(session, visit, finding, lat, lon)
    values = dict(
        id=uuid.uuid4(), visit_id=visit.id, finding_id=finding.id if finding else None, sha256=sha256,
        media_type=judged.media_type, size=len(data), filename=(filename or None) and filename[:200],
        public_sha256=public_sha, public_media_type=judged.public_media_type,
        captured_at=captured_at or judged.seen.captured_at,
        latitude=_places(lat, 6), longitude=_places(lon, 6), accuracy_m=_places(accuracy_m, 1),
        distance_m=distance, far=distance is not None and distance > settings.evidence_far_meters,
        received_at=clock.now(), uploaded_by=principal.key,
    )  # fmt: skip
    await session.execute(insert(EvidenceFile).values(**values))
    kept = await session.get_one(EvidenceFile, values["id"])
    await audit.record(
        session, actor=principal.actor, action="evidence.attach", entity="evidence_file", entity_id=kept.id,
        after={"visit_id": visit.id, "sha256": sha256, "media_type": kept.media_type, "size": kept.size},
    )  # fmt: skip
    return kept, True


def _places(value: float | None, places: int) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(10) ** -places)


async def _distance(
    session: AsyncSession, visit: Visit, finding: Finding | None, lat: float | None, lon: float | None
) -> Decimal | None:
    """From where the photo was taken to its project (the finding's, else the nearest project the
    visit saw) when both are known."""
    if lat is None or lon is None:
        return None
    ids = [finding.project_id] if finding is not None and finding.project_id else visit.project_ids
    places = [
        loc
        for loc in await session.scalars(select(col(Project.location)).where(col(Project.id).in_(ids)))
        if loc
    ]
    if not places:
        return None
    return min(evidence.distance_m(lat, lon, p["latitude"], p["longitude"]) for p in places)


async def sees_original(session: AsyncSession, file: EvidenceFile, principal: Principal) -> bool:
    """The original (with its EXIF location) goes to the program's office, the team, and the
    subtree of the finding's unit; everyone else who may see the visit gets the copy without it."""
    checks = [program_held(Visit, principal), on_team(col(Visit.team_id), principal)]
    if file.finding_id is not None:
        unit_id = select(col(Finding.unit_id)).where(col(Finding.id) == file.finding_id).scalar_subquery()
        checks.append(unit_id.in_(subtree_ids(principal)))
    return bool(
        await session.scalar(select(col(Visit.id)).where(col(Visit.id) == file.visit_id, or_(*checks)))
    )
