"""The set test, after Jepsen's: inspectors' phones send thousands of scores — in batches of any
size, resent on every error with their Idempotency-Key, duplicates mixed in, each phone's takes in
any order — while the api and one of two notifiers and two rankers are SIGKILLed and started
again and Redis is shut down without saving. Afterwards every acknowledged score was received
exactly once, the score that stands for each inspector, project and criterion is the one taken
last, and the ranker's results equal those computed afresh from the stored scores."""

import asyncio
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from services.ranker.scoring import rank_round
from shared.db import create_engine, plain_url, session_factory
from shared.settings import RankerSettings
from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.e2e.scenes import open_round
from tests.faults.conftest import PrivateRedis, redis_ready, wipe
from tests.helpers import eventually, free_port, record_reliability

pytestmark = pytest.mark.e2e

PROJECTS, INSPECTORS, CRITERIA = 40, 6, 2


@dataclass
class Phone:
    """One inspector's phone: its takes, what the api acknowledged, and how often it had to retry."""

    headers: dict[str, str]
    takes: list[dict[str, Any]]
    acknowledged: set[str] = field(default_factory=set)
    answers: Counter[int | str] = field(default_factory=Counter)
    batches: int = 0


async def _send(client: httpx.AsyncClient, url: str, phone: Phone, batch: list[dict[str, Any]]) -> None:
    """POST one batch until it is answered 200, resending the same body under the same key."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline, f"a batch was never answered: {phone.answers}"
        try:
            r = await client.post(
                url, json={"scores": batch}, headers={**phone.headers, "Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            phone.answers[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
            continue
        phone.answers[r.status_code] += 1
        if r.status_code == 200:
            break
        assert r.status_code in (409, 503), r.text  # a key in flight, a dependency away: retried
        await asyncio.sleep(0.2)
    statuses = {i["client_id"]: i["status"] for i in r.json()["items"]}
    assert "rejected" not in statuses.values(), r.text
    phone.acknowledged |= set(statuses)
    phone.batches += 1


async def _score(
    base_url: str, url: str, phone: Phone, rng: random.Random, faults_over: asyncio.Event
) -> None:
    """Send every take, a few at a time, with resends of acknowledged ones mixed in; then keep
    resending until the faults are over, so that requests meet every one of them."""
    todo = rng.sample(phone.takes, len(phone.takes))  # this phone's takes in any order
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while todo or not faults_over.is_set():
            size = rng.randint(3, 15)
            batch, todo = todo[:size], todo[size:]
            sent = [t for t in phone.takes if t["client_id"] in phone.acknowledged]
            batch += rng.sample(sent, min(len(sent), rng.randint(0 if batch else 1, 5)))
            if batch:
                await _send(client, url, phone, rng.sample(batch, len(batch)))
            await asyncio.sleep(rng.uniform(0.05, 0.2))


def _takes(projects: list[str], rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """Each criterion of each project taken twice, the second a minute after the first."""
    return [
        {"client_id": str(uuid.uuid4()), "project_id": p, "criterion": f"c{k}",
         "value": round(rng.uniform(50, 100), 1), "scored_at": (now - timedelta(minutes=m)).isoformat()}
        for p in projects for k in range(CRITERIA) for m in (3, 2)
    ]  # fmt: skip


async def test_every_acknowledged_score_counts_once_through_kills_and_a_redis_wipe(
    spawn: Spawn, base_env: dict[str, str], private_redis: PrivateRedis
) -> None:
    await redis_ready(private_redis.port)
    async with own_database(base_env, "set") as env:
        env = {
            **env,
            "DUBAN_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
            "DUBAN_RECONCILE_INTERVAL_SECONDS": "5",
            "DUBAN_OUTBOX_REDELIVER_SECONDS": "10",
        }
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api = spawn("serve", "api", "--port", str(port), env=env, log="api")
        workers = {
            name: spawn("serve", name.split("-")[0], env=env, log=name)
            for name in ("notifier-1", "notifier-2", "ranker-1", "ranker-2")
        }
        await wait_ready(base_url, api)
        admin = await operator_headers(base_url, env)
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=admin) as c:
            scene = await open_round(c, projects=PROJECTS, inspectors=INSPECTORS, criteria=CRITERIA)
        rng = random.Random(29)
        now = datetime.now(UTC)
        phones = [
            Phone(headers=headers, takes=_takes(scene.projects, rng, now)) for _, headers in scene.inspectors
        ]
        faults: list[str] = []
        faults_over = asyncio.Event()

        async def chaos() -> None:
            nonlocal api
            for cycle in range(3):
                await asyncio.sleep(1.5)
                api.send_signal(signal.SIGKILL)
                api.wait(10)
                api = spawn("serve", "api", "--port", str(port), env=env, log=f"api-{cycle}")
                faults.append("api SIGKILLed")
                for name in (f"notifier-{cycle % 2 + 1}", f"ranker-{cycle % 2 + 1}"):
                    workers[name].send_signal(signal.SIGKILL)
                    workers[name].wait(10)
                    workers[name] = spawn("serve", name.split("-")[0], env=env, log=f"{name}-{cycle}")
                    faults.append(f"{name} SIGKILLed")
                await wait_ready(base_url, api)
                await asyncio.sleep(1)
                await wipe(private_redis)
                faults.append("Redis SHUTDOWN NOSAVE")
            await asyncio.sleep(1)
            faults_over.set()

        started = time.monotonic()
        set_up = started - began
        url = f"/api/v1/rounds/{scene.round_id}/scores"
        await asyncio.gather(
            chaos(),
            *(_score(base_url, url, phone, random.Random(i), faults_over) for i, phone in enumerate(phones)),
        )
        scored = time.monotonic() - started
        await wait_ready(base_url, api)

        conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
        try:
            receipts = Counter(
                str(r["client_id"])
                for r in await conn.fetch(
                    "SELECT client_id FROM score_receipt WHERE round_id = $1", scene.round_id
                )
            )
            standing = {
                (str(r["project_id"]), r["criterion"], str(r["inspector_id"])): (r["value"], str(r["client_id"]))  # noqa: E501
                for r in await conn.fetch(
                    "SELECT project_id, criterion, inspector_id, value, client_id FROM observation_score "
                    "WHERE round_id = $1",
                    scene.round_id,
                )
            }  # fmt: skip
        finally:
            await conn.close()
        taken = {t["client_id"] for phone in phones for t in phone.takes}
        acknowledged = set().union(*(phone.acknowledged for phone in phones))
        assert acknowledged == taken == set(receipts) and set(receipts.values()) == {1}
        latest = {
            (t["project_id"], t["criterion"], inspector): (Decimal(str(t["value"])), t["client_id"])
            for (inspector, _), phone in zip(scene.inspectors, phones, strict=True)
            for t in sorted(phone.takes, key=lambda t: t["scored_at"])
        }
        assert standing == latest

        async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=admin) as c:
            assert (await c.post(f"/api/v1/rounds/{scene.round_id}/close")).status_code == 202

            async def ranked() -> dict[str, Any] | None:
                got = (await c.get(f"/api/v1/rounds/{scene.round_id}/results")).json()
                return got if got.get("state") == "ready" else None

            closed = time.monotonic()
            results = await eventually(ranked, within=120, every=0.5)
            ranking = time.monotonic() - closed
        settings = RankerSettings(database_url=env["DUBAN_DATABASE_URL"], redis_url=env["DUBAN_REDIS_URL"])
        engine = create_engine(settings)
        try:
            replayed = await rank_round(session_factory(engine), uuid.UUID(scene.round_id))
        finally:
            await engine.dispose()
        assert replayed is not None and replayed.version == results["snapshot_version"] == 1
        for proc in (api, *workers.values()):
            assert proc.poll() is None
    answers = sum((phone.answers for phone in phones), Counter())
    record_reliability("set", {
        "faults": faults, "seconds": round(scored), "scores": len(taken),
        "set_up_seconds": round(set_up), "ranked_after_seconds": round(ranking),
        "batches": sum(p.batches for p in phones), "requests": sum(answers.values()),
        "answers": {str(k): v for k, v in answers.items()},
    })  # fmt: skip
