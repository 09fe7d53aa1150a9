"""Money and scores as the api answers them: a decimal string with two places ("828000.00",
"100.00", "0.00"), whatever scale the figure was computed or stored at (half up, as every
published score is rounded: shared.ranking.cents)."""

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from shared.ranking import cents


def _two_places(value: Decimal) -> str:
    return str(cents(value))


Cents = Annotated[
    Decimal,
    PlainSerializer(_two_places, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1234.50"]}, mode="serialization"
    ),
]

__all__ = ["Cents"]
