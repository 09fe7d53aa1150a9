"""Standing supervision teams (督导组): set up and changed by the program's office (audited), their
cadence as of any day, and a program's month of supervision."""

import calendar as months
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, owned_or_403, unseen_units, visible
from services.api.preconditions import check_version, writable
from services.api.teams.schemas import (
    CadenceItem,
    CadencePublic,
    Covers,
    SupervisionSummary,
    TeamIn,
    TeamMonth,
    TeamPublic,
    TeamSummary,
    TeamUpdate,
    UnitFindings,
)
from shared import audit, cadence, calendar, clock
from shared.errors import invalid
from shared.i18n import N_, tr
from shared.models import AppUser, Finding, Program, Task, Team, TeamCover, TeamMember, Unit, Visit
from shared.program_settings import ProgramSettings
from shared.vocabulary import CadenceState, FindingState

OFFICE_ONLY = N_(
    "Only the program's office (or an office above it) sets up and changes its supervision teams."
)
Problems = list[tuple[list[str | int], str]]


async def _problems(
    session: AsyncSession, principal: Principal, program_id: uuid.UUID, team_id: uuid.UUID | None,
    fields: dict[str, Any],
) -> Problems:  # fmt: skip
    """Every fault the schema cannot see: people or units out of sight, tasks of another program,
    a unit or task another team of the program watches already, a name taken."""
    problems: Problems = []

    def others(column: Any) -> list[Any]:  # another team's rows (on a change: not the team's own)
        return [] if team_id is None else [column != team_id]

    people: list[tuple[list[str | int], Any]] = []
    if fields.get("leader_user_id"):
        people.append((["leader_user_id"], fields["leader_user_id"]))
    people += [(["member_user_ids", i], u) for i, u in enumerate(fields.get("member_user_ids") or [])]
    if people:
        seen = set(
            await session.scalars(
                visible(
                    select(col(AppUser.id)).where(col(AppUser.id).in_({u for _, u in people})),
                    AppUser,
                    principal,
                )
            )
        )
        problems += [
            (loc, tr("there is no user {id} that you can see", id=u)) for loc, u in people if u not in seen
        ]
    kinds = [r.kind for r in fields.get("cadence") or []]
    problems += [
        (["cadence", i], tr("give each kind of visit once")) for i, k in enumerate(kinds) if k in kinds[:i]
    ]
    covers: Covers | None = fields.get("covers")
    if covers is not None:
        problems += await unseen_units(
            session, principal, [(["covers", "unit_ids", i], u) for i, u in enumerate(covers.unit_ids)]
        )
        tasks = set(
            await session.scalars(
                select(col(Task.id)).where(
                    col(Task.id).in_(covers.task_ids), col(Task.program_id) == program_id
                )
            )
        )
        problems += [
            (["covers", "task_ids", i], tr("there is no task {id} in this program", id=t))
            for i, t in enumerate(covers.task_ids)
            if t not in tasks
        ]
        taken = {
            (kind, target): name
            for kind, target, name in await session.execute(
                select(col(TeamCover.target_type), col(TeamCover.target_id), col(Team.name))
                .join(Team, col(Team.id) == col(TeamCover.team_id))
                .where(
                    col(TeamCover.program_id) == program_id,
                    col(TeamCover.target_id).in_([*covers.unit_ids, *covers.task_ids]),
                    *others(col(TeamCover.team_id)),
                )
            )
        }
        for kind, ids in (("unit", covers.unit_ids), ("task", covers.task_ids)):
            for i, target in enumerate(ids):
                if (kind, target) in taken:
                    problems.append(
                        (
                            ["covers", f"{kind}_ids", i],
                            tr("team “{team}” watches this {what} already: one team per {what} in a program",
                               team=taken[(kind, target)], what=tr(kind)),
                        )
                    )  # fmt: skip
    if (name := fields.get("name")) is not None and await session.scalar(
        select(col(Team.id)).where(
            col(Team.program_id) == program_id,
            col(Team.name) == name,
            *others(col(Team.id)),
        )
    ):
        problems.append((["name"], tr("the program has a team named “{name}” already", name=name)))
    return problems


async def create_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    program_id = fields.get("program_id")
    if program_id is None or not await session.scalar(
        visible(select(col(Program.id)).where(col(Program.id) == program_id), Program, principal)
    ):
        return []
    return await _problems(session, principal, program_id, None, fields)


