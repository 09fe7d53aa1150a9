"""What makes a workbook one a clerk can print and read: column widths, the header frozen and
repeated on every printed page, A4 one page wide, money and scores as numbers with two places,
dates as dates, and pick-lists (a hidden sheet of choices) where the values are fixed.

Every workbook the api writes goes through `print_ready` (tests/api/test_workbooks.py checks them
all); it works on write-only sheets too, so a 20,000-row export stays streamed."""

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

A4 = "9"  # the paperSize code of A4
MONEY = "0.00"  # 万元, scores and rates: two places
DAY = "yyyy-mm-dd"
MOMENT = "yyyy-mm-dd hh:mm"
CHOICES = "选项"  # the hidden sheet pick-lists read from


def print_ready(ws: Any, widths: Sequence[float], *, header_row: int, landscape: bool = True) -> None:
    """Widths for the columns, the rows down to the header frozen and printed atop every page,
    A4, one page wide. Call before the first row of a write-only sheet."""
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def formatted(ws: Any, value: Any, number_format: str) -> Any:
    """A cell with its number format, for `ws.append` (write-only sheets too); None stays empty."""
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def bold_header(ws: Any, headers: Sequence[str]) -> list[Any]:
    """The header row's cells, bold (write-only sheets too)."""
    cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=header)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def pick_list(
    wb: Workbook, ws: Any, column: int, choices: Sequence[str], *, first_row: int, last_row: int
) -> None:
    """Offer `choices` in `column` from `first_row` to `last_row`, however many there are (read
    from a hidden sheet, not the 255 characters a list written into the rule may hold)."""
    if not choices:
        return
    sheet = wb[CHOICES] if CHOICES in wb.sheetnames else wb.create_sheet(CHOICES)
    sheet.sheet_state = "hidden"
    at = sheet.max_column + 1 if sheet.max_row > 1 or sheet["A1"].value is not None else 1
    letter = get_column_letter(at)
    for row, choice in enumerate(choices, start=1):
        sheet.cell(row=row, column=at, value=choice)
    source = f"{quote_sheetname(CHOICES)}!${letter}$1:${letter}${len(choices)}"
    rule = DataValidation(type="list", formula1=source, allow_blank=True)
    target = get_column_letter(column)
    rule.add(f"{target}{first_row}:{target}{last_row}")
    ws.add_data_validation(rule)
