"""How a round is scored, as the api takes it and the ranker reads it (API.md "How a round is
scored"): the rubric, the aggregation, the weights; and the objective components of a
composite, each declared once with the indicator it reads and its Chinese header.

The api validates a round's settings with these models and stores them on the round; the
ranker reads them back through `RoundSettings.of`, so both agree on every default.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shared.indicators import Indicators
from shared.vocabulary import ObjectiveComponent

# Decimals sent as numbers or strings; each string form's pattern states the same range, so the
# OpenAPI says exactly what is refused.
Share = Annotated[
    Decimal,
    Field(ge=0, le=1, examples=["0.6"]),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
                   {"type": "string", "pattern": r"^(0*\.\d+|0+(\.\d*)?|0*1(\.0*)?)$"}]}
    ),
]  # fmt: skip
Positive = Annotated[
    Decimal,
    Field(gt=0, le=1000, examples=["10"]),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                   {"type": "string", "pattern": r"^0*([1-9]\d{0,2}(\.\d*)?|0?\.\d*[1-9]\d*|1000(\.0*)?)$"}]}
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Component:
    """An objective part of the composite: the indicator it is (0–100 as of the round's end) and
    the header the workbooks give it."""

    key: ObjectiveComponent
    header: str
    read: Callable[[Indicators], Decimal | None]  # None: not applicable to the project


# Every objective component, in the order the workbooks and the explanation list them. Adding one
# is a word in ObjectiveComponent, its indicator in shared.indicators, and a line here.
COMPONENTS: dict[ObjectiveComponent, Component] = {
    c.key: c
    for c in (
        Component(ObjectiveComponent.INVESTMENT_RATE, "投资完成率", lambda i: i.investment_rate),
        Component(ObjectiveComponent.MILESTONE_RATE, "节点完成率", lambda i: i.milestone_rate),
        Component(ObjectiveComponent.REPORT_TIMELINESS, "报送及时率", lambda i: i.report_timeliness),
    )
}
OBSERVATION_HEADER = "观摩得分"


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", examples=["progress"])
    name: str = Field(min_length=1, max_length=200, examples=["形象进度"])
    weight: Positive
    max_score: Positive


class Aggregation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trim: int = Field(default=1, ge=0, le=10, description="drop this many highest and lowest")
    min_raters_for_trim: int = Field(default=5, ge=1, le=100)
    normalize: Literal["rater_effects", "none", "zscore"] = Field(
        default="rater_effects",
        description="rater_effects: each rating less its inspector's jointly fitted effect (least squares "
        "over the round, on the raw scale); none: raw scores; zscore: per-inspector z-scores mapped to "
        "50 ± 10, misleading when inspectors scored different projects (docs/scoring.md)",
    )


def default_objective() -> dict[ObjectiveComponent, Decimal]:
    return {
        ObjectiveComponent.INVESTMENT_RATE: Decimal("0.2"),
        ObjectiveComponent.MILESTONE_RATE: Decimal("0.1"),
        ObjectiveComponent.REPORT_TIMELINESS: Decimal("0.1"),
    }


class RoundSettings(BaseModel):
    """What decides a round's results, as the round keeps it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rubric: list[Criterion] = Field(min_length=1, max_length=50)
    aggregation: Aggregation = Field(default_factory=Aggregation)
    observation_weight: Share = Decimal("0.6")
    objective_weights: dict[ObjectiveComponent, Share] = Field(default_factory=default_objective)
    tie_break: ObjectiveComponent = ObjectiveComponent.INVESTMENT_RATE
    praise_top: int = Field(default=3, ge=0, le=1000)
    criticise_bottom: int = Field(default=3, ge=0, le=1000)

    @classmethod
    def of(cls, rnd: Any) -> "RoundSettings":
        """A stored round's settings (an ObservationRound row)."""
        return cls.model_validate(
            {
                "rubric": rnd.rubric,
                "aggregation": rnd.aggregation,
                "observation_weight": rnd.observation_weight,
                "objective_weights": rnd.objective_weights,
                "tie_break": rnd.tie_break,
                "praise_top": rnd.praise_top,
                "criticise_bottom": rnd.criticise_bottom,
            }
        )

    def weights(self) -> dict[ObjectiveComponent, Decimal]:
        """The objective weights in the registry's order."""
        return {k: self.objective_weights[k] for k in COMPONENTS if k in self.objective_weights}


__all__ = [
    "COMPONENTS",
    "OBSERVATION_HEADER",
    "Aggregation",
    "Component",
    "Criterion",
    "Positive",
    "RoundSettings",
    "Share",
    "default_objective",
]
