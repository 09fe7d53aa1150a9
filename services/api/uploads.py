"""Spreadsheet uploads: the file's own size limit, and the answer an import gives."""

from typing import Any

from fastapi import UploadFile
from fastapi.responses import JSONResponse

from services.api.projects.schemas import ImportResult
from shared.errors import PROBLEM_CONTENT_TYPE, PayloadTooLarge
from shared.i18n import tr

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# For the OpenAPI: what an import with errors answers.
IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ImportResult,
        "description": "rows with errors, nothing imported (`errors` by row and column); or a form field "
        "that is missing or wrong, as a problem detail",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file, refused past 10 MB. Bodies past 11 MB never get here (the middleware
    answers 413 unread); this is the file's own limit."""
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            tr(
                "The file is larger than {mb} MB; split it into smaller files.",
                mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
        )
    return content


def import_answer(result: ImportResult) -> ImportResult | JSONResponse:
    """200 with the result, or 422 (a problem detail keeping created, dry_run and errors) when
    any row had an error: a client that checks the status code must not think it worked."""
    if not result.errors:
        return result
    problem = {
        "type": "urn:duban:error:import",
        "title": tr("Rows with errors"),
        "status": 422,
        "detail": tr(
            "{n} error(s); nothing was imported. Fix the rows and send the file again.", n=len(result.errors)
        ),
        **result.model_dump(mode="json"),
    }
    return JSONResponse(problem, status_code=422, media_type="application/problem+json")
