"""What is owed, as a workbook an office clerk prints or forwards (Chinese headers)."""

import io
from collections.abc import Iterable
from datetime import datetime

from openpyxl import Workbook

from services.api.reports.schemas import Due
from services.api.workbooks import DAY, MOMENT, bold_header, formatted, print_ready
from shared.clock import OFFICE_TZ
from shared.i18n import chinese
from shared.vocabulary import DueState, ScheduleKind

HEADERS = ["类型", "编号", "名称", "责任单位", "报表", "期次", "截止日期", "提交时间", "状态"]
SUBJECTS = {"unit": "单位", "project": "项目"}
KINDS = chinese(ScheduleKind)
STATES = chinese(DueState)


def _local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")


def _naive(moment: datetime | None) -> datetime | None:
    """China's wall-clock time, as a spreadsheet keeps a date and time (it has no offsets)."""
    return None if moment is None else moment.astimezone(OFFICE_TZ).replace(tzinfo=None)


def workbook(dues: Iterable[Due], *, as_of: datetime) -> bytes:
    """One row a due, in the list's order; times in China's time, deadlines as dates."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报送情况")
    print_ready(ws, [6, 16, 30, 24, 10, 10, 12, 17, 8], header_row=2)
    ws.append([f"截至 {_local(as_of)}"])
    ws.append(bold_header(ws, HEADERS))
    for d in dues:
        ws.append(
            [
                SUBJECTS[d.subject_type],
                d.code,
                d.name,
                d.responsible_unit_name,
                KINDS.get(d.kind, d.kind),
                d.period,
                formatted(ws, d.due_date, DAY),
                formatted(ws, _naive(d.filed_at), MOMENT),
                STATES[d.state],
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
