"""The office pages (/office): server-rendered, Chinese, readable on a phone, with htmx for the
feedback form. Each page reads through the API's own services under the API's access rules (the
session cookie carries the same access token a bearer would); a refusal is a page, not a trace."""

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.router import sign_in
from services.api.auth.scope import condition, get_visible, holds
from services.api.bulletins import outputs
from services.api.bulletins import service as bulletins_service
from services.api.notices import service as notices
from services.api.office import session as cookies
from services.api.office.render import render
from services.api.pagination import PageParams
from services.api.problems import service as problems
from services.api.programs import service as programs
from services.api.projects import service as projects
from services.api.records import NoticeDep, ProgramDep
from services.api.reports import service as reports
from services.api.routing import DubanRoute, SessionDep
from shared import charts, clock, dues, lights
from shared.errors import DomainError, Forbidden, NotFound, Unauthorized
from shared.i18n import tr, word
from shared.models import Program, Project
from shared.notice_facts import WAITING
from shared.vocabulary import NoticeAction, NoticeKind

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
TITLES = {401: "请先登录", 403: "无权访问", 404: "未找到", 409: "无法办理", 422: "填写有误"}


class PageRoute(DubanRoute):
    """A DubanRoute (one transaction, the principal from the session) whose refusals are pages:
    no session or an expired one goes to the sign-in page; any other refusal is a page in words."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthorized:
                answer = RedirectResponse(f"{cookies.PREFIX}/login", status_code=303)
                answer.delete_cookie(cookies.SESSION, path=cookies.PREFIX)
                return answer
            except DomainError as e:
                return _error(request, e.status, e.detail)
            except RequestValidationError:
                return _error(request, 422, "请检查填写的内容后重试。")

        return page


def _error(request: Request, status: int, detail: str) -> HTMLResponse:
    title = TITLES.get(status, "出错了")
    return HTMLResponse(
        render("error.html", title=title, status=status, detail=detail, **_chrome(request)),
        status_code=status,
    )


office = APIRouter(prefix=cookies.PREFIX, route_class=PageRoute, include_in_schema=False)
Reader = Annotated[Principal, authorize(Action.PROJECTS_READ)]
Answerer = Annotated[Principal, authorize(Action.REPORTS_WRITE)]
FIRST = PageParams(page=1, page_size=50)


def _chrome(request: Request) -> dict[str, Any]:
    """What every page's frame shows: who is signed in, and the CSRF token of its forms."""
    principal = getattr(request.state, "principal", None)
    token = request.cookies.get(cookies.SESSION)
    csrf = cookies.csrf_for(request.app.state.settings, token) if token and principal else ""
    return {"principal": principal, "csrf": csrf}


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **_chrome(request), **context))


def _check_csrf(request: Request, given: str) -> None:
    token = request.cookies.get(cookies.SESSION, "")
    if not cookies.same(given, cookies.csrf_for(request.app.state.settings, token)):
        raise Forbidden("表单已过期或来源不明，请刷新页面后重新提交。")


@office.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    token = cookies.fresh_token()
    answer = _page(request, "login.html", login_csrf=token, error=None)
    answer.set_cookie(
        cookies.PRE_CSRF,
        token,
        httponly=True,
        samesite="strict",
        path=cookies.PREFIX,
        secure=request.url.scheme == "https",
    )
    return answer


@office.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    if not cookies.same(csrf, request.cookies.get(cookies.PRE_CSRF)):
        raise Forbidden("登录表单已过期，请刷新页面后重新登录。")
    try:
        token, lifetime = await sign_in(request, session, username, password)
    except Unauthorized:
        fresh = cookies.fresh_token()
        refused = _page(request, "login.html", login_csrf=fresh, error="用户名或密码错误。")
        refused.status_code = 401
        refused.set_cookie(cookies.PRE_CSRF, fresh, httponly=True, samesite="strict", path=cookies.PREFIX)
        return refused
    answer = RedirectResponse(f"{cookies.PREFIX}/", status_code=303)
    answer.set_cookie(
        cookies.SESSION,
        token,
        max_age=lifetime,
        httponly=True,
        samesite="strict",
        path=cookies.PREFIX,
        secure=request.url.scheme == "https",
    )
    answer.delete_cookie(cookies.PRE_CSRF, path=cookies.PREFIX)
    return answer


@office.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    _check_csrf(request, csrf)
    answer = RedirectResponse(f"{cookies.PREFIX}/login", status_code=303)
    answer.delete_cookie(cookies.SESSION, path=cookies.PREFIX)
    return answer


@office.get("/", response_class=HTMLResponse)
async def home(request: Request, session: SessionDep, principal: Reader) -> HTMLResponse:
    """The programs the signed-in person can see."""
    rows, _ = await programs.list_programs(session, principal=principal, page=FIRST, year=None, q=None)
    return _page(request, "home.html", programs=rows)


