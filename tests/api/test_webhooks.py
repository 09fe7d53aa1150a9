"""Subscribing to events: the secret is kept encrypted, deliveries are listed per webhook."""

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Webhook
from tests.world import World


async def test_a_bank_subscribes_and_its_secret_is_never_shown(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    body = {
        "url": "https://bank.example.cn/duban",
        "events": ["project.approved"],
        "secret": "s3cret-of-the-bank-2018",
    }
    r = await client.post("/api/v1/webhooks", json=body, headers=world.auth("b_admin"))
    assert r.status_code == 201, r.text
    assert r.json()["unit_id"] == str(world.units["B"].id) and "secret" not in r.text
    stored = await session.scalar(select(Webhook).where(Webhook.id == r.json()["id"]))
    assert stored is not None and "s3cret" not in stored.secret_encrypted
    listed = await client.get("/api/v1/webhooks", headers=world.auth("p_admin"))  # the province sees B's
    assert r.json()["id"] in {h["id"] for h in listed.json()["data"]}
    deliveries = await client.get(
        f"/api/v1/webhooks/{r.json()['id']}/deliveries", headers=world.auth("b_admin")
    )
    assert deliveries.json() == {"data": [], "count": 0}


async def test_bad_subscriptions_say_what_to_fix(client: AsyncClient, world: World) -> None:
    admin = world.auth("p_admin")
    cases = {
        "url": {"url": "ftp://bank/x", "events": ["project.approved"], "secret": "x" * 20},
        "events": {"url": "https://bank/x", "events": ["project.deleted"], "secret": "x" * 20},
        "secret": {"url": "https://bank/x", "events": ["project.approved"], "secret": "short"},
    }
    for field, body in cases.items():
        r = await client.post("/api/v1/webhooks", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", field], (field, r.text)
