"""The office pages' one Jinja2 environment (autoescaped), over services/api/office/templates."""

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

env = Environment(
    loader=PackageLoader("services.api.office", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
