"""Reports from a spreadsheet — project monthly reports, and unit weekly and monthly reports: how
an office moving off spreadsheets enters the months before it started with Duban (报送时间 keeps
each report's original filing time).

Each row is filed exactly as `POST /projects/{id}/reports` files it (the same service, the same
checks); any error in any row files nothing and lists them all by row and column.
"""

import asyncio
import io
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.permissions import Action, can
from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.projects import excel
from services.api.projects.schemas import ImportError_, ImportResult
from services.api.reports import service
from services.api.reports.schemas import ProjectReportIn, UnitReportIn
from services.api.workbooks import bold_header, print_ready
from shared.clock import OFFICE_TZ
from shared.errors import DomainError, ValidationFailed
from shared.i18n import label, pydantic_message, tr
from shared.models import Program, Project, Unit

# The columns are the filing's fields, headed by their labels (what a 422 in Chinese names).
CODE = "项目编号"
PERIOD, INVESTMENT, PROGRESS, FILED_AT, NOTE = (
    label(field, "zh_CN") for field in ("period", "investment_month", "progress_percent", "filed_at", "note")
)

HEADERS = [CODE, PERIOD, INVESTMENT, PROGRESS, FILED_AT, NOTE]
REQUIRED = [CODE, PERIOD, INVESTMENT, PROGRESS]
# A body field's error is shown at its column.
COLUMN_OF = {
    "period": PERIOD,
    "investment_month": INVESTMENT,
    "progress_percent": PROGRESS,
    "filed_at": FILED_AT,
    "note": NOTE,
}
FILED_AT_NOTE = (
    "仅限督查室工作人员补录纸质报表时填写原报送时间（北京时间），"
    "如 2018-03-20 10:00 或 2018-03-20；留空则按现在报送"
)
NOTES = [
    (CODE, "项目库中本计划项目的项目编号"),
    (PERIOD, "报告月份，格式 YYYY-MM，如 2018-03"),
    (INVESTMENT, "当月完成投资（万元），数字，如 120.5"),
    (PROGRESS, "形象进度百分比，0 至 100"),
    (FILED_AT, FILED_AT_NOTE),
    (NOTE, "选填"),
]


def template() -> bytes:
    """The project report import template: the headers, and a notes sheet (填写说明)."""
    return _template("项目月报", HEADERS, NOTES)


