"""The office pages' one Jinja2 environment (autoescaped), over services/api/office/templates."""

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from shared import vocabulary
from shared.i18n import word

env = Environment(
    loader=PackageLoader("services.api.office", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _vocab(value: Any, name: str) -> str:
    """A vocabulary word as a clerk reads it: `{{ n.kind | vocab("NoticeKind") }}` → 催办."""
    return word(getattr(vocabulary, name), str(value)) if value is not None else ""


env.filters["vocab"] = _vocab


def render(name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
