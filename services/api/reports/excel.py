"""What is owed, as a workbook an office clerk prints or forwards (Chinese headers)."""

import io
from collections.abc import Iterable
from datetime import datetime

from openpyxl import Workbook

from services.api.reports.schemas import Due
from shared.clock import OFFICE_TZ
from shared.i18n import chinese
from shared.vocabulary import DueState, ScheduleKind

HEADERS = ["类型", "编号", "名称", "责任单位", "报表", "期次", "截止日期", "提交时间", "状态"]
SUBJECTS = {"unit": "单位", "project": "项目"}
KINDS = chinese(ScheduleKind)
STATES = chinese(DueState)


def _local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")


def workbook(dues: Iterable[Due], *, as_of: datetime) -> bytes:
    """One row a due, in the list's order; times in China's time."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报送情况")
    ws.append([f"截至 {_local(as_of)}"])
    ws.append(HEADERS)
    for d in dues:
        ws.append(
            [
                SUBJECTS[d.subject_type],
                d.code,
                d.name,
                d.responsible_unit_name,
                KINDS.get(d.kind, d.kind),
                d.period,
                d.due_date,
                _local(d.filed_at),
                STATES[d.state],
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