def _template(title: str, headers: list[str], notes: list[tuple[str, str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    print_ready(ws, [max(12, 2 * len(h) + 4) for h in headers], header_row=1)
    ws.append(bold_header(ws, headers))
    sheet = wb.create_sheet("填写说明")
    print_ready(sheet, [20, 70], header_row=1, landscape=False)
    sheet.append(bold_header(sheet, ["列", "填写说明"]))
    for header, note in notes:
        sheet.append([header, note])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _period(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m}"
    text = _text(value).replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    return f"{m.group(1)}-{int(m.group(2)):02d}" if m else text


def _number(value: Any, header: str) -> Decimal:
    try:
        return Decimal(_text(value))
    except InvalidOperation:
        raise ValueError(tr("{column}: expected a number, such as 120.5", column=header)) from None


def _filed_at(value: Any) -> datetime | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(12))
    else:
        try:
            moment = datetime.fromisoformat(_text(value).replace("/", "-"))
        except ValueError:
            raise ValueError(tr("expected a date and time, such as 2018-03-20 10:00")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=OFFICE_TZ)  # China's time unless said


def _located(exc: ValidationFailed) -> list[tuple[str | None, str]]:
    """(column, message) for each field a filing refused."""
    out: list[tuple[str | None, str]] = []
    for e in exc.errors or []:
        loc = [str(part) for part in e.get("loc", [])]
        field = loc[1] if len(loc) > 1 and loc[0] == "body" else (loc[0] if loc else "")
        out.append((COLUMN_OF.get(field), str(e.get("msg", ""))))
    return out or [(None, exc.detail)]


async def _import(
    session: AsyncSession,
    *,
    filename: str,
    content: bytes,
    required: list[str],
    headers_known: list[str],
    file_row: Callable[[int, dict[str, Any]], Awaitable[list[ImportError_]]],
    dry_run: bool,
) -> ImportResult:
    """File each row with `file_row` (its errors, none when it was filed), all in one savepoint:
    an error anywhere, or a dry run, takes every row back."""
    # parsed in a thread: one upload never holds up the other requests on the event loop
    headers, rows = await asyncio.to_thread(excel.read_rows, filename, content)
    if faults := excel.header_faults(headers, required, set(headers_known)):
        wrong = [ImportError_(row=1, column=c, message=m) for c, m in faults]
        return ImportResult(created=0, dry_run=dry_run, errors=wrong)
    if not rows:
        empty = [ImportError_(row=2, column=None, message=tr("the sheet holds no reports"))]
        return ImportResult(created=0, dry_run=dry_run, errors=empty)
    errors: list[ImportError_] = []
    filed = 0
    savepoint = await session.begin_nested()
    for number, cells in rows:
        faults_of_row = await file_row(number, dict(zip(headers, cells, strict=False)))
        errors += faults_of_row
        filed += not faults_of_row
    if errors or dry_run:
        await savepoint.rollback()
        return ImportResult(created=0 if errors else filed, dry_run=dry_run, errors=errors)
    await savepoint.commit()
    return ImportResult(created=filed, dry_run=False, errors=[])


def _when(
    number: int, cell: dict[str, Any], may_backdate: bool
) -> tuple[datetime | None, list[ImportError_]]:
    """A row's original filing time (报送时间), and why it cannot be taken."""
    try:
        moment = _filed_at(cell.get(FILED_AT))
    except ValueError as exc:
        return None, [ImportError_(row=number, column=FILED_AT, message=str(exc))]
    if moment is not None and not may_backdate:
        message = tr("only the office gives a report's original filing time")
        return None, [ImportError_(row=number, column=FILED_AT, message=message)]
    return moment, []


def _invalid(number: int, exc: ValidationError, columns: Mapping[str, str]) -> list[ImportError_]:
    out = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        out.append(ImportError_(row=number, column=columns.get(field), message=pydantic_message(e)))
    return out


async def _filed(number: int, filing: Awaitable[Any]) -> list[ImportError_]:
    try:
        await filing
    except ValidationFailed as exc:
        return [ImportError_(row=number, column=c, message=m) for c, m in _located(exc)]
    except DomainError as exc:
        return [ImportError_(row=number, column=None, message=exc.detail)]
    return []


async def run(
    session: AsyncSession,
    *,
    program: Program,
    filename: str,
    content: bytes,
    principal: Principal,
    dry_run: bool,
) -> ImportResult:
    """Project monthly reports, a row each (项目编号, 期次, …)."""
    codes: Mapping[str, Any] = {
        code: pid
        for code, pid in await session.execute(
            visible(select(col(Project.code), col(Project.id)), Project, principal).where(
                col(Project.program_id) == program.id
            )
        )
    }
    may_backdate = can(principal, Action.REPORTS_RECORD_HISTORY)

    async def file_row(number: int, cell: dict[str, Any]) -> list[ImportError_]:
        code = _text(cell.get(CODE))
        if code not in codes:
            message = tr("no project '{code}' in this program that you can see", code=code)
            return [ImportError_(row=number, column=CODE, message=message)]
        moment, faults = _when(number, cell, may_backdate)
        if faults:
            return faults
        try:
            data = ProjectReportIn.model_validate(
                {
                    "period": _period(cell.get(PERIOD)),
                    "investment_month": _number(cell.get(INVESTMENT), INVESTMENT),
                    "progress_percent": _number(cell.get(PROGRESS), PROGRESS),
                    "filed_at": moment,
                    "note": _text(cell.get(NOTE)) or None,
                }
            )
        except ValidationError as exc:  # (a ValueError too: it must be caught first)
            return _invalid(number, exc, COLUMN_OF)
        except ValueError as exc:  # a number that is not one
            return [ImportError_(row=number, column=None, message=str(exc))]
        return await _filed(
            number,
            service.file_project_report(session, project_id=codes[code], data=data, principal=principal),
        )

    return await _import(
        session, filename=filename, content=content, required=REQUIRED, headers_known=HEADERS,
        file_row=file_row, dry_run=dry_run,
    )  # fmt: skip


# Unit weekly and monthly reports: 单位编码, 报告类型 (周报 / 月报), 期次, 报送时间, 报告内容.
UNIT_CODE, UNIT_KIND, UNIT_BODY = "单位编码", "报告类型", "报告内容"
UNIT_HEADERS = [UNIT_CODE, UNIT_KIND, PERIOD, FILED_AT, UNIT_BODY]
UNIT_KINDS = {"周报": "weekly", "月报": "monthly", "weekly": "weekly", "monthly": "monthly"}
UNIT_COLUMN_OF = {"kind": UNIT_KIND, "period": PERIOD, "filed_at": FILED_AT, "body": UNIT_BODY}
UNIT_NOTES = [
    (UNIT_CODE, "本单位或下级单位的单位编码"),
    (UNIT_KIND, "周报 或 月报"),
    (PERIOD, "周报填周次 YYYY-Www（如 2018-W13），月报填月份 YYYY-MM（如 2018-03）"),
    (FILED_AT, "仅限督查室工作人员补录纸质报告时填写原报送时间（北京时间），如 2018-04-02 10:00"),
    (UNIT_BODY, "报告正文"),
]


def unit_template() -> bytes:
    """The unit report import template: the headers, and a notes sheet (填写说明)."""
    return _template("单位报告", UNIT_HEADERS, UNIT_NOTES)


async def run_units(
    session: AsyncSession, *, filename: str, content: bytes, principal: Principal, dry_run: bool
) -> ImportResult:
    """Unit weekly and monthly reports, a row each, filed as `POST /units/{id}/reports` files
    them: how a county going live in April enters the reports it filed on paper before."""
    codes: Mapping[str, Any] = dict(
        (await session.execute(visible(select(col(Unit.code), col(Unit.id)), Unit, principal))).all()
    )
    may_backdate = can(principal, Action.REPORTS_RECORD_HISTORY)

    async def file_row(number: int, cell: dict[str, Any]) -> list[ImportError_]:
        code = _text(cell.get(UNIT_CODE))
        if code not in codes:
            message = tr("no unit '{code}' that you can see", code=code)
            return [ImportError_(row=number, column=UNIT_CODE, message=message)]
        kind = UNIT_KINDS.get(_text(cell.get(UNIT_KIND)))
        if kind is None:
            return [ImportError_(row=number, column=UNIT_KIND, message=tr("expected 周报 or 月报"))]
        moment, faults = _when(number, cell, may_backdate)
        if faults:
            return faults
        period = _text(cell.get(PERIOD)) if kind == "weekly" else _period(cell.get(PERIOD))
        try:
            data = UnitReportIn.model_validate(
                {"kind": kind, "period": period, "body": _text(cell.get(UNIT_BODY)), "filed_at": moment}
            )
        except ValidationError as exc:
            return _invalid(number, exc, UNIT_COLUMN_OF)
        return await _filed(
            number, service.file_unit_report(session, unit_id=codes[code], data=data, principal=principal)
        )

    return await _import(
        session, filename=filename, content=content, required=[*UNIT_HEADERS[:3], UNIT_BODY],
        headers_known=UNIT_HEADERS, file_row=file_row, dry_run=dry_run,
    )  # fmt: skip
