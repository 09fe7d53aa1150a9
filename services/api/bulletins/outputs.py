"""A bulletin in each of its forms — JSON, workbook, Word draft, page — for the API and the office
pages alike."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import Principal
from services.api.bulletins import page, service, word, workbook
from services.api.uploads import XLSX
from shared.models import ObservationRound, Program, Unit
from shared.program_settings import ProgramSettings

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def _word(session: AsyncSession, program: Program, context_of: Any, document: dict[str, Any]) -> bytes:
    office = await session.get_one(Unit, program.office_unit_id)
    issuer = ProgramSettings.model_validate(program.settings).bulletin.issuer or office.name
    template = await service.template_of(session, program.id)
    return word.render(template, context_of(document, issuer), document.get("number") or "〔　　〕　号")


async def _answer(
    session: AsyncSession,
    program: Program,
    document: dict[str, Any],
    form: str,
    name: str,
    book_of: Callable[[dict[str, Any]], bytes],
    context_of: Any,
) -> Response:
    if form == "xlsx":
        return _file(book_of(document), XLSX, f"{name}.xlsx")
    if form == "docx":
        return _file(await _word(session, program, context_of, document), DOCX, f"{name}.docx")
    if form == "html":
        return HTMLResponse(page.html(document))
    return JSONResponse(document)


async def monthly(
    session: AsyncSession,
    *,
    program: Program,
    principal: Principal,
    month: str,
    form: str,
    as_of: datetime | None = None,
    version: int | None = None,
) -> Response:
    document = await service.monthly(
        session, program=program, month=month, principal=principal, as_of=as_of, version=version
    )
    return await _answer(
        session, program, document, form, f"{month}-bulletin", workbook.monthly, word.monthly_context
    )


async def of_round(session: AsyncSession, rnd: ObservationRound, form: str) -> Response:
    program = await session.get_one(Program, rnd.program_id)
    document = await service.of_round(session, rnd)
    return await _answer(
        session, program, document, form, f"{rnd.quarter}-bulletin", workbook.ranking, word.ranking_context
    )
