"""Text PostgreSQL cannot store: the NUL character (U+0000).

JSON (`"\\u0000"`), query strings and forms (`%00`) can all carry it, and PostgreSQL refuses it in
any text column or parameter, so it would reach the database and come back as a 500. It is
refused up front instead, as a 422 that names each field holding it. (An unpaired surrogate,
the other character UTF-8 cannot carry, is already refused by the body's own validation.)
"""

from typing import Any

from starlette.requests import Request

from shared.i18n import N_

MESSAGE = N_("text may not contain the NUL character (U+0000)")

_FORM = "application/x-www-form-urlencoded"


def _walk(value: Any, loc: tuple[str | int, ...], found: list[dict[str, Any]]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append({"type": "string_nul", "loc": loc, "msg": MESSAGE, "input": value})
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                found.append({"type": "string_nul", "loc": (*loc, key), "msg": MESSAGE, "input": key})
            _walk(item, (*loc, key), found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, (*loc, i), found)


async def nul_errors(request: Request) -> list[dict[str, Any]]:
    """Each path parameter, query parameter, JSON body value or form field holding a NUL, as
    validation errors. A body that is not valid JSON is left to the endpoint's own parsing (400)."""
    found: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        _walk(value, ("path", name), found)
    if b"%00" in request.scope.get("query_string", b""):  # how a NUL arrives in a query string
        for name, value in request.query_params.multi_items():
            _walk(value, ("query", name), found)
    if request.method in ("POST", "PUT", "PATCH"):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json"):
            body = await request.body()
            if b"\\u0000" in body or b"\x00" in body:  # only then is it worth decoding twice
                try:
                    parsed = await request.json()  # cached: the endpoint reuses it
                except ValueError:
                    return found
                _walk(parsed, ("body",), found)
        elif kind == _FORM:
            for name, value in (await request.form()).multi_items():
                _walk(value, ("body", name), found)
    return found
