"""Every workbook the api writes is one a clerk can print (services/api/workbooks.py): widths on
every column, the header frozen and printed atop every page, A4 one page wide, money and scores
as numbers with two places, dates as dates."""

import io
from datetime import date, datetime
from typing import Any

from httpx import AsyncClient
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.rounds import excel as round_excel
from services.ranker.scoring import rank_round
from shared.assessment import compute
from shared.models import Program
from shared.ranking import RoundResults
from tests.ranker.scene import SCORES, make_scene, score_all
from tests.world import World

# headers whose numbers are money, a score or a rate: two places
TWO_PLACES = ("万元", "得分", "率", "季度")


def print_ready(content: bytes) -> list[str]:
    """What keeps each visible sheet of a workbook from printing well (nothing: it is ready)."""
    faults: list[str] = []
    book = load_workbook(io.BytesIO(content))
    for ws in book.worksheets:
        if ws.sheet_state == "hidden":
            continue
        name = ws.title
        if not ws.freeze_panes:
            faults.append(f"{name}: no frozen header")
            continue
        header = int(ws.freeze_panes[1:]) - 1
        if ws.print_title_rows != f"${header}:${header}":
            faults.append(f"{name}: header row {header} not printed on every page ({ws.print_title_rows})")
        if str(ws.page_setup.paperSize) != "9" or not ws.sheet_properties.pageSetUpPr.fitToPage:
            faults.append(f"{name}: not A4 fitted to the page width")
        headers = [c.value for c in ws[header]]
        for i, title in enumerate(headers, start=1):
            if not ws.column_dimensions[get_column_letter(i)].width:
                faults.append(f"{name}: column {title} has no width")
        for row in ws.iter_rows(min_row=header + 1):
            for cell, title in zip(row, headers, strict=False):
                value: Any = cell.value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    if any(word in str(title) for word in TWO_PLACES) and cell.number_format != "0.00":
                        faults.append(f"{name}!{cell.coordinate} ({title}): {cell.number_format}")
                elif isinstance(value, datetime | date):
                    if cell.number_format not in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm"):
                        faults.append(f"{name}!{cell.coordinate} ({title}): {cell.number_format}")
                elif isinstance(value, str) and title in ("开工日期", "竣工日期", "截止日期"):
                    faults.append(f"{name}!{cell.coordinate} ({title}): a date written as text")
    return faults


async def test_the_library_and_report_workbooks_print(client: AsyncClient, approved: World) -> None:
    office, program = approved.auth("p_admin"), approved.programs["P"].id
    for url in (
        f"/api/v1/projects/template.xlsx?program_id={program}",
        f"/api/v1/projects/export.xlsx?program_id={program}",
        f"/api/v1/reports/dues.xlsx?program_id={program}&as_of=2018-10-08",
        "/api/v1/reports/template.xlsx",
        "/api/v1/reports/unit-template.xlsx",
    ):
        r = await client.get(url, headers=office)
        assert r.status_code == 200, (url, r.text)
        assert print_ready(r.content) == [], url
    export = await client.get(f"/api/v1/projects/export.xlsx?program_id={program}", headers=office)
    exported = load_workbook(io.BytesIO(export.content)).worksheets[0]
    rows = list(exported.iter_rows(min_row=2, values_only=True))
    assert rows and all(isinstance(r[10], int | float) and isinstance(r[12], datetime) for r in rows)


async def test_the_ranking_and_assessment_workbooks_print(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    scene = await make_scene(session)
    await score_all(session, scene, SCORES)
    snapshot = await rank_round(sessions, scene.round.id)
    assert snapshot is not None
    results = round_excel.results(RoundResults.of(snapshot), name="第三季度观摩", version=1, state="ready")
    assert print_ready(results) == []
    scene.round.state, scene.round.published_version = "published", 1
    session.add(scene.round)
    await session.commit()
    program = await session.get_one(Program, scene.round.program_id)
    assessed = round_excel.assessment(await compute(session, program, 2018, None), program=program.name)
    assert print_ready(assessed) == []
    sheet = load_workbook(io.BytesIO(assessed)).worksheets[0]
    assert sheet["C3"].number_format == "0.00" and isinstance(sheet["C3"].value, float)
