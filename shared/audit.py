"""Write, chain and verify the hash-chained audit log.

A writer appends its row in its own transaction and takes no lock, so writers never wait on
each other. Chaining comes after commit, one chainer at a time: `chain` gives each committed
row that has no hash yet the next `seq` and its hash (the api's background pass runs it every
few seconds; `duban audit verify` runs it before checking). A row written by a transaction
that commits late simply takes a later place in the chain.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import clock
from shared.logging import request_id_var
from shared.models import AuditEntry

GENESIS = "0" * 64
# Core statements on the table itself: every write path pays for these, and the ORM's
# statement machinery costs more CPU than the round trip.
_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_LOCK = 0x6475_6261_6E5F_6175  # "duban_au"
FIELDS = (
    "occurred_at",
    "actor_kind",
    "actor_id",
    "action",
    "entity",
    "entity_id",
    "unit_id",
    "before",
    "after",
    "request_id",
)


@dataclass(frozen=True)
class Actor:
    kind: str  # user | client | system
    id: str


SYSTEM = Actor("system", "duban-cli")


def _canonical(row: dict[str, Any]) -> bytes:
    values = {k: row.get(k) for k in FIELDS}
    at = values["occurred_at"]
    values["occurred_at"] = at.astimezone(UTC).isoformat() if isinstance(at, datetime) else at
    values["unit_id"] = str(values["unit_id"]) if values["unit_id"] is not None else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(row)).hexdigest()


class What(TypedDict):
    """Who did what to which record: the arguments of `entry` and `record`."""

    actor: Actor
    action: str
    entity: str
    entity_id: object
    unit_id: NotRequired[object]
    before: NotRequired[dict[str, Any] | None]
    after: NotRequired[dict[str, Any] | None]


def entry(
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    unit_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of one audit row, as `record` inserts them."""
    return {
        "occurred_at": clock.now(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "unit_id": unit_id,
        "before": json.loads(json.dumps(before, default=str)) if before is not None else None,
        "after": json.loads(json.dumps(after, default=str)) if after is not None else None,
        "request_id": request_id_var.get(),
    }


async def record(session: AsyncSession, **what: Unpack[What]) -> None:
    """Append one audit row in the caller's transaction."""
    await session.execute(insert(_AUDIT).values(**entry(**what)))


_CHAIN = (
    update(_AUDIT)
    .where(_AUDIT.c.id == bindparam("row_id"))
    .values(seq=bindparam("row_seq"), prev_hash=bindparam("row_prev"), hash=bindparam("row_hash"))
)


async def chain(session: AsyncSession, batch: int = 5000) -> int:
    """Chain up to `batch` committed rows that have no hash yet, in id order, and commit.

    Returns how many were chained; 0 when another chainer holds the turn."""
    async with session.begin():
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(_LOCK))):
            return 0
        last = (
            await session.execute(
                select(_AUDIT.c.seq, _AUDIT.c.hash)
                .where(_AUDIT.c.seq.is_not(None))
                .order_by(_AUDIT.c.seq.desc())
                .limit(1)
            )
        ).first()
        seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
        rows = (
            await session.execute(
                select(_AUDIT).where(_AUDIT.c.hash.is_(None)).order_by(_AUDIT.c.id).limit(batch)
            )
        ).mappings()
        links = []
        for row in rows:
            seq += 1
            digest = chain_hash(prev, dict(row))
            links.append({"row_id": row["id"], "row_seq": seq, "row_prev": prev, "row_hash": digest})
            prev = digest
        if links:
            await session.execute(_CHAIN, links)
        return len(links)


async def chain_all(session: AsyncSession, batch: int = 5000) -> int:
    """Chain every row waiting, `batch` rows a transaction; returns how many."""
    total = 0
    while chained := await chain(session, batch):
        total += chained
        if chained < batch:
            break
    return total


@dataclass(frozen=True)
class Finding:
    id: int
    problem: str


async def _rows(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    last = 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditEntry)
                .where(col(AuditEntry.seq) > last)
                .order_by(col(AuditEntry.seq))
                .limit(batch)
            )
        )
        for r in rows:
            yield r
        if len(rows) < batch:
            return
        last = rows[-1].seq  # type: ignore[assignment]


async def verify(session: AsyncSession) -> tuple[int, Finding | None]:
    """(chained rows checked, the first broken row or None), walking the chain in `seq` order."""
    expected_prev, checked = GENESIS, 0
    async for r in _rows(session):
        checked += 1
        if r.prev_hash != expected_prev:
            return checked, Finding(r.id, "the row before it was removed, altered or reordered")  # type: ignore[arg-type]
        if chain_hash(r.prev_hash, r.model_dump()) != r.hash:
            return checked, Finding(r.id, "its contents were altered")  # type: ignore[arg-type]
        expected_prev = r.hash
    return checked, None