async def update_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> Problems:
    team = await session.get(Team, path.get("team_id"))
    return [] if team is None else await _problems(session, principal, team.program_id, team.id, fields)


async def _set_people_and_covers(
    session: AsyncSession, team: Team, members: list[uuid.UUID] | None, covers: Covers | None
) -> None:
    if members is not None:
        await session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team.id))
        session.add_all([TeamMember(team_id=team.id, user_id=u) for u in dict.fromkeys(members)])
    if covers is not None:
        await session.execute(delete(TeamCover).where(col(TeamCover.team_id) == team.id))
        await session.flush()
        session.add_all(
            [TeamCover(program_id=team.program_id, target_type="unit", target_id=u, team_id=team.id)
             for u in dict.fromkeys(covers.unit_ids)]
            + [TeamCover(program_id=team.program_id, target_type="task", target_id=t, team_id=team.id)
               for t in dict.fromkeys(covers.task_ids)]
        )  # fmt: skip
    await session.flush()


async def create(session: AsyncSession, *, data: TeamIn, principal: Principal) -> TeamPublic:
    program = await get_visible(session, Program, data.program_id, principal, N_("program"))
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    writable(program)
    if problems := await _problems(session, principal, program.id, None, dict(data)):
        raise invalid(problems)
    team = Team(
        program_id=program.id, name=data.name, leader_user_id=data.leader_user_id,
        cadence=[r.model_dump(mode="json") for r in data.cadence], since=data.since or clock.today(),
        created_by=principal.key,
    )  # fmt: skip
    session.add(team)
    await session.flush()
    await _set_people_and_covers(session, team, data.member_user_ids, data.covers)
    view = await to_public(session, team)
    await audit.record(
        session, actor=principal.actor, action="team.create", entity="team", entity_id=team.id,
        after=view.model_dump(mode="json"),
    )  # fmt: skip
    return view


async def update(
    session: AsyncSession, *, team: Team, data: TeamUpdate, principal: Principal, version: int
) -> TeamPublic:
    program = await session.get_one(Program, team.program_id)
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    writable(program)
    await session.refresh(team, with_for_update=True)
    check_version(team.version, version, N_("team"))
    sent = data.model_dump(exclude_unset=True)
    if problems := await _problems(session, principal, program.id, team.id, {**sent, "covers": data.covers}):
        raise invalid(problems)
    before = (await to_public(session, team)).model_dump(mode="json")
    for key in ("name", "leader_user_id", "since"):
        if sent.get(key) is not None:
            setattr(team, key, sent[key])
    if data.cadence is not None:
        team.cadence = [r.model_dump(mode="json") for r in data.cadence]
    await _set_people_and_covers(session, team, data.member_user_ids, data.covers)
    team.version += 1
    team.updated_at = clock.now()
    await session.flush()
    view = await to_public(session, team)
    await audit.record(
        session, actor=principal.actor, action="team.update", entity="team", entity_id=team.id,
        before=before, after=view.model_dump(mode="json"),
    )  # fmt: skip
    return view


async def to_public(session: AsyncSession, team: Team) -> TeamPublic:
    return (await to_publics(session, [team]))[0]


async def to_publics(session: AsyncSession, teams: list[Team]) -> list[TeamPublic]:
    ids = [t.id for t in teams]
    members: dict[uuid.UUID, list[uuid.UUID]] = {t: [] for t in ids}
    for team_id, user_id in await session.execute(
        select(col(TeamMember.team_id), col(TeamMember.user_id)).where(col(TeamMember.team_id).in_(ids))
    ):
        members[team_id].append(user_id)
    covers: dict[uuid.UUID, Covers] = {t: Covers() for t in ids}
    for team_id, kind, target in await session.execute(
        select(col(TeamCover.team_id), col(TeamCover.target_type), col(TeamCover.target_id))
        .where(col(TeamCover.team_id).in_(ids))
        .order_by(col(TeamCover.target_id))
    ):
        (covers[team_id].unit_ids if kind == "unit" else covers[team_id].task_ids).append(target)
    return [
        TeamPublic(
            **t.model_dump(
                include={
                    "id",
                    "program_id",
                    "name",
                    "leader_user_id",
                    "since",
                    "version",
                    "created_at",
                    "updated_at",
                }
            ),
            member_user_ids=sorted(members[t.id]),
            covers=covers[t.id],
            cadence=t.cadence,
        )
        for t in teams
    ]


