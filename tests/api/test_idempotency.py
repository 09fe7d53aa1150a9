from uuid import uuid4

from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.idempotency import lock_id
from shared.models import IdempotencyRecord, OutboxMessage, Ping
from tests.world import World


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_retry_gets_the_first_response_and_changes_nothing(
    operator: AsyncClient, session: AsyncSession
) -> None:
    key = {"Idempotency-Key": f"phone-{uuid4()}"}
    first = await operator.post("/api/v1/pings", json={"targets": ["notifier"]}, headers=key)
    pings, messages = await count(session, Ping), await count(session, OutboxMessage)
    again = await operator.post("/api/v1/pings", json={"targets": ["notifier"]}, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (await count(session, Ping), await count(session, OutboxMessage)) == (pings, messages)


async def test_the_same_key_for_another_request_is_422(operator: AsyncClient) -> None:
    key = {"Idempotency-Key": f"k-{uuid4()}"}
    assert (
        await operator.post("/api/v1/pings", json={"targets": ["notifier"]}, headers=key)
    ).status_code == 202
    r = await operator.post("/api/v1/pings", json={"targets": ["ranker"]}, headers=key)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "different request" in r.json()["detail"]


async def test_without_a_key_each_post_is_new(operator: AsyncClient) -> None:
    a = await operator.post("/api/v1/pings", json={})
    b = await operator.post("/api/v1/pings", json={})
    assert a.json()["id"] != b.json()["id"]


async def test_a_refused_request_does_not_use_up_its_key(operator: AsyncClient) -> None:
    key = {"Idempotency-Key": f"k-{uuid4()}"}
    assert (await operator.post("/api/v1/pings", json={"delay_seconds": -1}, headers=key)).status_code == 422
    assert (await operator.post("/api/v1/pings", json={"delay_seconds": 1}, headers=key)).status_code == 202


async def test_a_key_still_in_flight_is_409(operator: AsyncClient, engine: AsyncEngine, world: World) -> None:
    key = f"k-{uuid4()}"
    caller = f"user:{world.users['p_admin'].id}"
    async with engine.connect() as other:  # another request holding the key
        await other.begin()
        await other.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(caller, key)})
        r = await operator.post("/api/v1/pings", json={}, headers={"Idempotency-Key": key})
    assert r.status_code == 409
    assert r.headers["Retry-After"] == "1"
    assert "still being processed" in r.json()["detail"]


async def test_an_overlong_key_is_refused(operator: AsyncClient) -> None:
    r = await operator.post("/api/v1/pings", json={}, headers={"Idempotency-Key": "x" * 256})
    assert r.status_code == 422
    assert "1 to 255 characters" in r.json()["detail"]


async def test_keys_are_kept_a_day_and_then_forgotten(operator: AsyncClient, session: AsyncSession) -> None:
    key = f"k-{uuid4()}"
    headers = {"Idempotency-Key": key}
    await operator.post("/api/v1/pings", json={"targets": ["notifier"]}, headers=headers)
    aged = update(IdempotencyRecord).where(IdempotencyRecord.key == key)
    await session.execute(aged.values(created_at=func.now() - text("interval '25 hours'")))
    await session.commit()
    kept = await operator.post("/api/v1/pings", json={"targets": ["ranker"]}, headers=headers)
    assert kept.status_code == 422  # 25 h: still remembered
    await session.execute(aged.values(created_at=func.now() - text("interval '49 hours'")))
    await session.commit()
    reused = await operator.post("/api/v1/pings", json={"targets": ["ranker"]}, headers=headers)
    assert reused.status_code == 202 and "Idempotent-Replayed" not in reused.headers


async def test_keys_belong_to_their_caller(client: AsyncClient, world: World) -> None:
    """Two systems that happen to pick the same key do not see each other's responses."""
    key = {"Idempotency-Key": "retry-1"}
    mine = await client.post("/api/v1/pings", json={}, headers={**key, **world.auth("p_admin")})
    theirs = await client.post("/api/v1/pings", json={}, headers={**key, **world.auth("q_admin")})
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


async def test_the_same_body_with_its_keys_reordered_is_the_same_request(
    operator: AsyncClient, session: AsyncSession
) -> None:
    """A phone that rebuilds its JSON on retry may order the keys differently: still a replay."""
    key = {"Idempotency-Key": f"k-{uuid4()}", "content-type": "application/json"}
    first = await operator.post(
        "/api/v1/pings", content=b'{"targets": ["notifier"], "delay_seconds": 0}', headers=key
    )
    pings = await count(session, Ping)
    again = await operator.post(
        "/api/v1/pings", content=b'{"delay_seconds":0,"targets":["notifier"]}', headers=key
    )
    assert first.status_code == again.status_code == 202, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await count(session, Ping) == pings
    other = await operator.post(
        "/api/v1/pings", content=b'{"delay_seconds":1,"targets":["notifier"]}', headers=key
    )
    assert other.status_code == 422  # another body is still another request


async def test_a_delay_is_a_number_not_false(operator: AsyncClient) -> None:
    r = await operator.post("/api/v1/pings", json={"targets": ["notifier"], "delay_seconds": False})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "delay_seconds"]
