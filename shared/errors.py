"""Domain errors. Services raise these; the api maps them to RFC 9457 problem details."""

from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


class DomainError(Exception):
    """A failure a caller can act on. `detail` says what is wrong, in words."""

    status: int = 400
    name: str = "bad-request"
    title: str = "Bad request"

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
    status, name, title = 401, "unauthorized", "Not signed in"


class Forbidden(DomainError):
    status, name, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, name, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, name, title = 409, "conflict", "Conflict"


class InvalidState(DomainError):
    status, name, title = 409, "invalid-state", "Not possible in the current state"


class PreconditionFailed(DomainError):
    status, name, title = 412, "precondition-failed", "The record has changed"


class PreconditionRequired(DomainError):
    status, name, title = 428, "precondition-required", "If-Match is required"


class PayloadTooLarge(DomainError):
    status, name, title = 413, "payload-too-large", "Too large"


class ValidationFailed(DomainError):
    status, name, title = 422, "validation", "Invalid values"


def field_error(field: str | list[str | int], msg: str) -> ValidationFailed:
    """A 422 naming one body field: `field_error("parent_id", "no such unit")`."""
    loc: list[str | int] = [field] if isinstance(field, str) else field
    return invalid([(loc, msg)])


def invalid(problems: list[tuple[list[str | int], str]]) -> ValidationFailed:
    """A 422 listing every body field that is wrong, each with what to do about it."""
    detail = "; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems)
    return ValidationFailed(
        f"{detail}.", errors=[{"loc": ["body", *loc], "msg": msg} for loc, msg in problems]
    )


class Throttled(DomainError):
    status, name, title = 429, "throttled", "Too many requests"


def problem(
    status: int, name: str, title: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem-details body with Duban's `urn:duban:error:<name>` type."""
    body: dict[str, Any] = {
        "type": f"urn:duban:error:{name}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body
