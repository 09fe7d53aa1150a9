"""A workbook built to exhaust the api is refused before it is read."""

import io
import zipfile

from httpx import AsyncClient
from openpyxl import Workbook

from tests.world import World


def _row_bomb(rows: int) -> bytes:
    """A real workbook whose sheet holds `rows` rows and cells without their optional `r=`
    references (the reader places each after the previous): tiny zipped, huge read."""
    book = io.BytesIO()
    Workbook().save(book)
    source = zipfile.ZipFile(io.BytesIO(book.getvalue()))
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>y</t></is></c></row>'
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + row * rows
        + b"</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in source.infolist():
            data = sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            zf.writestr(item.filename, data)
    return out.getvalue()


async def test_a_row_bomb_without_row_references_is_refused_before_it_is_read(
    client: AsyncClient, world: World
) -> None:
    content = _row_bomb(300_000)
    assert len(content) < 1_000_000  # well under the 10 MB upload limit
    r = await client.post(
        "/api/v1/projects/import",
        data={"program_id": str(world.programs["P"].id)},
        files={"file": ("bomb.xlsx", content, "application/octet-stream")},
        headers=world.auth("a_reporter"),
    )
    assert r.status_code == 422, r.text
    assert "300000 rows × 2 columns" in r.json()["detail"]  # counted as the reader would place them
