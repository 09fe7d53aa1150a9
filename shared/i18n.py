"""Messages in the caller's language, from gettext catalogs read through Babel.

English is the source language and the default; `shared/locale/<locale>/LC_MESSAGES/duban.po`
holds each translation. The api picks the locale from a request's Accept-Language (`use`),
and everything said while handling it goes through `tr`:

    raise Conflict(tr("A unit with code '{code}' already exists.", code=code))

Words that name things rather than say something carry a gettext context: `field` for the
fields of requests (their Chinese labels are the Excel templates' column headers) and `value`
for the vocabulary (`approved` -> 已入库). `services/api/catalog.py` keeps the catalog in step
with the code; a test fails when a message has no translation.
"""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from shared.clock import answer_zone

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "duban"
DEFAULT = "en"
LOCALES = (DEFAULT, "zh_CN")
# The locale of what is being said now; the api sets it for each request from Accept-Language.
locale_var: ContextVar[str] = ContextVar("duban_locale", default=DEFAULT)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale`, compiled in memory from its .po file (fuzzy entries left out)."""
    if locale == DEFAULT:
        return NullTranslations()
    with po_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current() -> str:
    return locale_var.get()


@contextmanager
def use(locale: str) -> Iterator[None]:
    """Say things in `locale` inside the block (the api wraps each request in one)."""
    token = locale_var.set(locale)
    try:
        yield
    finally:
        locale_var.reset(token)


def negotiate(accept_language: str | None) -> str:
    """The locale to answer in for an Accept-Language header (RFC 9110 weights); English
    when the caller prefers nothing we have: `zh-CN`, `zh`, `zh-Hans-CN;q=0.9` -> zh_CN."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if (q := params.strip()).startswith("q="):
            try:
                weight = float(q[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, i, tag.strip()))
    for _, _, tag in sorted(ranked):
        language = tag.lower().split("-")[0]
        if language == "zh":  # zh, zh-CN, zh-Hans-CN; zh-TW too: Simplified reads better than English
            return "zh_CN"
        if language == "en":
            return DEFAULT
    return DEFAULT


def _said(value: Any) -> str:
    """A value as a sentence says it: an instant in Beijing time (or the request's Time-Zone),
    to the second."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(answer_zone.get()).replace(microsecond=0).isoformat(sep=" ")
    return str(value)


def fill(template: str, params: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by `params[name]` (unknown names kept as written)."""
    return _PLACEHOLDER.sub(lambda m: _said(params[m[1]]) if m[1] in params else m[0], template)


def tr(msgid: str, /, **params: Any) -> str:
    """`msgid` in the current locale, its `{placeholders}` filled from `params`."""
    text = translations(locale_var.get()).gettext(msgid)
    return fill(text, params) if params else text


def N_(msgid: str) -> str:
    """Mark a message for the catalog without translating it yet (class attributes, tables)."""
    return msgid


def label(name: str, locale: str | None = None) -> str:
    """A field's label: its name in English, the Excel template's header in Chinese."""
    return str(translations(locale or locale_var.get()).pgettext("field", name))


def word(vocabulary: type[StrEnum], value: str, locale: str | None = None) -> str:
    """A word of the vocabulary (a status, a state, a kind) as the current locale (or `locale`)
    says it: `word(ProjectStatus, "approved")` -> 已审核. Its context is the vocabulary's name,
    as one word can mean two things (`open`: a problem not yet solved, a report not yet due)."""
    return str(translations(locale or locale_var.get()).pgettext(vocabulary.__name__, str(value)))


def chinese(vocabulary: type[StrEnum]) -> dict[str, str]:
    """The vocabulary's words as the Excel workbooks say them: {"approved": "已审核", …}."""
    return {str(v): word(vocabulary, v, "zh_CN") for v in vocabulary}


_WHERE = {"body", "query", "path", "header", "cookie"}


def where(loc: Sequence[str | int]) -> str:
    """Where in the request a fault is: `milestones.1.actual_date` in English;
    `里程碑 第2项 实际完成日期` in Chinese."""
    if locale_var.get() == DEFAULT:
        return ".".join(map(str, loc))
    parts = [p for i, p in enumerate(loc) if not (i == 0 and p in _WHERE and len(loc) > 1)]
    return " ".join(tr("item {n}", n=p + 1) if isinstance(p, int) else label(p) for p in parts)


def located(loc: Sequence[str | int], msg: str) -> str:
    """An `errors[].msg`: as is in English (`loc` says where); naming the field in Chinese."""
    if locale_var.get() == DEFAULT:
        return msg
    return tr("{where}: {msg}", where=where(loc), msg=msg)


def listing(items: Sequence[str]) -> str:
    """`a; b; c` joined as the current locale punctuates a list of clauses."""
    return tr("; ").join(items)


@cache
def _pydantic_templates() -> dict[str, str]:
    from pydantic_core._pydantic_core import list_all_errors  # the one list of pydantic's messages

    return {e["type"]: e["message_template_python"] for e in list_all_errors()}


def pydantic_templates() -> list[str]:
    """Every message pydantic can say; each has its translation in the catalog."""
    return sorted(set(_pydantic_templates().values()))


# Clearer than pydantic's own words for the two a form-filler meets most.
_OWN_WORDS = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("this field is not allowed here"),
}


# What the api's patterns ask for, in words a person reads (not the regular expression)
_PATTERN_WORDS = {
    r"^[A-Za-z0-9_.-]+$": N_("letters, digits, '-', '_' and '.' only, such as LC-2018.01"),
    r"^[A-Za-z0-9_.\-]+$": N_("letters, digits, '-', '_' and '.' only, such as LC-2018.01"),
    r"^\d{4}-?Q[1-4]$": N_("a quarter such as 2018Q3"),
    r"^\d{4}-Q[1-4]$": N_("a quarter such as 2018-Q3"),
    r"^\d{4}-(0[1-9]|1[0-2])$": N_("a month such as 2018-05"),
    r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$": N_("a day of the year such as 12-31"),
    r"^(project|unit|milestone|problem|task|instruction)$": N_(
        "one of project, unit, milestone, problem, task, instruction"
    ),
    r"^1[3-9][0-9]{9}$": N_("a mobile number such as 13812341234"),
}


def _either(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" with the current locale's words for the list."""
    return expected.replace("' or '", tr("' or '")).replace("', '", tr("', '"))


def pydantic_message(error: Any) -> str:
    """One pydantic error's message in the current locale. Our own validators' words
    (`value_error`) were said in it already; pydantic's are looked up by their template; a
    pattern is said in words, not as the regular expression."""
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind in _OWN_WORDS:
        return tr(_OWN_WORDS[kind])
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_WORDS:
        return tr("expected {what}", what=tr(_PATTERN_WORDS[ctx["pattern"]]))
    if kind in ("literal_error", "enum") and "expected" in ctx:
        ctx = {**ctx, "expected": _either(str(ctx["expected"]))}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "value_error" and "reason" in ctx:  # pydantic's EmailStr, in email-validator's words
        return tr("expected an e-mail address such as 'name@example.gov.cn'")
    template = _pydantic_templates().get(kind)
    if template is None:  # an error of our own making, its msg a message id
        return tr(str(error.get("msg", "")))
    if locale_var.get() == DEFAULT:
        return str(error.get("msg"))
    return fill(tr(template), ctx)
