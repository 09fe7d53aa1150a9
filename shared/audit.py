"""Write and verify the hash-chained audit log.

Writers serialize on one advisory lock held until their transaction ends, so the order of
ids is the order of the chain even when transactions interleave.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.logging import request_id_var
from shared.models import AuditEntry

GENESIS = "0" * 64
# Core statements on the table itself: every write path pays for these, and the ORM's
# statement machinery costs more CPU than the round trip.
_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_LOCK = 0x6475_6261_6E5F_6175  # "duban_au"
_FIELDS = (
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
    values = {k: row.get(k) for k in _FIELDS}
    at = values["occurred_at"]
    values["occurred_at"] = at.astimezone(UTC).isoformat() if isinstance(at, datetime) else at
    values["unit_id"] = str(values["unit_id"]) if values["unit_id"] is not None else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(row)).hexdigest()


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    unit_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK)))
    prev = await session.scalar(select(_AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1))
    row: dict[str, Any] = {
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
    prev_hash = prev or GENESIS
    await session.execute(insert(_AUDIT).values(**row, prev_hash=prev_hash, hash=chain_hash(prev_hash, row)))


@dataclass(frozen=True)
class Finding:
    id: int
    problem: str


async def _rows(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    last = 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)
            )
        )
        for r in rows:
            yield r
        if len(rows) < batch:
            return
        last = rows[-1].id  # type: ignore[assignment]


async def verify(session: AsyncSession) -> tuple[int, Finding | None]:
    """(rows checked, the first broken row or None)."""
    expected_prev, checked = GENESIS, 0
    async for r in _rows(session):
        checked += 1
        if r.prev_hash != expected_prev:
            return checked, Finding(r.id, "the row before it was removed, altered or reordered")  # type: ignore[arg-type]
        if chain_hash(r.prev_hash, r.model_dump()) != r.hash:
            return checked, Finding(r.id, "its contents were altered")  # type: ignore[arg-type]
        expected_prev = r.hash
    return checked, None
