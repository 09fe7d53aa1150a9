"""The access table: principal × endpoint × own/other unit → status.

Every endpoint joins this table. "own" is a unit inside the principal's subtree, "other" one
outside it. Outside the subtree a record does not exist for you (404, or 422 for a reference
in a body): existence never leaks. A missing permission is 403 wherever the unit is.
"""

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.world import World

PRINCIPALS = [
    "p_admin",
    "p_staff",
    "p_auditor",
    "a_reporter",
    "a_leader",
    "a_inspector",
    "b_admin",
    "q_admin",
    "a_client",
    "anonymous",
]
# (own unit, other unit) for each principal
TARGETS = {
    "p_admin": ("A", "QC"),
    "p_staff": ("A", "QC"),
    "p_auditor": ("A", "QC"),
    "a_reporter": ("A", "B"),
    "a_leader": ("A", "B"),
    "a_inspector": ("A", "B"),
    "a_client": ("A", "B"),
    "b_admin": ("B", "A"),
    "q_admin": ("QC", "A"),
    "anonymous": ("A", "B"),
}
USER_IN = {"A": "a_reporter", "B": "b_admin", "QC": "q_admin"}
PROGRAM_OF = {"A": "P", "B": "P", "QC": "Q"}  # programs are shared down their office's tree
CLIENT_IN = {"A": "A", "B": "B", "QC": "Q"}

Request = Callable[[World, str], tuple[str, str, dict[str, Any] | None, dict[str, str]]]


