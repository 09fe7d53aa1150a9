"""Lights (红黄绿灯) and bulletins (通报) of a program."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import condition
from services.api.bulletins.schemas import Dimension, LightName, LightsPage, ProjectLights
from services.api.records import ProgramDep
from services.api.reports.schemas import as_of_param
from services.api.routing import SessionDep, router
from shared import lights
from shared.models import Project

programs = router(prefix="/programs", tags=["bulletins"])
Reader = Annotated[Principal, authorize(Action.PROJECTS_READ)]
AsOf = Annotated[datetime, Depends(as_of_param)]


@programs.get("/{program_id:uuid}/lights", response_model=LightsPage)
async def program_lights(
    as_of: AsOf,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    light: Annotated[LightName | None, Query(description="only projects of this light")] = None,
    dimension: Annotated[
        Dimension | None, Query(description="with `light`: judge that dimension, not the overall light")
    ] = None,
) -> LightsPage:
    """The lights of the program's approved projects you can see, as of an instant: start,
    progress against 序时进度, reports, problems and notices, each green, yellow or red, and the
    worst of them (docs/lights.md; thresholds in the program's `lights` settings)."""
    found = await lights.compute(
        session,
        program,
        as_of,
        where=condition(Project, principal),
        light=light,
        dimension=dimension,
    )
    data = [ProjectLights.model_validate(p, from_attributes=True) for p in found]
    return LightsPage(as_of=as_of, count=len(data), data=data)
