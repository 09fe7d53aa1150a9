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


# What the OpenAPI says of every free-text string (one with no format, pattern or choices), so
# generated clients and fuzzers know NUL is refused.
NO_NUL = "^[^\\u0000]*$"


# pydantic declares a Decimal as a number or any string; the string is a decimal number.
DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"


def declare(node: Any) -> None:
    """Add the NUL ban to every free-text string schema in an OpenAPI document, in place (and
    the decimal form to the string half of a Decimal's number-or-string)."""
    if isinstance(node, dict):
        options = node.get("anyOf") or []
        if "pattern" in node and options:  # a pattern declared on an optional string: it is the string's
            for o in options:
                if o.get("type") == "string":
                    o["pattern"] = node["pattern"]
            del node["pattern"]

        if any(o.get("type") == "number" for o in options):
            for o in options:
                if o.get("type") == "string" and not {"format", "pattern", "enum"} & o.keys():
                    o["pattern"] = DECIMAL

        if node.get("type") == "string" and not {"format", "pattern", "enum", "const"} & node.keys():
            node["pattern"] = NO_NUL
        for value in node.values():
            declare(value)
    elif isinstance(node, list):
        for value in node:
            declare(value)
