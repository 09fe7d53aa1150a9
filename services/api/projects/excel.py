"""The project library in spreadsheets: the template, the import (.xlsx or .csv) and the export.

Headers are in Chinese, as the offices read them. The export uses the template's columns
(plus 状态), so an exported file imports again.
"""

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from services.api.workbooks import DAY, MONEY, bold_header, formatted, pick_list, print_ready
from shared.errors import ValidationFailed
from shared.i18n import chinese, tr
from shared.vocabulary import ConstructionKind, ProjectStage, ProjectStatus

# The workbook's words for the vocabulary, from the catalog (Chinese word -> stored value).
STAGES = {zh: value for value, zh in chinese(ProjectStage).items()}
CONSTRUCTION = {zh: value for value, zh in chinese(ConstructionKind).items()}
STATUSES = chinese(ProjectStatus)
MONTH_HEADERS = [f"{m}月计划投资(万元)" for m in range(1, 13)]
MAX_ROWS = 20_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a zip bomb stops here, before openpyxl unpacks it


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    width: int
    note: str


COLUMNS = [
    Column("项目编号", "code", 16, "字母、数字、-、_、.，在本计划内唯一"),
    Column("项目名称", "name", 30, ""),
    Column("所属类别", "category", 14, "本计划的类别之一"),
    Column("所属区域", "region_unit", 16, "单位编码或名称"),
    Column("业主单位", "owner_unit", 20, "单位编码或名称"),
    Column("责任单位", "responsible_unit", 20, "单位编码或名称"),
    Column("责任领导", "leader_name", 10, ""),
    Column("领导职务", "leader_title", 12, ""),
    Column("建设性质", "construction", 10, "新建 / 续建"),
    Column("建设阶段", "stage", 10, "谋划 / 前期 / 在建 / 竣工"),
    Column("总投资(万元)", "total_investment", 14, "最多两位小数"),
    Column("年度计划投资(万元)", "annual_plan", 16, "不超过总投资"),
    Column("开工日期", "start_date", 12, "YYYY-MM-DD"),
    Column("竣工日期", "end_date", 12, "YYYY-MM-DD"),
    Column("主要节点", "milestones", 36, "节点:日期；节点:日期，如 主体完工:2018-10-31"),
    Column("服务团队", "service_team", 30, "职责:姓名；职责:姓名，如 手续办理人员:李四"),
    Column("项目简介", "description", 30, ""),
    *[Column(h, f"month_{i + 1:02d}", 12, "") for i, h in enumerate(MONTH_HEADERS)],
]
HEADERS = [c.header for c in COLUMNS]
BY_HEADER = {c.header: c for c in COLUMNS}
IGNORED_HEADERS = {"状态"}


class SheetError(ValidationFailed):
    """The file as a whole cannot be read: wrong kind, too big, no header row."""


MONEY_FIELDS = {"total_investment", "annual_plan", *(f"month_{m:02d}" for m in range(1, 13))}
DATE_FIELDS = {"start_date", "end_date"}
UNIT_HEADERS = ("所属区域", "业主单位", "责任单位")


