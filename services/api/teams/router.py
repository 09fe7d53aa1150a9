"""Standing supervision teams (督导组): `/teams`, their cadence, and a program's supervision month."""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import Query, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page
from services.api.preconditions import IfMatch
from services.api.records import ProgramDep, TeamDep
from services.api.routing import SessionDep, router
from services.api.teams import service
from services.api.teams.schemas import CadencePublic, SupervisionSummary, TeamIn, TeamPublic, TeamUpdate
from services.api.validation import also_checked

teams = router(prefix="/teams", tags=["teams and visits"])
supervision = router(prefix="/programs", tags=["teams and visits"])
Reader = Annotated[Principal, authorize(Action.PROGRAMS_READ)]
Writer = Annotated[Principal, authorize(Action.TEAMS_WRITE)]


@teams.post("", status_code=status.HTTP_201_CREATED, response_model=TeamPublic)
@also_checked(TeamIn, service.create_checks)
async def create_team(session: SessionDep, principal: Writer, data: TeamIn, response: Response) -> TeamPublic:
    """Set up a standing supervision team: its leader and members, the regions (units) and actions
    (tasks) it watches — each watched by one team of the program at most — and its cadence, the
    working days allowed between visits of each kind. Audited."""
    view = await service.create(session, data=data, principal=principal)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@teams.get("", response_model=Page[TeamPublic])
async def list_teams(
    session: SessionDep, principal: Reader, program_id: UUID | None = None
) -> Page[TeamPublic]:
    """The teams of the programs you take part in, by name."""
    found = await service.list_teams(session, principal=principal, program_id=program_id)
    return Page(data=await service.to_publics(session, found), count=len(found))


@teams.get("/{team_id:uuid}", response_model=TeamPublic)
async def get_team(session: SessionDep, principal: Reader, team: TeamDep, response: Response) -> TeamPublic:
    """A team; its version is the `ETag` to send as `If-Match` when changing it."""
    response.headers["ETag"] = f'"{team.version}"'
    return await service.to_public(session, team)


@teams.patch("/{team_id:uuid}", response_model=TeamPublic)
@also_checked(TeamUpdate, service.update_checks, partial=True)
async def update_team(
    session: SessionDep,
    principal: Writer,
    team: TeamDep,
    data: TeamUpdate,
    version: IfMatch,
    response: Response,
) -> TeamPublic:
    """Change a team: the fields sent (members and what it watches are replaced whole), with
    `If-Match: <version>`. Audited with the team before and after."""
    view = await service.update(session, team=team, data=data, principal=principal, version=version)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@teams.get("/{team_id:uuid}/cadence", response_model=CadencePublic)
async def cadence(
    session: SessionDep,
    principal: Reader,
    team: TeamDep,
    as_of: Annotated[date | None, Query(description="the day asked about; default today")] = None,
) -> CadencePublic:
    """Each kind of visit in the team's cadence: its last visit, the day the next is due by, and
    whether it is `open`, `due` (the reminder's working days before) or `overdue`."""
    return await service.cadence_of(session, team=team, as_of=as_of)


@supervision.get("/{program_id:uuid}/supervision", response_model=SupervisionSummary)
async def supervision_month(
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2018-10"])],
) -> SupervisionSummary:
    """The program's month of supervision, as data for its bulletin: visits per team and kind
    against the cadence, the teams behind at the month's end, findings opened and rectified by
    unit (those you can see)."""
    return await service.summary(session, program=program, month=month, principal=principal)
