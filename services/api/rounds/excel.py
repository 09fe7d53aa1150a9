"""A round's results and a period's assessment as print-ready workbooks with Chinese headers:
a title row, the header repeated on every printed page, landscape, one page wide."""

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from services.api.workbooks import MONEY, bold_header, formatted, print_ready
from shared.ranking import RoundResults, competition_ranks
from shared.rounds import COMPONENTS, OBSERVATION_HEADER

GRADES = {"excellent": "优良", "pass": "合格", "fail": "不合格"}
# the observation and every objective component of the registry, in its order
PARTS = ["observation", *(str(k) for k in COMPONENTS)]
PROJECT_HEADERS = ["名次", "项目编号", "项目名称", "责任单位", OBSERVATION_HEADER,
                   *(c.header for c in COMPONENTS.values()), "综合得分", "有效评分人数"]  # fmt: skip
GROUP_HEADERS = ["名次", "{what}", "综合得分", "项目数"]
ASSESSMENT_HEADERS = ["名次", "责任单位", "考核得分", "等次"]


def _sheet(wb: Workbook, title: str, caption: str, headers: list[str], rows: list[list[Any]]) -> None:
    ws: Worksheet = wb.create_sheet(title)
    print_ready(ws, [28 if h in ("项目名称", "责任单位", "地区") else 12 for h in headers], header_row=2)
    ws.append([caption])
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(bold_header(ws, headers))
    for row in rows:  # scores as numbers with two places
        ws.append([formatted(ws, v, MONEY) if isinstance(v, float) else v for v in row])


def _bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _number(value: Any) -> Any:
    return None if value is None else float(value)


def results(document: RoundResults, *, name: str, version: int, state: str) -> bytes:
    """Three sheets: 项目排名, 单位排名, 地区排名; the projects' with the observation and every
    objective component of the registry (shared.rounds.COMPONENTS)."""
    names = {row.id: row.name for row in [*document.units, *document.regions]}
    caption = (
        f"{name}（{document.quarter}，第 {version} 版，{'已发布' if state == 'published' else '未发布'}）"
    )
    wb = Workbook()
    wb.remove(wb.active)
    projects = [
        [row.rank, row.code, row.name, names.get(row.responsible_unit_id, ""),
         *(_number(row.components.get(k)) for k in PARTS), _number(row.score), row.raters]
        for row in document.projects
    ]  # fmt: skip
    _sheet(wb, "项目排名", caption, PROJECT_HEADERS, projects)
    for groups, title, what in (
        (document.units, "单位排名", "责任单位"),
        (document.regions, "地区排名", "地区"),
    ):
        rows = [[r.rank, r.name, _number(r.score), r.projects] for r in groups]
        _sheet(wb, title, caption, [h.format(what=what) for h in GROUP_HEADERS], rows)
    return _bytes(wb)


def assessment(document: dict[str, Any], *, program: str) -> bytes:
    """One sheet: each unit's rank (ties share one), score, grade and its score in each quarter."""
    quarters = list(dict.fromkeys(r["quarter"] for r in document["rounds"]))  # a quarter's rounds: one column
    period = f"{document['year']}年" + (
        f"{'上' if document['half'] == 1 else '下'}半年" if document["half"] else "度"
    )
    wb = Workbook()
    wb.remove(wb.active)
    ranks = competition_ranks([(u["score"],) for u in document["units"]])  # ties share a rank
    rows = [
        [rank, u["name"], _number(u["score"]), GRADES.get(u["grade"], u["grade"]),
         *(_number(u["quarters"].get(q)) for q in quarters)]
        for rank, u in zip(ranks, document["units"], strict=True)
    ]  # fmt: skip
    headers = [*ASSESSMENT_HEADERS, *(f"{q[:4]}年第{q[-1]}季度" for q in quarters)]
    _sheet(wb, "考核结果", f"{program} {period}考核结果", headers, rows)
    return _bytes(wb)
