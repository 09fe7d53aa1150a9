"""Domain errors. Services raise these; the api maps them to RFC 9457 problem details."""

from typing import Any

from shared.i18n import N_, listing, located, tr, where

PROBLEM_CONTENT_TYPE = "application/problem+json"


class DomainError(Exception):
    """A failure a caller can act on. `detail` says what is wrong, in words."""

    status: int = 400
    name: str = "bad-request"
    title: str = N_("Bad request")

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def problem(self) -> dict[str, Any]:
        return problem(self.status, self.name, self.title, self.detail, self.errors)


class Unauthorized(DomainError):
    status, name, title = 401, "unauthorized", N_("Not signed in")


class Forbidden(DomainError):
    status, name, title = 403, "forbidden", N_("Not allowed")


class NotFound(DomainError):
    status, name, title = 404, "not-found", N_("Not found")


class Conflict(DomainError):
    status, name, title = 409, "conflict", N_("Conflict")


class InvalidState(DomainError):
    status, name, title = 409, "invalid-state", N_("Not possible in the current state")


class PreconditionFailed(DomainError):
    status, name, title = 412, "precondition-failed", N_("The record has changed")


class PreconditionRequired(DomainError):
    status, name, title = 428, "precondition-required", N_("If-Match is required")


class PayloadTooLarge(DomainError):
    status, name, title = 413, "payload-too-large", N_("Too large")


class UnsupportedMediaType(DomainError):
    status, name, title = 415, "unsupported-media-type", N_("Unsupported media type")


class ValidationFailed(DomainError):
    status, name, title = 422, "validation", N_("Invalid values")


def field_error(field: str | list[str | int], msg: str) -> ValidationFailed:
    """A 422 naming one body field: `field_error("parent_id", "no such unit")`."""
    loc: list[str | int] = [field] if isinstance(field, str) else field
    return invalid([(loc, msg)])


def query_error(name: str, msg: str) -> ValidationFailed:
    """A 422 naming one query parameter."""
    return ValidationFailed(
        tr("{faults}.", faults=tr("{where}: {msg}", where=where([name]), msg=msg)),
        errors=[{"loc": ["query", name], "msg": located([name], msg)}],
    )


def invalid(problems: list[tuple[list[str | int], str]]) -> ValidationFailed:
    """A 422 listing every body field that is wrong, each with what to do about it."""
    said = listing([tr("{where}: {msg}", where=where(loc), msg=msg) for loc, msg in problems])
    return ValidationFailed(
        tr("{faults}.", faults=said),
        errors=[{"loc": ["body", *loc], "msg": located(loc, msg)} for loc, msg in problems],
    )


class Throttled(DomainError):
    status, name, title = 429, "throttled", N_("Too many requests")


def problem(
    status: int, name: str, title: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem-details body with Duban's `urn:duban:error:<name>` type; the
    (English) `title` in the current locale, `detail` as said by the caller."""
    body: dict[str, Any] = {
        "type": f"urn:duban:error:{name}",
        "title": tr(title),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body
