from uuid import UUID

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import NotifierPingReceipt, OutboxMessage


async def test_a_ping_queues_one_message_per_worker(operator: AsyncClient, session: AsyncSession) -> None:
    r = await operator.post("/api/v1/pings", json={"delay_seconds": 1.5})
    assert r.status_code == 202
    ping_id = UUID(r.json()["id"])
    rows = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.payload["ping_id"].astext == str(ping_id))
        )
    ).all()
    assert sorted(m.target for m in rows) == ["notifier", "ranker"]
    assert all(m.job == "ping" and m.payload["delay_seconds"] == 1.5 and m.producer == "api" for m in rows)


async def test_a_ping_shows_which_workers_recorded_it(operator: AsyncClient, session: AsyncSession) -> None:
    ping_id = (await operator.post("/api/v1/pings", json={"targets": ["notifier"]})).json()["id"]
    pending = (await operator.get(f"/api/v1/pings/{ping_id}")).json()
    assert pending["complete"] is False and pending["receipts"] == []
    [message] = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.payload["ping_id"].astext == ping_id))
    ).all()
    session.add(NotifierPingReceipt(ping_id=UUID(ping_id), message_id=message.id, job_try=1))
    await session.commit()
    done = (await operator.get(f"/api/v1/pings/{ping_id}")).json()
    assert done["complete"] is True
    assert [r["service"] for r in done["receipts"]] == ["notifier"]


async def test_a_worker_named_twice_is_refused(operator: AsyncClient) -> None:
    r = await operator.post("/api/v1/pings", json={"targets": ["ranker", "ranker"]})
    assert r.status_code == 422
    assert "each worker may be named once" in r.json()["detail"]