def template(categories: list[str], units: list[str]) -> bytes:
    """An empty sheet with the columns, a notes sheet, and pick-lists where values are fixed
    (建设性质, 建设阶段, the program's categories, the units the caller can see by name)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "项目库"
    print_ready(ws, [c.width for c in COLUMNS], header_row=1)
    ws.append(bold_header(ws, HEADERS))
    for i, column in enumerate(COLUMNS, start=1):  # what a clerk types in shows as money or a date
        if column.field in MONEY_FIELDS | DATE_FIELDS:
            ws.column_dimensions[get_column_letter(i)].number_format = (
                MONEY if column.field in MONEY_FIELDS else DAY
            )
    for header, values in (
        ("建设性质", list(CONSTRUCTION)),
        ("建设阶段", list(STAGES)),
        ("所属类别", categories),
        *((header, units) for header in UNIT_HEADERS),
    ):
        pick_list(wb, ws, HEADERS.index(header) + 1, values, first_row=2, last_row=MAX_ROWS + 1)
    notes = wb.create_sheet("填写说明")
    print_ready(notes, [20, 60], header_row=1, landscape=False)
    notes.append(bold_header(notes, ["列", "说明"]))
    for column in COLUMNS:
        notes.append([column.header, column.note])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(rows: Iterator[dict[str, Any]], units: dict[UUID, str]) -> bytes:
    """The projects in the template's columns, plus 状态; units by name, money as numbers with
    two places, dates as dates."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("项目库")
    print_ready(ws, [*(c.width for c in COLUMNS), 8], header_row=1)
    ws.append(bold_header(ws, [*HEADERS, "状态"]))
    for p in rows:
        plan = p["monthly_plan"] or {}
        months = {int(k[5:7]): Decimal(v) for k, v in plan.items()}
        ws.append(
            [
                p["code"],
                p["name"],
                p["category"],
                units.get(p["region_unit_id"], str(p["region_unit_id"])),
                units.get(p["owner_unit_id"], str(p["owner_unit_id"])),
                units.get(p["responsible_unit_id"], str(p["responsible_unit_id"])),
                p["leader"].get("name"),
                p["leader"].get("title"),
                {v: k for k, v in CONSTRUCTION.items()}[p["construction"]],
                {v: k for k, v in STAGES.items()}[p["stage"]],
                formatted(ws, p["total_investment"], MONEY),
                formatted(ws, p["annual_plan"], MONEY),
                formatted(ws, p["start_date"], DAY),
                formatted(ws, p["end_date"], DAY),
                "；".join(f"{m['name']}:{m['planned_date']}" for m in p.get("milestones") or []),
                "；".join(f"{m['role']}:{m['name']}" for m in p["service_team"] or []),
                p["description"],
                *[formatted(ws, months.get(m), MONEY) for m in range(1, 13)],
                STATUSES[p["status"]],
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- reading ------------------------------------------------------------------------------


def header_faults(headers: list[str], required: list[str], known: set[str]) -> list[tuple[str, str]]:
    """(column, message) for each template column missing from `headers` and each header that is
    not one of the template's `known` columns."""
    missing = [(h, tr("this column of the template is missing")) for h in required if h not in headers]
    unknown = [(h, tr("not a column of the template")) for h in headers if h and h not in known]
    return missing + unknown


def read_rows(filename: str, content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """(headers, [(sheet row number, cells)]) of the first sheet; refuses absurd files."""
    name = filename.lower()
    if name.endswith(".csv"):
        return _csv_rows(content)
    if name.endswith(".xlsx") or content[:2] == b"PK":
        return _xlsx_rows(content)
    raise SheetError(tr("Send the filled-in template as .xlsx, or as .csv (UTF-8 or GBK)."))


def _check(
    headers: list[str], rows: list[tuple[int, list[Any]]]
) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    if not headers or not any(headers):
        raise SheetError(tr("The first row must hold the template's column headers (项目编号, 项目名称, …)."))
    return headers, rows


_TAG = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")
_CELL_AT = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_AT = re.compile(rb'\br="([0-9]{1,7})"')
_LONGEST_TAG = 1 << 16


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _sheet_extent(zf: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """(rows, columns) a worksheet spans, counted as the reader will count them, as it streams
    (within the 200 MB unpacked limit, a scan of its tags, nothing kept), before the reader is
    given the file.

    The reader below keeps a sheet as a dense grid, so one cell at XFD1048576 would ask for
    billions of cells. A row or cell without its optional `r=` reference is the one after the
    previous, as the reader places it: counting only the references let a "row bomb" of
    unreferenced rows through.
    """
    row = column = max_row = max_col = 0
    tail = b""
    with zf.open(name) as raw:
        while chunk := raw.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b">") + 1  # whole tags only; the rest waits for the next chunk
            for m in _TAG.finditer(data, 0, cut):
                if m[1] == b"row":
                    at = _ROW_AT.search(m[2])
                    row, column = (int(at[1]) if at else row + 1), 0
                else:
                    at = _CELL_AT.search(m[2])
                    column = _column_number(at[1]) if at else column + 1
                    if at:
                        row = max(row, int(at[2]))
                max_row, max_col = max(max_row, row), max(max_col, column)
            tail = data[cut:]
            if len(tail) > _LONGEST_TAG:
                raise SheetError(
                    tr("The file is not a readable .xlsx workbook; save it again from Excel or WPS.")
                )
    return max_row, max_col


def _xlsx_rows(content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNPACKED_BYTES:
                raise SheetError(tr("The workbook unpacks to more than 200 MB; split it into smaller files."))
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    max_row, max_col = _sheet_extent(zf, name)
                    if max_row > MAX_ROWS + 1 or max_col > MAX_COLUMNS:
                        raise SheetError(
                            tr(
                                "The sheet is {rows} rows × {columns} columns; at most {max_rows} projects "
                                "and {max_columns} columns are accepted in one file.",
                                rows=max_row,
                                columns=max_col,
                                max_rows=MAX_ROWS,
                                max_columns=MAX_COLUMNS,
                            )
                        )
        grid = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    except SheetError:
        raise
    except Exception:  # a damaged file fails in many ways
        raise SheetError(
            tr("The file is not a readable .xlsx workbook; save it again from Excel or WPS.")
        ) from None
    if not grid:
        return _check([], [])
    headers = [str(v).strip() if v not in (None, "") else "" for v in grid[0]]
    rows = [
        (number, [None if v == "" else v for v in values])
        for number, values in enumerate(grid[1:], start=2)
        if any(v not in (None, "") for v in values)
    ]
    return _check(headers, rows)


def _csv_rows(content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise SheetError(tr("The CSV file is neither UTF-8 nor GBK text."))
    reader = csv.reader(io.StringIO(text))
    headers: list[str] = []
    rows: list[tuple[int, list[Any]]] = []
    for number, values in enumerate(reader, start=1):
        if len(values) > MAX_COLUMNS or number > MAX_ROWS + 1:
            raise SheetError(
                tr(
                    "At most {max_rows} projects and {max_columns} columns are accepted in one file.",
                    max_rows=MAX_ROWS,
                    max_columns=MAX_COLUMNS,
                )
            )
        if number == 1:
            headers = [v.strip() for v in values]
        elif any(v.strip() for v in values):
            rows.append((number, [v.strip() or None for v in values]))
    return _check(headers, rows)


# --- cell parsing -------------------------------------------------------------------------


class CellError(ValueError):
    pass


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip()
    return s or None


def money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise CellError(tr("'{value}' is not an amount in 万元, such as 1234.50", value=value)) from None
    if amount != amount.quantize(Decimal("0.01")):
        amount = amount.quantize(Decimal("0.0001")).normalize()
        if amount != amount.quantize(Decimal("0.01")):
            raise CellError(tr("{value} has more than two decimals", value=value))
    return amount.quantize(Decimal("0.01"))


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.match(str(value).strip())
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise CellError(tr("'{value}' is not a date; write it as YYYY-MM-DD, such as 2018-03-01", value=value))


def pairs(value: Any, what: str, second: Callable[[str], Any]) -> list[tuple[str, Any]]:
    """'a:1；b:2' → [("a", 1), ("b", 2)] (full-width separators allowed)."""
    s = text(value)
    if not s:
        return []
    out = []
    for part in re.split(r"[;；\n]", s):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^:：]+)[:：](.+)$", part)
        if not m or not m[1].strip() or not m[2].strip():
            raise CellError(tr("'{part}' should read {form}", part=part, form=what))
        out.append((m[1].strip(), second(m[2].strip())))
    return out


def choice(value: Any, options: dict[str, str]) -> str | None:
    s = text(value)
    if s is None:
        return None
    if s in options:
        return options[s]
    if s in options.values():
        return s
    raise CellError(tr("'{value}' is not one of {options}", value=s, options=" / ".join(options)))
