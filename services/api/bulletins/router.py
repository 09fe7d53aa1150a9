"""Lights (红黄绿灯) and bulletins (通报) of a program, and a round's observation bulletin."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, File, Path, Query, Response, UploadFile, status
from fastapi.responses import HTMLResponse, JSONResponse

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import condition
from services.api.bulletins import outputs, service, word
from services.api.bulletins.outputs import DOCX
from services.api.bulletins.schemas import (
    BulletinOut,
    Dimension,
    LightName,
    LightsPage,
    ProjectLights,
    Published,
    TemplateOut,
)
from services.api.records import ProgramDep, RoundDep
from services.api.reports.schemas import as_of_param
from services.api.routing import SessionDep, router
from services.api.uploads import XLSX, read_upload
from shared import lights
from shared.errors import invalid
from shared.i18n import tr
from shared.models import Program, Project

programs = router(prefix="/programs", tags=["bulletins"])
rounds = router(prefix="/rounds", tags=["bulletins"])
Reader = Annotated[Principal, authorize(Action.PROJECTS_READ)]
Writer = Annotated[Principal, authorize(Action.PROGRAMS_WRITE)]
AsOf = Annotated[datetime, Depends(as_of_param)]
Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM", examples=["2018-05"])]


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
        session, program, as_of, where=condition(Project, principal), light=light, dimension=dimension
    )
    data = [ProjectLights.model_validate(p, from_attributes=True) for p in found]
    return LightsPage(as_of=as_of, count=len(data), data=data)


async def _output(
    session: SessionDep,
    principal: Principal,
    program: Program,
    month: str,
    as_of: datetime | None,
    version: int | None,
    form: str,
) -> Response:
    return await outputs.monthly(
        session, program=program, principal=principal, month=month, form=form, as_of=as_of, version=version
    )


async def bulletin_as_of(
    as_of: Annotated[
        str | None,
        Query(
            description="an instant or a date (its end, Asia/Shanghai); default: the program's day after "
            "the month's report deadline (`bulletin.days_after_deadline`), or now if that is later"
        ),
    ] = None,
) -> datetime | None:
    return None if as_of is None else as_of_param(as_of)


BulletinAsOf = Annotated[datetime | None, Depends(bulletin_as_of)]
Version = Annotated[
    int | None,
    Query(
        ge=1,
        description="a published version; default: the figures now (the office) "
        "or the latest published one (everyone else)",
    ),
]


@programs.get(
    "/{program_id:uuid}/bulletins/{month}.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def bulletin_workbook(
    month: Month,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    as_of: BulletinAsOf = None,
    version: Version = None,
) -> Response:
    """The month's bulletin as a print-ready workbook: Chinese headers, 万元 with two decimals,
    native bar and line charts, A4 landscape with print titles."""
    return await _output(session, principal, program, month, as_of, version, "xlsx")


@programs.get(
    "/{program_id:uuid}/bulletins/{month}.docx",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}},
)
async def bulletin_word(
    month: Month,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    as_of: BulletinAsOf = None,
    version: Version = None,
) -> Response:
    """The month's 通报 draft in the 公文 layout (GB/T 9704), from the program's template (or the
    default one): red 发文机关标志, 发文字号, red rule, title, sections from the figures, annex."""
    return await _output(session, principal, program, month, as_of, version, "docx")


@programs.get("/{program_id:uuid}/bulletins/{month}.html", response_class=HTMLResponse)
async def bulletin_page(
    month: Month,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    as_of: BulletinAsOf = None,
    version: Version = None,
) -> Response:
    """The month's bulletin as a page with SVG charts and print CSS."""
    return await _output(session, principal, program, month, as_of, version, "html")


