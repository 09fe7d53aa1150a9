"""Project monthly reports from a spreadsheet: how an office moving off spreadsheets enters the
months before it started with Duban (报送时间 keeps each report's original filing time).

Each row is filed exactly as `POST /projects/{id}/reports` files it (the same service, the same
checks); any error in any row files nothing and lists them all by row and column.
"""

import asyncio
import io
import re
from collections.abc import Mapping
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
from services.api.reports.schemas import ProjectReportIn
from shared.clock import OFFICE_TZ
from shared.errors import DomainError, ValidationFailed
from shared.i18n import label, pydantic_message, tr
from shared.models import Program, Project

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
NOTES = [
    (CODE, "the project's code in the library (项目编号), of this program"),
    (PERIOD, "the month reported, YYYY-MM, such as 2018-03"),
    (INVESTMENT, "万元 completed in that month, a number such as 120.5"),
    (PROGRESS, "physical progress in percent, 0 to 100"),
    (
        FILED_AT,
        "office staff only: when the report was filed on paper, such as 2018-03-20 10:00 "
        "(China's time); leave it empty to file it now",
    ),
    (NOTE, "optional"),
]


def template() -> bytes:
    """The report import template: the headers, and a notes sheet (填写说明)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "项目月报"
    ws.append(HEADERS)
    notes = wb.create_sheet("填写说明")
    notes.append(["列", "填写说明"])
    for header, note in NOTES:
        notes.append([header, note])
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


async def run(
    session: AsyncSession,
    *,
    program: Program,
    filename: str,
    content: bytes,
    principal: Principal,
    dry_run: bool,
) -> ImportResult:
    # parsed in a thread: one upload never holds up the other requests on the event loop
    headers, rows = await asyncio.to_thread(excel.read_rows, filename, content)
    errors: list[ImportError_] = []
    if faults := excel.header_faults(headers, REQUIRED, set(HEADERS)):
        errors = [ImportError_(row=1, column=c, message=m) for c, m in faults]
        return ImportResult(created=0, dry_run=dry_run, errors=errors)
    if not rows:
        errors.append(ImportError_(row=2, column=None, message=tr("the sheet holds no reports")))
        return ImportResult(created=0, dry_run=dry_run, errors=errors)
    codes: Mapping[str, Any] = {
        code: pid
        for code, pid in await session.execute(
            visible(select(col(Project.code), col(Project.id)), Project, principal).where(
                col(Project.program_id) == program.id
            )
        )
    }
    may_backdate = can(principal, Action.REPORTS_RECORD_HISTORY)
    filed = 0
    # Every row in one savepoint: an error anywhere, or a dry run, takes all of them back.
    savepoint = await session.begin_nested()
    for number, cells in rows:
        cell = dict(zip(headers, cells, strict=False))
        code = _text(cell.get(CODE))
        if code not in codes:
            errors.append(
                ImportError_(
                    row=number,
                    column=CODE,
                    message=tr("no project '{code}' in this program that you can see", code=code),
                )
            )
            continue
        try:
            moment = _filed_at(cell.get(FILED_AT))
        except ValueError as exc:
            errors.append(ImportError_(row=number, column=FILED_AT, message=str(exc)))
            continue
        if moment is not None and not may_backdate:
            errors.append(
                ImportError_(
                    row=number,
                    column=FILED_AT,
                    message=tr("only the office gives a report's original filing time"),
                )
            )
            continue
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
            for e in exc.errors():
                field = str(e["loc"][0]) if e["loc"] else ""
                errors.append(
                    ImportError_(row=number, column=COLUMN_OF.get(field), message=pydantic_message(e))
                )

            continue
        except ValueError as exc:  # a number that is not one
            errors.append(ImportError_(row=number, column=None, message=str(exc)))
            continue
        try:
            await service.file_project_report(session, project_id=codes[code], data=data, principal=principal)
            filed += 1
        except ValidationFailed as exc:
            errors += [ImportError_(row=number, column=c, message=m) for c, m in _located(exc)]
        except DomainError as exc:
            errors.append(ImportError_(row=number, column=None, message=exc.detail))
    if errors or dry_run:
        await savepoint.rollback()
        return ImportResult(created=0 if errors else filed, dry_run=dry_run, errors=errors)
    await savepoint.commit()
    return ImportResult(created=filed, dry_run=False, errors=[])
