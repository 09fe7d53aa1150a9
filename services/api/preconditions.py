"""Optimistic locking: updates of versioned records carry `If-Match: <version>`."""

from typing import Annotated

from fastapi import Depends, Request

from shared.errors import DomainError, PreconditionFailed, PreconditionRequired
from shared.i18n import tr


def _version(raw: str) -> int:
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise DomainError(
            tr("If-Match must be the record's version number, e.g. 'If-Match: 3' (got {raw}).", raw=repr(raw))
        )
    return int(value)


async def _if_match(request: Request) -> int:
    raw = request.headers.get("if-match")
    if raw is None:
        raise PreconditionRequired(
            tr("Send 'If-Match: <version>' with the version you last read, so concurrent edits are not lost.")
        )
    return _version(raw)


async def _optional_if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    return None if raw is None else _version(raw)


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