@office.get("/programs/{program_id:uuid}", response_class=HTMLResponse)
async def overview(
    request: Request, session: SessionDep, principal: Reader, program: ProgramDep
) -> HTMLResponse:
    """The program overview: lights, investment against 序时进度 by category, overdue items and
    notices by rung — of the projects and units in the reader's sight."""
    now = clock.now()
    sight = condition(Project, principal)
    summary = await lights.summary(session, program, now, where=sight)
    overdue = await reports.list_dues(
        session,
        program=program,
        principal=principal,
        as_of=now,
        page=PageParams(page=1, page_size=20),
        filters=dues.DueFilters(state="overdue"),
    )
    standing = await notices.standing_by_kind(session, principal=principal, program_id=program.id)
    schedule = float(summary.basis.schedule_percent)
    chart = charts.bars_against(
        "本年完成投资占年度计划（按分类）",
        [c for c, _, _ in summary.by_category],
        [float(done * 100 / plan) if plan else 0.0 for _, done, plan in summary.by_category],
        schedule,
        "序时进度",
    )
    by_kind = [(word(NoticeKind, k), standing.get(k.value, 0)) for k in lights.LADDER]
    return _page(
        request,
        "overview.html",
        program=program,
        summary=summary,
        worst=summary.worst,
        overdue=overdue,
        chart=chart,
        lights_chart=charts.lights(summary.counts),
        by_kind=by_kind,
        schedule=schedule,
    )


@office.get("/projects/{project_id:uuid}", response_class=HTMLResponse)
async def project_page(
    request: Request, session: SessionDep, principal: Reader, project_id: UUID
) -> HTMLResponse:
    """A project: its lights, milestones, reports, notices and problems."""
    try:
        project = await get_visible(session, Project, project_id, principal, "project")
    except NotFound:
        raise Forbidden("该项目不在您单位的管辖范围内，无权查看。") from None
    program = await session.get_one(Program, project.program_id)
    found = await lights.compute(session, program, clock.now(), where=col(Project.id) == project.id)
    history, _ = await reports.project_report_history(session, project=project, period=None, page=FIRST)
    listed, _ = await notices.list_notices(
        session, principal=principal, page=FIRST, subject_type="project", subject_id=project.id
    )
    open_problems, _ = await problems.list_problems(
        session, principal=principal, page=FIRST, project_id=project.id
    )
    return _page(
        request,
        "project.html",
        project=project,
        program=program,
        light=found[0] if found else None,
        milestones=await projects.milestones_of(session, project.id),
        reports=[r for r, _ in history],
        notices=listed,
        problems=open_problems,
        today=clock.today(),
    )


async def _inbox(session: SessionDep, principal: Principal) -> list[Any]:
    rows, _ = await notices.list_notices(
        session, principal=principal, page=FIRST, recipient_unit_id=principal.unit_id
    )
    return rows


@office.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, session: SessionDep, principal: Reader) -> HTMLResponse:
    """The notices to the signed-in person's unit, with the feedback form on those waiting on it."""
    return _page(request, "inbox.html", notices=await _inbox(session, principal), waiting=WAITING, done=None)


@office.post("/notices/{notice_id:uuid}/feedback", response_class=HTMLResponse)
async def feedback(
    request: Request,
    session: SessionDep,
    principal: Answerer,
    notice: NoticeDep,
    text: Annotated[str, Form(min_length=1, max_length=5000)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """The unit's written feedback, through the notices service as the API's POST …/feedback."""
    _check_csrf(request, csrf)
    await notices.record(session, notice=notice, action=NoticeAction.FEEDBACK, principal=principal, text=text)
    if request.headers.get("hx-request"):
        return _page(request, "_sent.html", notice=notice)
    return RedirectResponse(f"{cookies.PREFIX}/inbox", status_code=303)


@office.get("/programs/{program_id:uuid}/bulletins", response_class=HTMLResponse)
async def bulletins(
    request: Request, session: SessionDep, principal: Reader, program: ProgramDep
) -> HTMLResponse:
    """The program's months, with the published versions and the downloads of each."""
    published = await bulletins_service.published(session, program.id)
    last = min(
        12, max(0, lights.month_index(clock.today()) - lights.month_index(date(program.year, 1, 1)) + 1)
    )
    months = [f"{program.year}-{m:02d}" for m in range(1, last + 1)]
    office_holds = await holds(session, Program, program.id, principal)
    return _page(
        request, "bulletins.html", program=program, months=months, published=published, office=office_holds
    )


@office.get("/programs/{program_id:uuid}/bulletins/{month}.{form}")
async def bulletin_file(
    request: Request,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    month: str,
    form: str,
    version: int | None = None,
) -> Response:
    """A bulletin's page or download, as the API serves it."""
    if form not in ("html", "xlsx", "docx"):
        raise NotFound(tr("There is no such page."))
    return await outputs.monthly(
        session, program=program, principal=principal, month=month, form=form, version=version
    )