async def list_teams(
    session: AsyncSession, *, principal: Principal, program_id: uuid.UUID | None
) -> list[Team]:
    stmt = visible(select(Team), Team, principal)
    if program_id is not None:
        stmt = stmt.where(col(Team.program_id) == program_id)
    return list(await session.scalars(stmt.order_by(col(Team.name), col(Team.id))))


def _before(program: Program) -> int:
    return cadence.reminder_days(ProgramSettings.model_validate(program.settings).escalation_policy)


async def cadence_of(session: AsyncSession, *, team: Team, as_of: date | None) -> CadencePublic:
    today = as_of or clock.today()
    cal = await calendar.load(session, [today.year - 1, today.year])
    found = await cadence.standings(
        session, program_id=team.program_id, today=today, cal=cal,
        before=_before(await session.get_one(Program, team.program_id)), team_ids=[team.id],
    )  # fmt: skip
    return CadencePublic(
        team_id=team.id,
        as_of=today,
        data=[
            CadenceItem(
                kind=s.kind,
                every_working_days=s.every_working_days,
                last_visit=s.last_visit,
                due_date=s.due,
                remind_on=s.remind_on,
                state=s.state,
                visits=s.visits,
            )
            for s in found
        ],
    )


async def summary(
    session: AsyncSession, *, program: Program, month: str, principal: Principal
) -> SupervisionSummary:
    """Visits made in the month per team and kind against its cadence, where each stood at the
    month's end, the findings opened and rectified by unit (those the caller can see)."""
    year, number = int(month[:4]), int(month[5:7])
    first, last = date(year, number, 1), date(year, number, months.monthrange(year, number)[1])
    cal = await calendar.load(session, [year - 1, year])
    working = cal.working_days_between(first - timedelta(days=1), last)
    teams = await list_teams(session, principal=principal, program_id=program.id)
    standing = await cadence.standings(
        session, program_id=program.id, today=last, cal=cal, before=_before(program),
        team_ids=[t.id for t in teams],
    )  # fmt: skip
    made = {
        (t, k): n
        for t, k, n in await session.execute(
            select(col(Visit.team_id), col(Visit.kind), func.count())
            .where(col(Visit.program_id) == program.id, col(Visit.visited_on).between(first, last))
            .group_by(col(Visit.team_id), col(Visit.kind))
        )
    }
    out_teams = []
    for team in teams:
        kinds = [
            TeamMonth(
                kind=s.kind,
                every_working_days=s.every_working_days,
                visits=made.get((team.id, s.kind), 0),
                expected=(Decimal(working) / s.every_working_days).quantize(Decimal("0.1")),
                last_visit=s.last_visit,
                due_date=s.due,
                state=s.state,
            )
            for s in standing
            if s.team_id == team.id
        ]
        behind = any(k.state == CadenceState.OVERDUE for k in kinds)
        out_teams.append(TeamSummary(team_id=team.id, name=team.name, kinds=kinds, behind=behind))
    units = await _findings_by_unit(session, program, first, last, principal)
    return SupervisionSummary(
        program_id=program.id, month=month, as_of=last, visits=sum(made.values()),
        findings_opened=sum(u.opened for u in units), findings_rectified=sum(u.rectified for u in units),
        teams=out_teams, teams_behind=[t.team_id for t in out_teams if t.behind], units=units,
    )  # fmt: skip


async def _findings_by_unit(
    session: AsyncSession, program: Program, first: date, last: date, principal: Principal
) -> list[UnitFindings]:
    day = func.date(func.timezone("Asia/Shanghai", col(Finding.opened_at)))
    fixed = func.date(func.timezone("Asia/Shanghai", col(Finding.rectified_at)))
    stmt = visible(
        select(
            col(Unit.id), col(Unit.name),
            func.count().filter(day.between(first, last)),
            func.count().filter(fixed.between(first, last)),
            func.count().filter(day <= last, (col(Finding.state) == FindingState.OPEN) | (fixed > last)),
        )
        .join(Unit, col(Unit.id) == col(Finding.unit_id))
        .where(col(Finding.program_id) == program.id)
        .group_by(col(Unit.id), col(Unit.name))
        .order_by(col(Unit.name)),
        Finding, principal,
    )  # fmt: skip
    return [
        UnitFindings(unit_id=u, unit_name=name, opened=o, rectified=r, open_at_end=e)
        for u, name, o, r, e in await session.execute(stmt)
        if o or r or e
    ]