def row(**statuses: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Expected (own, other) per principal; principals not named get `rest`."""
    rest = statuses.pop("rest")
    return {p: statuses.get(p, rest) for p in PRINCIPALS}


WRITERS = {p: (201, 422) for p in ("p_admin", "p_staff", "b_admin", "q_admin")}
ADMINS_CREATE = {p: (201, 422) for p in ("p_admin", "b_admin", "q_admin")}
USER_READERS = {p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "b_admin", "q_admin")}
# A program is seen from its office's tree: the province sees its own, a county its province's.
PROGRAM_READ = row(
    p_admin=(200, 404),
    p_staff=(200, 404),
    p_auditor=(200, 404),
    q_admin=(200, 404),
    anonymous=(401, 401),
    rest=(200, 200),
)
# Changing a program (or its tasks) takes holding the program's office in your own subtree.
PROGRAM_OWNERS = {"p_admin": (200, 404), "p_staff": (200, 404), "b_admin": (403, 403), "q_admin": (200, 404)}
PROJECT_READ = row(anonymous=(401, 401), rest=(200, 404))
PROJECT_ENTRY = {p: (409, 404) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")}
REVIEWERS = {"p_admin": (200, 404), "p_staff": (200, 404), "b_admin": (403, 404), "q_admin": (200, 404)}


def program(w: World, u: str) -> str:
    return str(w.programs[PROGRAM_OF[u]].id)


def project(w: World, u: str) -> str:
    return str(w.projects[u].id)


def new_project(w: World, u: str) -> dict[str, Any]:
    unit = str(w.units[u].id)
    return {
        "program_id": program(w, u),
        "code": f"N-{uuid.uuid4().hex[:8]}",
        "name": "新项目",
        "category": "公共服务",
        "region_unit_id": unit,
        "owner_unit_id": unit,
        "responsible_unit_id": unit,
        "leader": {"name": "李四", "title": "县长"},
        "construction": "new",
        "stage": "planning",
        "total_investment": "100",
        "annual_plan": "50",
        "start_date": "2018-03-01",
        "end_date": "2018-12-31",
    }


IMPORT_HEADER = (
    "项目编号,项目名称,所属类别,所属区域,业主单位,责任单位,责任领导,领导职务,建设性质,建设阶段,"
    "总投资(万元),年度计划投资(万元),开工日期,竣工日期"
)


REPORT_HEADER = "项目编号,期次,本月完成投资(万元),形象进度(%)\n"
UNIT_REPORT_HEADER = "单位编码,报告类型,期次,报告内容\n"


def import_file(w: World, unit: str) -> bytes:
    """One valid project of the caller's own unit: an allowed import is a 200."""
    code = w.units[unit].code
    units = ",".join([code] * 3)
    row = f"ACC-1,县道改造,现代基础设施,{units},张三,副县长,新建,在建,1000,600,2018-03-01,2019-12-31"
    return f"{IMPORT_HEADER}\n{row}\n".encode()


TABLE: dict[str, tuple[Request, dict[str, tuple[int, int]]]] = {
    "GET /me": (lambda w, u: ("GET", "/api/v1/me", None, {}), row(anonymous=(401, 401), rest=(200, 200))),
    "GET /units/{id}": (
        lambda w, u: ("GET", f"/api/v1/units/{w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "GET /units/{id}/liaison-history": (
        lambda w, u: ("GET", f"/api/v1/units/{w.units[u].id}/liaison-history", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "GET /units": (
        lambda w, u: ("GET", f"/api/v1/units?parent_id={w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "POST /units": (
        lambda w, u: (
            "POST",
            "/api/v1/units",
            {
                "code": f"N-{uuid.uuid4().hex[:8]}",
                "name": "新单位",
                "kind": "department",
                "parent_id": str(w.units[u].id),
            },
            {},
        ),
        row(**WRITERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "PATCH /units/{id}": (
        lambda w, u: ("PATCH", f"/api/v1/units/{w.units[u].id}", {"name": "改名"}, {"If-Match": "1"}),
        row(**{p: (200, 404) for p in WRITERS}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /users": (
        lambda w, u: (
            "POST",
            "/api/v1/users",
            {
                "username": f"u{uuid.uuid4().hex[:8]}",
                "password": "Qwerty12345",
                "display_name": "新用户",
                "unit_id": str(w.units[u].id),
                "roles": ["reporter"],
            },
            {},
        ),
        row(**ADMINS_CREATE, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /users": (
        lambda w, u: ("GET", "/api/v1/users", None, {}),
        row(**{p: (200, 200) for p in USER_READERS}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /users/{id}": (
        lambda w, u: ("GET", f"/api/v1/users/{w.users[USER_IN[u]].id}", None, {}),
        row(**USER_READERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "PATCH /users/{id}": (
        lambda w, u: (
            "PATCH",
            f"/api/v1/users/{w.users[USER_IN[u]].id}",
            {"display_name": "改名"},
            {"If-Match": "1"},
        ),
        row(
            **{p: (200, 404) for p in ("p_admin", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /users/{id}/reset-password": (
        lambda w, u: ("POST", f"/api/v1/users/{w.users[USER_IN[u]].id}/reset-password", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # A wrong current password: 422 shows a person got past the rights; a system client has none.
    "POST /auth/password": (
        lambda w, u: (
            "POST",
            "/api/v1/auth/password",
            {"current_password": "wrong", "new_password": "Qwerty12345"},
            {},
        ),
        row(a_client=(403, 403), anonymous=(401, 401), rest=(422, 422)),
    ),
    "POST /clients": (
        lambda w, u: (
            "POST",
            "/api/v1/clients",
            {"name": "银行", "unit_id": str(w.units[u].id), "scopes": ["units:read"]},
            {},
        ),
        row(**ADMINS_CREATE, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /clients": (
        lambda w, u: ("GET", "/api/v1/clients", None, {}),
        row(**{p: (200, 200) for p in ADMINS_CREATE}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /clients/{id}/rotate-secret": (
        lambda w, u: ("POST", f"/api/v1/clients/{w.clients[CLIENT_IN[u]].id}/rotate-secret", None, {}),
        row(**{p: (200, 404) for p in ADMINS_CREATE}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /audit": (
        lambda w, u: ("GET", "/api/v1/audit?entity=unit", None, {}),
        row(
            p_admin=(200, 200),
            p_auditor=(200, 200),
            b_admin=(200, 200),
            q_admin=(200, 200),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /programs": (
        lambda w, u: (
            "POST",
            "/api/v1/programs",
            {
                "code": f"G-{uuid.uuid4().hex[:8]}",
                "name": "计划",
                "year": 2018,
                "office_unit_id": str(w.units[u].id),
            },
            {},
        ),
        row(**WRITERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /programs": (
        lambda w, u: ("GET", "/api/v1/programs", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /programs/{id}": (lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}", None, {}), PROGRAM_READ),
    "PATCH /programs/{id}": (
        lambda w, u: ("PATCH", f"/api/v1/programs/{program(w, u)}", {"name": "改名"}, {"If-Match": "1"}),
        row(**PROGRAM_OWNERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    # No annual assessment yet: 409 shows the caller got past the rights.
    "POST /programs/{id}/close": (
        lambda w, u: ("POST", f"/api/v1/programs/{program(w, u)}/close", {}, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # Into the same year: 422 shows the caller got past the rights.
    "POST /programs/{id}/carry-over": (
        lambda w, u: (
            "POST",
            f"/api/v1/programs/{program(w, u)}/carry-over",
            {"to_program_id": program(w, u)},
            {},
        ),
        row(
            **{p: (422, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /programs/{id}/tasks": (
        lambda w, u: (
            "POST",
            f"/api/v1/programs/{program(w, u)}/tasks",
            {"number": "9", "title": "新任务", "responsible_unit_ids": [str(w.units[u].id)]},
            {},
        ),
        row(
            p_admin=(201, 404),
            p_staff=(201, 404),
            b_admin=(403, 403),
            q_admin=(201, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /programs/{id}/tasks": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/tasks", None, {}),
        PROGRAM_READ,
    ),
    "GET /tasks/{id}": (
        lambda w, u: ("GET", f"/api/v1/tasks/{w.tasks[PROGRAM_OF[u]].id}", None, {}),
        # Program P's task names only county A: county B does not see it (nor report on it).
        {**PROGRAM_READ, "b_admin": (404, 404)},
    ),
    "POST /tasks/{id}/indicator-values": (
        lambda w, u: (
            "POST",
            f"/api/v1/tasks/{w.tasks[PROGRAM_OF[u]].id}/indicator-values",
            {"indicator": "路网密度", "value": "5.2", "as_of": "2018-06-30"},
            {},
        ),
        # Reported by the program's office or one of the task's units (A's reporter is one).
        row(
            p_admin=(201, 404),
            p_staff=(201, 404),
            a_reporter=(201, 201),
            b_admin=(404, 404),
            q_admin=(201, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /projects": (
        lambda w, u: ("POST", "/api/v1/projects", new_project(w, u), {}),
        row(
            **{p: (201, 422) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /projects": (
        lambda w, u: ("GET", f"/api/v1/projects?region_unit_id={w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /projects/{id}": (lambda w, u: ("GET", f"/api/v1/projects/{project(w, u)}", None, {}), PROJECT_READ),
    "PATCH /projects/{id}": (
        # The world's projects are under review: a principal allowed to edit gets 409, not 403/404.
        lambda w, u: ("PATCH", f"/api/v1/projects/{project(w, u)}", {"name": "改"}, {"If-Match": "1"}),
        row(**PROJECT_ENTRY, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /projects/{id}/submit": (
        lambda w, u: ("POST", f"/api/v1/projects/{project(w, u)}/submit", None, {}),
        row(**PROJECT_ENTRY, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /projects/{id}/approve": (
        lambda w, u: ("POST", f"/api/v1/projects/{project(w, u)}/approve", None, {}),
        row(**REVIEWERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /projects/{id}/return": (
        lambda w, u: ("POST", f"/api/v1/projects/{project(w, u)}/return", {"reason": "补充材料"}, {}),
        row(**REVIEWERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /projects/{id}/withdraw": (
        # Only approved projects can be withdrawn: an allowed reviewer meets 409.
        lambda w, u: ("POST", f"/api/v1/projects/{project(w, u)}/withdraw", {"reason": "无法推进"}, {}),
        row(
            **{k: (409, 404) if v[0] == 200 else v for k, v in REVIEWERS.items()},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /projects/template.xlsx": (
        lambda w, u: ("GET", "/api/v1/projects/template.xlsx", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /projects/export.xlsx": (
        lambda w, u: ("GET", f"/api/v1/projects/export.xlsx?region_unit_id={w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    # A sheet with the headers and no rows: whoever may file gets past the rights to its 422.
    "POST /reports/import": (
        lambda w, u: (
            "POST",
            "/api/v1/reports/import",
            ("multipart", {"program_id": program(w, u)}, "report"),
            {},
        ),
        row(
            **{p: (422, 422) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /reports/unit-import": (
        lambda w, u: ("POST", "/api/v1/reports/unit-import", ("multipart", {}, "unit-report"), {}),
        row(
            **{p: (422, 422) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /reports/unit-template.xlsx": (
        lambda w, u: ("GET", "/api/v1/reports/unit-template.xlsx", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /reports/template.xlsx": (
        lambda w, u: ("GET", "/api/v1/reports/template.xlsx", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "POST /projects/import": (
        lambda w, u: ("POST", "/api/v1/projects/import", ("multipart", {"program_id": program(w, u)}), {}),
        row(
            p_admin=(200, 422),
            p_staff=(200, 422),
            a_reporter=(200, 200),
            b_admin=(200, 200),
            q_admin=(200, 422),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /programs/{id}/adjustments": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/adjustments", None, {}),
        PROGRAM_READ,
    ),
    "GET /programs/{id}/oc4ids": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/oc4ids", None, {}),
        PROGRAM_READ,
    ),
    "GET /programs/{id}/lights": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/lights", None, {}),
        PROGRAM_READ,
    ),
    # Drafts are the office's; the others read published versions, and none is published yet: 404.
    "GET /programs/{id}/bulletins/{id}": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/bulletins/2018-09", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(404, 404),
        ),
    ),
    # Drafts are the office's; the others read published versions, and none is published yet: 404.
    "GET /programs/{id}/bulletins/{id}.xlsx": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/bulletins/2018-09.xlsx", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(404, 404),
        ),
    ),
    # Drafts are the office's; the others read published versions, and none is published yet: 404.
    "GET /programs/{id}/bulletins/{id}.docx": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/bulletins/2018-09.docx", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(404, 404),
        ),
    ),
    # Drafts are the office's; the others read published versions, and none is published yet: 404.
    "GET /programs/{id}/bulletins/{id}.html": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/bulletins/2018-09.html", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(404, 404),
        ),
    ),
    "POST /programs/{id}/bulletins/{id}/publish": (
        lambda w, u: ("POST", f"/api/v1/programs/{program(w, u)}/bulletins/2018-09/publish", None, {}),
        row(
            **{p: (201, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # The upload is not a Word template: 422 shows the caller got past the rights.
    "PUT /programs/{id}/bulletin-template": (
        lambda w, u: ("PUT", f"/api/v1/programs/{program(w, u)}/bulletin-template", ("multipart", {}), {}),
        row(
            **{p: (422, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # The world's rounds are drafts: no bulletin before publication (409).
    "GET /rounds/{id}/bulletin": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/bulletin", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    # The world's rounds are drafts: no bulletin before publication (409).
    "GET /rounds/{id}/bulletin.xlsx": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/bulletin.xlsx", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    # The world's rounds are drafts: no bulletin before publication (409).
    "GET /rounds/{id}/bulletin.docx": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/bulletin.docx", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    # The world's rounds are drafts: no bulletin before publication (409).
    "GET /rounds/{id}/bulletin.html": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/bulletin.html", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    "GET /public/programs/{id}/projects": (
        lambda w, u: ("GET", f"/api/v1/public/programs/{program(w, u)}/projects", None, {}),
        row(rest=(200, 200)),
    ),
    "POST /webhooks": (
        lambda w, u: (
            "POST",
            "/api/v1/webhooks",
            {"url": "https://bank.example.cn/hook", "events": ["project.approved"], "secret": "x" * 20},
            {},
        ),
        row(
            p_admin=(201, 201), b_admin=(201, 201), q_admin=(201, 201), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "GET /webhooks": (
        lambda w, u: ("GET", "/api/v1/webhooks", None, {}),
        row(
            p_admin=(200, 200), b_admin=(200, 200), q_admin=(200, 200), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "GET /webhooks/{id}/deliveries": (
        lambda w, u: ("GET", f"/api/v1/webhooks/{w.webhooks[u].id}/deliveries", None, {}),
        row(
            p_admin=(200, 404), b_admin=(200, 404), q_admin=(200, 404), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "PUT /calendar/{id}": (
        lambda w, u: ("PUT", "/api/v1/calendar/2030", {"holidays": ["2030-01-01"], "workdays": []}, {}),
        row(
            p_admin=(200, 200), b_admin=(200, 200), q_admin=(200, 200), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "GET /calendar/{id}": (
        lambda w, u: ("GET", "/api/v1/calendar/2018", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /calendar/add-working-days": (
        lambda w, u: ("GET", "/api/v1/calendar/add-working-days?start=2018-09-28&days=2", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "POST /projects/{id}/reports": (
        # The world's projects are under review, not in the library: an allowed filer meets 409.
        lambda w, u: (
            "POST",
            f"/api/v1/projects/{project(w, u)}/reports",
            {"period": "2018-05", "investment_month": "1", "progress_percent": "5"},
            {},
        ),
        row(**PROJECT_ENTRY, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /projects/{id}/reports": (
        lambda w, u: ("GET", f"/api/v1/projects/{project(w, u)}/reports", None, {}),
        PROJECT_READ,
    ),
    "GET /projects/{id}/indicators": (
        lambda w, u: ("GET", f"/api/v1/projects/{project(w, u)}/indicators?as_of=2018-06-30", None, {}),
        PROJECT_READ,
    ),
    "POST /units/{id}/reports": (
        lambda w, u: (
            "POST",
            f"/api/v1/units/{w.units[u].id}/reports",
            {"kind": "weekly", "period": "2018-W39", "body": "上周工作动态"},
            {},
        ),
        row(
            **{p: (201, 404) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /units/{id}/reports": (
        lambda w, u: ("GET", f"/api/v1/units/{w.units[u].id}/reports", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "GET /reports/dues": (
        lambda w, u: ("GET", f"/api/v1/reports/dues?program_id={program(w, u)}&as_of=2018-10-09", None, {}),
        PROGRAM_READ,
    ),
    "GET /reports/dues.xlsx": (
        lambda w, u: (
            "GET",
            f"/api/v1/reports/dues.xlsx?program_id={program(w, u)}&as_of=2018-10-09",
            None,
            {},
        ),
        PROGRAM_READ,
    ),
    "GET /problems": (
        lambda w, u: ("GET", f"/api/v1/problems?program_id={program(w, u)}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /notices": (
        lambda w, u: ("GET", f"/api/v1/notices?program_id={program(w, u)}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    # The office's own notice to the target's county under its program: 202 for those holding the
    # program, 404 for a program they cannot see; a county office is refused (403).
    "POST /notices": (
        lambda w, u: (
            "POST",
            "/api/v1/notices",
            {
                "program_id": program(w, u),
                "kind": "urging",
                "recipient_unit_id": str(w.units[u].id),
                "subject": {"type": "instruction"},
                "requirements": "限期解决",
                "due_in_working_days": 5,
            },
            {},
        ),
        row(
            **{p: (202, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /notices/{id}": (
        lambda w, u: ("GET", f"/api/v1/notices/{w.notices[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "POST /notices/{id}/feedback": (
        lambda w, u: ("POST", f"/api/v1/notices/{w.notices[u].id}/feedback", {"text": "已报送"}, {}),
        row(
            **{p: (202, 404) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # No feedback yet to accept: 409 shows the caller got past the rights.
    "POST /notices/{id}/accept": (
        lambda w, u: ("POST", f"/api/v1/notices/{w.notices[u].id}/accept", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # The world's notices were due in 2018: an explanation now is 409 past the rights.
    "POST /notices/{id}/explanation": (
        lambda w, u: (
            "POST",
            f"/api/v1/notices/{w.notices[u].id}/explanation",
            {"reason": "资金未到位", "proposed_due_date": "2018-09-30"},
            {},
        ),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # Nothing to reject yet: 409 shows the caller got past the rights.
    "POST /notices/{id}/reject": (
        lambda w, u: ("POST", f"/api/v1/notices/{w.notices[u].id}/reject", {"reason": "不充分"}, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # Withdrawing is recorded at once (the notifier applies it): 202 for the program's office.
    "POST /notices/{id}/withdraw": (
        lambda w, u: ("POST", f"/api/v1/notices/{w.notices[u].id}/withdraw", {"reason": "发错单位"}, {}),
        row(
            **{p: (202, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /digests": (
        lambda w, u: ("GET", f"/api/v1/digests?unit_id={w.units[u].id}", None, {}),
        row(
            **{p: (200, 200) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /deliveries": (
        lambda w, u: ("GET", f"/api/v1/deliveries?unit_id={w.units[u].id}&state=failed", None, {}),
        row(
            **{p: (200, 200) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /rounds": (
        lambda w, u: ("GET", f"/api/v1/rounds?program_id={program(w, u)}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    # The target's project is not approved yet: 422 shows the caller got past the rights.
    "POST /rounds": (
        lambda w, u: (
            "POST",
            "/api/v1/rounds",
            {
                "program_id": program(w, u),
                "name": "第四季度观摩",
                "quarter": "2018Q4",
                "opens_at": "2018-12-10T08:00:00+08:00",
                "closes_at": "2018-12-14T18:00:00+08:00",
                "rubric": [{"key": "progress", "name": "形象进度", "weight": "1", "max_score": "100"}],
                "project_ids": [project(w, u)],
                "inspector_user_ids": [str(w.users["a_inspector"].id)],
            },
            {},
        ),
        row(
            **{p: (422, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /rounds/{id}": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}", None, {}),
        PROGRAM_READ,
    ),
    "POST /rounds/{id}/open": (
        lambda w, u: ("POST", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/open", None, {}),
        row(**PROGRAM_OWNERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    # A draft round cannot close: 409 shows the caller got past the rights.
    "POST /rounds/{id}/close": (
        lambda w, u: ("POST", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/close", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # Only the round's inspectors score; its draft state (409) shows one got past the rights.
    "POST /rounds/{id}/scores": (
        lambda w, u: (
            "POST",
            f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/scores",
            {
                "scores": [
                    {
                        "client_id": str(uuid.uuid4()),
                        "project_id": project(w, u),
                        "criterion": "progress",
                        "value": 80,
                        "scored_at": "2018-09-11T10:00:00+08:00",
                    }
                ]
            },
            {},
        ),
        row(
            **{p: (403, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            a_inspector=(409, 409),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # The world's rounds are drafts: 409 shows the office got past the rights.
    "POST /rounds/{id}/sheets": (
        lambda w, u: (
            "POST",
            f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/sheets",
            {
                "sheet_id": str(uuid.uuid4()),
                "inspector_user_id": str(w.users["a_inspector"].id),
                "scored_at": "2018-09-11T10:00:00+08:00",
                "lines": [{"project_id": project(w, u), "criterion": "progress", "value": 80}],
            },
            {},
        ),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /rounds/{id}/assignments": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/assignments", None, {}),
        row(
            **{p: (403, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            a_inspector=(200, 200),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    # The world's rounds are drafts: 409 (no results before the close) shows one got past the rights.
    "GET /rounds/{id}/results": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/results", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    "GET /rounds/{id}/results/{id}/explain": (
        lambda w, u: (
            "GET",
            f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/results/{project(w, u)}/explain",
            None,
            {},
        ),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    "POST /rounds/{id}/publish": (
        lambda w, u: (
            "POST",
            f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/publish",
            {"snapshot_version": 1},
            {},
        ),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /programs/{id}/assessment": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/assessment?year=2018", None, {}),
        PROGRAM_READ,
    ),
    # Nothing published to assess yet: 409 shows the caller got past the rights.
    "POST /programs/{id}/assessment/publish": (
        lambda w, u: ("POST", f"/api/v1/programs/{program(w, u)}/assessment/publish", {"year": 2018}, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /rounds/{id}/results.xlsx": (
        lambda w, u: ("GET", f"/api/v1/rounds/{w.rounds[PROGRAM_OF[u]].id}/results.xlsx", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "p_auditor", "q_admin")},
            anonymous=(401, 401),
            rest=(409, 409),
        ),
    ),
    "GET /programs/{id}/assessment.xlsx": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/assessment.xlsx?year=2018", None, {}),
        PROGRAM_READ,
    ),
    # The target's own unit evaluated at year end: 200 for the program's office, 422 for a unit it cannot see.
    "PUT /programs/{id}/assessment/year-end": (
        lambda w, u: (
            "PUT",
            f"/api/v1/programs/{program(w, u)}/assessment/year-end",
            {"year": 2018, "scores": [{"unit_id": str(w.units[u].id), "score": 80}]},
            {},
        ),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /problems/summary": (
        lambda w, u: ("GET", f"/api/v1/problems/summary?program_id={program(w, u)}", None, {}),
        PROGRAM_READ,
    ),
    "GET /problems/{id}": (
        lambda w, u: ("GET", f"/api/v1/problems/{w.problems[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    # An open problem has no claimed resolution to review: 409 shows the caller got past the rights.
    "POST /problems/{id}/confirm": (
        lambda w, u: ("POST", f"/api/v1/problems/{w.problems[u].id}/confirm", None, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /problems/{id}/return": (
        lambda w, u: ("POST", f"/api/v1/problems/{w.problems[u].id}/return", {"reason": "未完成"}, {}),
        row(
            **{p: (409, 404) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /problems/{id}/resolve": (
        lambda w, u: ("POST", f"/api/v1/problems/{w.problems[u].id}/resolve", {"resolution": "已解决"}, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "a_reporter", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /problems/{id}/refer": (
        lambda w, u: (
            "POST",
            f"/api/v1/problems/{w.problems[u].id}/refer",
            {"to_level": "leadership_meeting", "reason": "系统会未解决"},
            {},
        ),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /problems/{id}/escalate": (
        lambda w, u: (
            "POST",
            f"/api/v1/problems/{w.problems[u].id}/escalate",
            {"to_level": "leadership_meeting", "reason": "系统会未解决"},
            {},
        ),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "b_admin", "q_admin")},
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /pings": (
        lambda w, u: ("POST", "/api/v1/pings", {"targets": ["notifier"]}, {}),
        row(
            p_admin=(202, 202), b_admin=(202, 202), q_admin=(202, 202), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "GET /pings/{id}": (
        lambda w, u: ("GET", f"/api/v1/pings/{uuid.uuid4()}", None, {}),  # no such ping: 404 once allowed
        row(
            p_admin=(404, 404), b_admin=(404, 404), q_admin=(404, 404), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    # Standing supervision teams are the office's to set up; they are seen wherever their program is.
    "POST /teams": (
        lambda w, u: (
            "POST",
            "/api/v1/teams",
            {
                "program_id": program(w, u),
                "name": f"督查组 {uuid.uuid4().hex[:6]}",
                "leader_user_id": str(w.teams[u].leader_user_id),
            },
            {},
        ),
        row(
            **{p: (201, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /teams": (
        lambda w, u: ("GET", f"/api/v1/teams?program_id={program(w, u)}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "GET /teams/{id}": (lambda w, u: ("GET", f"/api/v1/teams/{w.teams[u].id}", None, {}), PROGRAM_READ),
    "PATCH /teams/{id}": (
        lambda w, u: ("PATCH", f"/api/v1/teams/{w.teams[u].id}", {"name": "改名"}, {"If-Match": "1"}),
        row(**PROGRAM_OWNERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /teams/{id}/cadence": (
        lambda w, u: ("GET", f"/api/v1/teams/{w.teams[u].id}/cadence?as_of=2018-10-08", None, {}),
        PROGRAM_READ,
    ),
    "GET /programs/{id}/supervision": (
        lambda w, u: ("GET", f"/api/v1/programs/{program(w, u)}/supervision?month=2018-09", None, {}),
        PROGRAM_READ,
    ),
    # A visit is recorded by its team (county A's inspector is on A's) or the program's office.
    "POST /visits": (
        lambda w, u: (
            "POST",
            "/api/v1/visits",
            {
                "team_id": str(w.teams[u].id),
                "kind": "on_site",
                "date": "2018-09-05",
                "project_ids": [project(w, u)],
            },
            {},
        ),
        row(
            **{p: (201, 404) for p in ("p_admin", "p_staff", "q_admin")},
            a_inspector=(201, 403),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /visits": (
        lambda w, u: ("GET", f"/api/v1/visits?program_id={program(w, u)}", None, {}),
        row(a_client=(403, 403), anonymous=(401, 401), rest=(200, 200)),
    ),
    # A visit is seen by the office, the team and the units it watches or a finding names: county
    # B does not see the visit to county A, though both take part in P.
    "GET /visits/{id}": (
        lambda w, u: ("GET", f"/api/v1/visits/{w.visits[u].id}", None, {}),
        row(a_client=(403, 403), anonymous=(401, 401), rest=(200, 404)),
    ),
    # A spreadsheet is not evidence: 415 shows the caller got past the rights.
    "POST /visits/{id}/files": (
        lambda w, u: ("POST", f"/api/v1/visits/{w.visits[u].id}/files", ("multipart", {}, "evidence"), {}),
        row(
            **{p: (415, 404) for p in ("p_admin", "p_staff", "a_inspector", "q_admin")},
            a_leader=(403, 404),
            b_admin=(403, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "GET /files/{id}": (
        lambda w, u: ("GET", f"/api/v1/files/{w.files[u].id}", None, {}),
        row(a_client=(403, 403), anonymous=(401, 401), rest=(200, 404)),
    ),
    "POST /findings/{id}/confirm": (
        lambda w, u: ("POST", f"/api/v1/findings/{w.findings[u].id}/confirm", None, {}),
        row(
            **{p: (200, 404) for p in ("p_admin", "p_staff", "q_admin")},
            b_admin=(403, 404),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
}

CASES = [
    pytest.param(endpoint, principal, side, id=f"{endpoint} | {principal} | {side}")
    for endpoint in TABLE
    for principal in PRINCIPALS
    for side in ("own", "other")
]


@pytest.mark.parametrize(("endpoint", "principal", "side"), CASES)
async def test_access(client: AsyncClient, world: World, endpoint: str, principal: str, side: str) -> None:
    build, expected = TABLE[endpoint]
    unit = TARGETS[principal][0 if side == "own" else 1]
    method, url, body, headers = build(world, unit)
    headers = {**headers, **world.auth(principal)}
    if isinstance(body, tuple):  # a multipart upload: (kind, form fields)
        sheets = {("report",): REPORT_HEADER.encode(), ("unit-report",): UNIT_REPORT_HEADER.encode()}
        content = sheets.get(body[2:]) or import_file(world, TARGETS[principal][0])
        files = {"file": ("upload.csv", content, "text/csv")}
        r = await client.request(method, url, data=body[1], files=files, headers=headers)
    else:
        r = await client.request(method, url, json=body, headers=headers)
    want = expected[principal][0 if side == "own" else 1]
    assert r.status_code == want, r.text
    if want >= 400:
        assert r.headers["content-type"] == "application/problem+json"


async def test_every_endpoint_is_in_the_access_table(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()["paths"]
    served = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in spec.items()
        if path.startswith("/api/v1")
        for method in operations
    }
    public = {"POST /auth/token"}
    assert served - public == set(TABLE), "every endpoint must join the access table"


async def test_a_county_does_not_read_another_countys_records_through_a_shared_program(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    """Program P is shared down to counties A and B. B's reporter, staff and system client list
    P's tasks and adjustments: they see neither A's task nor A's withdrawn project and its
    replacements; the province office sees both."""
    from shared.models import Adjustment

    session.add(
        Adjustment(
            program_id=world.programs["P"].id,
            withdrawn_project_id=world.projects["A"].id,
            replacement_project_ids=[world.projects["B"].id],
            reason="A 县多次督促仍无法推进",
            decided_by="test",
        )
    )
    await session.commit()
    program = world.programs["P"].id
    seen = {}
    for who in ("p_staff", "a_reporter", "b_admin"):
        tasks = (await client.get(f"/api/v1/programs/{program}/tasks", headers=world.auth(who))).json()
        moves = (await client.get(f"/api/v1/programs/{program}/adjustments", headers=world.auth(who))).json()
        seen[who] = (tasks["count"], moves["count"])
    assert seen == {"p_staff": (1, 1), "a_reporter": (1, 1), "b_admin": (0, 0)}
