"""Supervision visits (`/visits`), their findings (`/findings`) and evidence files (`/files`)."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import File, Form, Query, Request, Response, UploadFile, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page
from services.api.records import FileDep, FindingDep, VisitDep
from services.api.routing import SessionDep, router
from services.api.validation import also_checked
from services.api.visits import service
from services.api.visits.schemas import FilePublic, FindingPublic, VisitIn, VisitPublic
from shared.filestore import FileStore
from shared.settings import ApiSettings

visits = router(prefix="/visits", tags=["teams and visits"])
findings = router(prefix="/findings", tags=["teams and visits"])
evidence_files = router(prefix="/files", tags=["teams and visits"])
Reader = Annotated[Principal, authorize(Action.VISITS_READ)]
Recorder = Annotated[Principal, authorize(Action.VISITS_WRITE)]
Confirmer = Annotated[Principal, authorize(Action.FINDINGS_CONFIRM)]
MB = 1024 * 1024


@visits.post("", status_code=status.HTTP_201_CREATED, response_model=VisitPublic)
@also_checked(VisitIn, service.record_checks)
async def record_visit(session: SessionDep, principal: Recorder, data: VisitIn) -> VisitPublic:
    """Record a visit the team made (its leader, a member, or the program's office): kind, day,
    places and projects seen, who went, and its findings. Each finding becomes a notice to the
    unit it names — urging (催办), or supervision (督办) when critical — due its working days from
    today and chased up the ladder like any other, until the office confirms it rectified
    (`POST /findings/{id}/confirm`). Send an `Idempotency-Key`: a phone retrying on a bad
    signal records the visit once."""
    return await service.record(session, data=data, principal=principal)


@visits.get("", response_model=Page[VisitPublic])
async def list_visits(
    session: SessionDep,
    principal: Reader,
    program_id: UUID | None = None,
    team_id: UUID | None = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2018-10"])] = None,
) -> Page[VisitPublic]:
    """The visits you may see (the program's office, the team, the units it watches or a finding
    names), newest first."""
    found = await service.list_visits(
        session, principal=principal, program_id=program_id, team_id=team_id, month=month
    )
    return Page(data=[await service.to_public(session, v) for v in found], count=len(found))


@visits.get("/{visit_id:uuid}", response_model=VisitPublic)
async def get_visit(session: SessionDep, principal: Reader, visit: VisitDep) -> VisitPublic:
    return await service.to_public(session, visit)


@visits.post(
    "/{visit_id:uuid}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=FilePublic,
    responses={
        200: {
            "model": FilePublic,
            "description": "these bytes were sent for the visit before: the file they made",
        },
        413: {"description": "the file, or the visit's files together, past the limits"},
        415: {"description": "not a JPEG, PNG or HEIC photo or a PDF document, judged by its bytes"},
    },
)
async def attach_file(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Recorder,
    visit: VisitDep,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or HEIC photo, or a PDF document")],
    finding_id: Annotated[UUID | None, Form(description="the finding it shows; none: the visit")] = None,
    captured_at: Annotated[datetime | None, Form(description="when the phone took it (RFC 3339)")] = None,
    latitude: Annotated[float | None, Form(ge=-90, le=90, description="where (WGS 84)")] = None,
    longitude: Annotated[float | None, Form(ge=-180, le=180)] = None,
    accuracy_m: Annotated[float | None, Form(ge=0, le=100_000, description="the position's accuracy")] = None,
) -> Any:
    """Attach a photo or document to the visit or one of its findings. The type is judged from
    the bytes, never the name (415 otherwise); 413 past the size limits (20 MB a file, 100 MB a
    visit by default). The same bytes sent again answer 200 with the file they made: a phone
    re-sending after a lost answer stores nothing twice (an `Idempotency-Key` replays the first
    answer as well). Position and capture time: as sent, else the photo's EXIF; a photo taken
    far from its project is flagged (`far`), not refused."""
    settings: ApiSettings = request.app.state.settings
    data = await file.read(settings.evidence_max_file_mb * MB + 1)  # one byte past: refused
    kept, new = await service.attach(
        session, visit=visit, data=data, filename=file.filename, finding_id=finding_id,
        captured_at=captured_at, latitude=latitude, longitude=longitude, accuracy_m=accuracy_m,
        principal=principal, store=request.app.state.files, settings=settings,
    )  # fmt: skip
    if not new:
        response.status_code = status.HTTP_200_OK
    return FilePublic.model_validate(kept, from_attributes=True)


@evidence_files.get(
    "/{file_id:uuid}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/heic": {}, "application/pdf": {}},
                     "description": "the file's bytes"}},
)  # fmt: skip
async def download_file(request: Request, session: SessionDep, principal: Reader, file: FileDep) -> Response:
    """A visit's photo or document, to those who may see the visit. A photo goes as sent (with its
    EXIF location) to the program's office, the team and the subtree of the finding's unit; to
    everyone else re-encoded without its metadata."""
    store: FileStore = request.app.state.files
    original = await service.sees_original(session, file, principal) or file.public_sha256 is None
    sha256 = file.sha256 if original else file.public_sha256
    media_type = file.media_type if original else file.public_media_type
    assert sha256 is not None and media_type is not None
    name = quote(file.filename or f"{file.id}")
    return Response(
        await store.get(sha256),
        media_type=media_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{name}",
            "ETag": f'"{sha256}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@findings.post("/{finding_id:uuid}/confirm", response_model=FindingPublic)
async def confirm_finding(session: SessionDep, principal: Confirmer, finding: FindingDep) -> FindingPublic:
    """The office confirms the finding rectified (整改到位): its notice's chain ends."""
    await service.confirm(session, finding=finding, principal=principal)
    return FindingPublic.model_validate(finding, from_attributes=True)
