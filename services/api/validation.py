"""One answer with every fault of a request: when a body's fields fail their own checks (the
schema's: a month written 2018-13), the endpoint's business rules (the service's: an annual plan
above the total, a unit the caller cannot see) are run too on the fields that passed, so a clerk
fixes the whole form at once instead of meeting five more faults after fixing the first.

An endpoint opts in with `@also_checked(Body, checks)`, where `checks(session, principal,
fields, path)` is the same function its service runs on a whole body (`path`: the path's
parameters), taking the fields it is given and leaving out each rule whose inputs are missing.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import Principal
from shared.errors import DomainError

log = logging.getLogger(__name__)
Problems = list[tuple[list[str | int], str]]
# (session, principal, the body's sound fields, the path's parameters) → what the rules find
Checks = Callable[[AsyncSession, Principal, dict[str, Any], dict[str, Any]], Awaitable[Problems]]
F = TypeVar("F", bound=Callable[..., Any])

_CHECKS: dict[Any, tuple[type[BaseModel], Checks, bool]] = {}


def also_checked(body: type[BaseModel], checks: Checks, *, partial: bool = False) -> Callable[[F], F]:
    """Register an endpoint's business rules for its body (see the module's docstring);
    `partial`: an update, whose fields not sent stay as they are (no defaults filled in)."""

    def register(endpoint: F) -> F:
        _CHECKS[endpoint] = (body, checks, partial)
        return endpoint

    return register


def sound_fields(
    model: type[BaseModel], raw: dict[str, Any], faulty: set[str], *, partial: bool = False
) -> dict[str, Any]:
    """The body's fields that pass their own checks, each validated alone, and the defaults of
    those not sent (those the schema faulted left out)."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in faulty:
            continue
        if key not in raw:
            if not partial and not field.is_required():  # as the model would have it
                fields[name] = field.get_default(call_default_factory=True)
            continue
        try:
            # the field's type with its constraints
            form: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            adapter: TypeAdapter[Any] = TypeAdapter(form)
            fields[name] = adapter.validate_python(raw[key])
        except ValidationError:
            continue
    return fields


async def rule_faults(request: Request, exc: RequestValidationError) -> Problems:
    """The endpoint's business rules over the fields that passed, located in the body; none when
    the endpoint has none registered or the caller is not signed in."""
    route = request.scope.get("route")
    found = _CHECKS.get(getattr(route, "endpoint", None))
    principal = getattr(request.state, "principal", None)
    if found is None or principal is None or not isinstance(exc.body, dict):
        return []
    model, checks, partial = found
    faulty = {str(e["loc"][1]) for e in exc.errors() if len(e.get("loc", ())) > 1 and e["loc"][0] == "body"}
    fields = sound_fields(model, exc.body, faulty, partial=partial)
    async with request.app.state.sessions() as session:
        try:
            said = await checks(session, principal, fields, dict(request.path_params))
            return [(["body", *loc], msg) for loc, msg in said]
        except DomainError:  # a rule that cannot be told from these fields: the schema's faults stand
            return []
        except Exception:  # the schema's faults are the answer still; a 422 does not become a 500
            log.exception("business rules over a faulty body failed")
            return []
