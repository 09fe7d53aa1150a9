"""Preconditions of a write: optimistic locking (updates of versioned records carry
`If-Match: <version>`), and a program still open (`writable`).

The header is declared in the OpenAPI (required on updates, with its form), so generated clients
send it; a request without it answers 428 (services/api/errors.py), one with a malformed value 422.
"""

from typing import Annotated

from fastapi import Depends, Header

from shared.clock import OFFICE_TZ
from shared.errors import InvalidState, PreconditionFailed
from shared.i18n import tr
from shared.models import Program

HEADER = "If-Match"
# A version number, as sent or as an ETag would quote it: 3, "3", W/"3".
FORM = r'^(W/)?"?[0-9]{1,9}"?$'
_DESCRIBED = "the version of the record you last read: a change made since is refused (412), not overwritten"


def _version(raw: str) -> int:
    return int(raw.strip().removeprefix("W/").strip('"'))


async def _if_match(
    if_match: Annotated[str, Header(alias=HEADER, pattern=FORM, description=_DESCRIBED)],
) -> int:
    return _version(if_match)


async def _optional_if_match(
    if_match: Annotated[str, Header(alias=HEADER, pattern=FORM, description=_DESCRIBED)] = "",
) -> int | None:
    return _version(if_match) if if_match else None


IfMatch = Annotated[int, Depends(_if_match)]
# Workflow actions (submit, approve…) check a version only when the caller sends one.
OptionalIfMatch = Annotated[int | None, Depends(_optional_if_match)]


def check_version(current: int, expected: int, what: str) -> None:
    if current != expected:
        raise PreconditionFailed(
            tr(
                "The {what} has changed since you read it (now version {current}, you sent {expected}); "
                "reload it and apply your change again.",
                what=tr(what),
                current=current,
                expected=expected,
            )
        )


def writable(program: Program) -> None:
    """409 for a write into a program whose year the office has closed."""
    if program.closed_at is not None:
        raise InvalidState(
            tr(
                "The program {code} was closed on {day}: it is read-only.",
                code=program.code,
                day=program.closed_at.astimezone(OFFICE_TZ).date(),
            )
        )
