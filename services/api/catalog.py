"""The message catalog: what the api can say, and `make messages` to keep the translations in step.

Everything the api says is in the template this module builds:
- each message the code marks with `tr(...)` or `N_(...)` (in services/ and shared/);
- each message pydantic can give for a field (`shared.i18n.pydantic_templates`);
- each field a request takes, by its name, in the `field` context (its label);
- each word of the vocabulary, in the context of its vocabulary's name.

`python -m services.api.catalog` (`make messages`) merges the template into every locale's .po:
new messages arrive untranslated, gone ones are dropped. tests/shared/test_i18n.py fails while
any message lacks its translation.
"""

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

__all__ = ["Catalog", "merged", "read_po", "template"]

from shared import vocabulary
from shared.i18n import DOMAIN, LOCALES, po_path, pydantic_templates

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"tr": None, "N_": None}
SOURCES = ("services", "shared")


def marked() -> Iterator[tuple[str, str]]:
    """(message, where) for each message the code marks."""
    for source in SOURCES:
        for filename, lineno, message, _, _ in extract_from_dir(
            ROOT / source,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
            strip_comment_tags=True,
        ):
            assert isinstance(message, str), f"{source}/{filename}:{lineno}: one message per call"
            yield message, f"{source}/{filename}:{lineno}"


def request_fields() -> set[str]:
    """The name of every field, query and path parameter the api's requests take."""
    from services.api.app import create_app
    from shared.settings import ApiSettings

    settings = ApiSettings(
        database_url="postgresql+asyncpg://catalog@localhost/none", redis_url="redis://localhost"
    )
    spec = create_app(settings).openapi()
    schemas = spec["components"]["schemas"]
    names: set[str] = set()

    def walk(schema: dict[str, Any], seen: set[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], seen | {name})
            return
        for key, value in schema.get("properties", {}).items():
            names.add(key)
            walk(value, seen)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key], seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                walk(option, seen)

    for operations in spec["paths"].values():
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []) if p["in"] != "header")
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content["schema"], set())
    return names


def vocabularies() -> list[type[StrEnum]]:
    return [
        v
        for v in vars(vocabulary).values()
        if isinstance(v, type) and issubclass(v, StrEnum) and v is not StrEnum
    ]


def template() -> Catalog:
    """Every message the api can say, untranslated."""
    catalog = Catalog(domain=DOMAIN, project="duban", fuzzy=False)
    for message, _ in marked():
        catalog.add(message)
    for message in pydantic_templates():
        catalog.add(message)
    for name in sorted(request_fields()):
        catalog.add(name, context="field")
    for words in vocabularies():
        for value in words:
            catalog.add(str(value), context=words.__name__)
    return catalog


def merged(locale: str, fresh: Catalog) -> Catalog:
    """The locale's catalog brought up to `fresh`: its translations kept, new messages added
    untranslated, messages no longer said dropped."""
    with po_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    created = catalog.creation_date
    catalog.update(fresh, no_fuzzy_matching=True)
    catalog.creation_date = created  # one header line that would change on every run

    catalog.obsolete.clear()
    return catalog


def main() -> None:
    fresh = template()
    for locale in LOCALES[1:]:
        catalog = merged(locale, fresh)
        with po_path(locale).open("wb") as po:
            write_po(po, catalog, width=0, no_location=True, include_previous=False)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{po_path(locale).relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} to translate")


if __name__ == "__main__":
    main()