@programs.get("/{program_id:uuid}/bulletins/{month}", response_model=BulletinOut)
async def bulletin(
    month: Month,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    as_of: BulletinAsOf = None,
    version: Version = None,
) -> Any:
    """The month's bulletin (一月一排队一通报): totals against 序时进度, by category and region,
    units ranked in their groups with the 红榜 and 黑榜, the lights, overdue reports, standing
    notices and open problems (docs/scoring.md). The office gets the figures as of now (or
    `as_of`); everyone else, the latest published version. Money in 万元 as decimal strings."""
    return await _output(session, principal, program, month, as_of, version, "json")


@programs.post(
    "/{program_id:uuid}/bulletins/{month}/publish",
    status_code=status.HTTP_201_CREATED,
    response_model=Published,
    responses={
        200: {"model": Published, "description": "the same figures are published already: that version"}
    },
)
async def publish_bulletin(
    month: Month,
    response: Response,
    session: SessionDep,
    principal: Writer,
    program: ProgramDep,
    as_of: BulletinAsOf = None,
) -> Published:
    """Freeze the month's figures as a new version with its digest and announce it as
    `bulletin.published` (the notifier criticises units on the 黑榜 `streak_months` running).
    The same figures again: 200 with the version that has them."""
    row, new = await service.publish_monthly(
        session, program=program, month=month, principal=principal, as_of=as_of
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return Published(version=row.version, digest=row.digest, number=row.number, published_at=row.published_at)


@programs.put("/{program_id:uuid}/bulletin-template", response_model=TemplateOut)
async def put_template(
    session: SessionDep,
    principal: Writer,
    program: ProgramDep,
    file: Annotated[
        UploadFile, File(description="a .docx with docxtpl fields: issuer, number, title, sections …")
    ],
) -> TemplateOut | JSONResponse:
    """The program's own 红头 template for its 通报 drafts. Checked on upload: it must use
    `issuer`, `number`, `title` and `sections`, and may use `date`, `program`, `period`,
    `annex_title`, `annex_headers` and `annex_rows`; 422 names each field missing or unknown."""
    await service.office_only(session, program, principal)
    content = await read_upload(file)
    try:
        word.check_template(content)
    except word.TemplateFault as e:
        raise invalid([(["file", field], _fault(field, what)) for field, what in e.faults]) from e
    kept = await service.keep_template(
        session,
        program=program,
        filename=file.filename or "template.docx",
        content=content,
        principal=principal,
    )
    return TemplateOut(filename=kept.filename, sha256=kept.sha256, uploaded_at=kept.uploaded_at)


def _fault(field: str, what: str) -> str:
    if what == "missing":
        return tr("the template does not use the field '{field}', which every bulletin needs", field=field)
    if what == "unknown":
        return tr("the template uses the field '{field}', which bulletins do not give", field=field)
    return tr("not a Word (.docx) template that can be filled")


@rounds.get(
    "/{round_id:uuid}/bulletin.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def round_workbook(session: SessionDep, principal: Reader, rnd: RoundDep) -> Response:
    """The observation bulletin as a workbook with its charts."""
    return await outputs.of_round(session, rnd, "xlsx")


@rounds.get(
    "/{round_id:uuid}/bulletin.docx", response_class=Response, responses={200: {"content": {DOCX: {}}}}
)
async def round_word(session: SessionDep, principal: Reader, rnd: RoundDep) -> Response:
    """The observation bulletin as a 通报 draft (公文 layout)."""
    return await outputs.of_round(session, rnd, "docx")


@rounds.get("/{round_id:uuid}/bulletin.html", response_class=HTMLResponse)
async def round_page(session: SessionDep, principal: Reader, rnd: RoundDep) -> Response:
    """The observation bulletin as a page with SVG charts and print CSS."""
    return await outputs.of_round(session, rnd, "html")


@rounds.get("/{round_id:uuid}/bulletin", response_model=BulletinOut)
async def round_bulletin(session: SessionDep, principal: Reader, rnd: RoundDep) -> Any:
    """The observation bulletin of the round's published snapshot: rankings by project, unit and
    region, praise (top `praise_top`) and criticism (bottom `criticise_bottom`), fairness notes.
    409 until the round is published."""
    return await outputs.of_round(session, rnd, "json")
