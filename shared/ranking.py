"""What the ranker announces, as the notifier reads it: `round.published` when the office
publishes a round's ranking, `assessment.published` when it publishes a half-year or annual
grade. Each is the `data` of an outbox event (shared.outbox.publish_event, producer "ranker",
subject the round or the program); webhooks may subscribe to both.

The notifier praises the top of a published ranking, sends the bottom a criticism bulletin (the
ladder's criticism rung, climbing on to the interview if nothing is done), and refers a failing
grade for accountability.
"""

import hashlib
import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import RoundSnapshot
from shared.vocabulary import Grade

CENT = Decimal("0.01")
SETTLE = Decimal("1e-12")  # far below a cent, far above a division's last digit


def cents(value: Decimal) -> Decimal:
    """Half up to the cent, as every published score is rounded. The figures come out of divisions
    PostgreSQL and Decimal cut short after 16 to 28 digits (80.0083333… × 0.6 gives
    48.004999…, not 48.005), always a hair low or high of the exact value; settled at 12 places
    first, an exact half cent is a half cent again and rounds up (docs/scoring.md)."""
    return value.quantize(SETTLE, rounding=ROUND_HALF_EVEN).quantize(CENT, rounding=ROUND_HALF_UP)


def competition_ranks(keys: list[tuple[Any, ...]]) -> list[int]:
    """Ranks of rows already sorted best first: equal keys share a rank (1, 2, 2, 4)."""
    ranks: list[int] = []
    for i, key in enumerate(keys):
        ranks.append(ranks[-1] if i and key == keys[i - 1] else i + 1)
    return ranks


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(document: dict[str, Any]) -> str:
    """SHA-256 of a results document's canonical JSON: the same results, the same digest."""
    return hashlib.sha256(canonical(document)).hexdigest()


async def snapshot(session: AsyncSession, round_id: UUID, version: int | None = None) -> RoundSnapshot | None:
    """A round's results as the ranker kept them: that version, or the latest (None: none yet)."""
    stmt = select(RoundSnapshot).where(col(RoundSnapshot.round_id) == round_id)
    if version is not None:
        stmt = stmt.where(col(RoundSnapshot.version) == version)
    return await session.scalar(stmt.order_by(col(RoundSnapshot.version).desc()).limit(1))


class _Stored(BaseModel):
    """A part of a round's results document as the snapshot keeps it: ids, cents and instants as
    strings, so the canonical JSON (and its digest) is exactly what was computed."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ResultSettings(_Stored):
    """What decided the results (shared.rounds.RoundSettings, as it stood), and as of when."""

    rubric: list[dict[str, Any]]
    aggregation: dict[str, Any]
    observation_weight: str
    objective_weights: dict[str, str]
    tie_break: str
    praise_top: int
    criticise_bottom: int
    as_of: str


class Ranked(_Stored):
    rank: int | None = None  # none: nobody scored the project completely
    id: str
    name: str
    score: str | None = None
    rank_interval: list[int] | None = None
    distinguishable: bool = True


class ProjectResult(Ranked):
    code: str
    responsible_unit_id: str
    region_unit_id: str
    components: dict[str, str | None]  # observation and each objective component
    raters: int
    trimmed_inspectors: list[str]
    incomplete_inspectors: list[str]


class GroupResult(Ranked):
    """A responsible unit or a region: the mean of its projects' composites."""

    projects: int


class BootstrapNote(_Stored):
    resamples: int
    seed: int
    interval: str


class AgreementNote(_Stored):
    method: str
    value: str | None
    projects: int


class SeverityNote(_Stored):
    """An inspector's effect, fitted jointly (services/ranker/effects.py): positive is lenient."""

    inspector_id: str
    severity: str | None  # none: the inspector shares no project with another
    standard_error: str | None = None
    projects: int
    shared_projects: int | None = None  # of its projects, those another inspector scored too


class EffectsNote(_Stored):
    model: str
    groups: int  # of inspectors connected through shared projects (1: connected)
    residual_sd: str | None
    applied: bool  # whether the ranking uses the adjusted scores


class FairnessNote(_Stored):
    bootstrap: BootstrapNote | None = None
    agreement: AgreementNote
    rater_effects: EffectsNote | None = None  # documents before the joint fit have none
    inspectors: list[SeverityNote]
    warnings: list[str] | None = None  # only when there is something to warn of


class RoundResults(_Stored):
    """A round's results document (services/ranker/scoring.compute): what the api serves, the
    workbooks print, the assessment averages and the notifier's ranking reads."""

    round_id: str
    program_id: str
    quarter: str
    settings: ResultSettings
    projects: list[ProjectResult]
    units: list[GroupResult]
    regions: list[GroupResult]
    fairness: FairnessNote

    @classmethod
    def of(cls, snapshot: RoundSnapshot) -> "RoundResults":
        return cls.model_validate(snapshot.document)

    def stored(self) -> dict[str, Any]:
        """The document as the snapshot keeps it (and digests it): the fields it was given, so an
        optional note absent from a document stays absent and its digest unchanged."""
        return self.model_dump(mode="json", exclude_unset=True)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RankedUnit(_Event):
    unit_id: UUID
    rank: int = Field(ge=1, description="1 is the best; ties share a rank (1, 2, 2, 4)")
    score: Decimal = Field(description="the unit's composite score, to the cent")
    distinguishable: bool = Field(
        default=True,
        description="false: its bootstrap rank interval crosses a praise or criticism cut-off",
    )


class RoundPublished(_Event):
    """A round's published ranking of responsible units (a snapshot's version)."""

    round_id: UUID
    program_id: UUID
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$", examples=["2018-Q3"])
    version: int = Field(ge=1)
    units: list[RankedUnit] = Field(description="best first")
    praise_top: int | None = Field(default=None, ge=0, description="the round's N (else the program's)")
    criticise_bottom: int | None = Field(default=None, ge=0, description="the round's N (else the program's)")

    def top(self, n: int) -> list[RankedUnit]:
        """The first n by rank, and any tied with the last of them."""
        return _cut(self.units, n)

    def bottom(self, n: int) -> list[RankedUnit]:
        """The last n by rank, and any tied with the first of them."""
        return _cut(list(reversed(self.units)), n)


def _cut(ordered: list[RankedUnit], n: int) -> list[RankedUnit]:
    if n <= 0 or not ordered:
        return []
    edge = ordered[min(n, len(ordered)) - 1].rank
    return ordered[:n] + [u for u in ordered[n:] if u.rank == edge]


class GradedUnit(_Event):
    unit_id: UUID
    score: Decimal
    grade: Grade


class AssessmentPublished(_Event):
    """A published half-year or annual assessment of the program's responsible units."""

    program_id: UUID
    year: int = Field(ge=2000, le=2100)
    half: int | None = Field(default=None, ge=1, le=2, description="1 or 2 for a half-year; none: the year")
    units: list[GradedUnit]

    @property
    def period(self) -> str:
        return f"{self.year}-H{self.half}" if self.half else str(self.year)


__all__ = [
    "AssessmentPublished",
    "Grade",
    "GradedUnit",
    "GroupResult",
    "ProjectResult",
    "RankedUnit",
    "RoundPublished",
    "RoundResults",
    "cents",
    "competition_ranks",
    "digest_of",
]
