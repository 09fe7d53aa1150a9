"""The whole system under load while its dependencies fail: `duban run` (api, notifier, ranker)
and a second notifier and ranker beside it (the Redis storm), on a database and a Redis of its
own, approvals and filings running all along.

- Redis stopped for 1 s, for 30 s, and shut down without saving (`SHUTDOWN NOSAVE`, its queues
  lost) and started again, the notices' sweep running every minute: afterwards every approval's
  webhook reached the bank exactly once with a valid signature, no request answered 500, and no
  service needed a manual restart.
- Every service connection to PostgreSQL terminated three times: no 500, only 503s with
  Retry-After, every filing answered 201 saved exactly once (retries carry their Idempotency-Key),
  every webhook delivered (at least once, a resend under the same X-Duban-Delivery), and the
  system works on without a restart.

The figures of each run are written to $DUBAN_RELIABILITY_DIR when set (`make reliability`
turns them into the README's Reliability section)."""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import plain_url
from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.faults.conftest import PrivateRedis, redis_ready, wipe
from tests.helpers import eventually, free_port, receiving, record_reliability

pytestmark = pytest.mark.e2e
SECRET = "bank-of-luoyang-webhook-secret"


class Load:
    """Clients working through the faults: each status answered is counted."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.c = client
        self.statuses: Counter[int] = Counter()
        self.approved: set[str] = set()
        self.filed: dict[str, str] = {}  # Idempotency-Key -> project id, of filings answered 201
        self.stop = asyncio.Event()

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The request, sent again (same body, same Idempotency-Key) while the answer is 503."""
        while True:
            try:
                r = await self.c.request(method, url, **kwargs)
            except httpx.TransportError:
                self.statuses[0] += 1  # the api was unreachable: not an answer
                await asyncio.sleep(0.2)
                continue
            self.statuses[r.status_code] += 1
            if r.status_code != 503:
                return r
            assert "Retry-After" in r.headers
            await asyncio.sleep(min(float(r.headers["Retry-After"]), 1.0))

    async def approvals(self, program: str, unit: str) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            code = f"S-{n:04d}"
            project = await self.call("POST", "/api/v1/projects", json=_project(program, unit, code),
                                      headers={"Idempotency-Key": f"create-{code}"})  # fmt: skip
            assert project.status_code in (201, 409), project.text
            if project.status_code == 409:  # created by an earlier try whose answer was lost
                continue
            pid = project.json()["id"]
            for step in ("submit", "approve"):
                r = await self.call("POST", f"/api/v1/projects/{pid}/{step}")
                assert r.status_code in (200, 409), r.text
            self.approved.add(code)

    async def filings(self) -> None:
        while not self.stop.is_set():
            if not self.approved:
                await asyncio.sleep(0.1)
                continue
            listed = await self.call(
                "GET", "/api/v1/projects", params={"status": "approved", "page_size": 500}
            )
            for p in listed.json()["data"]:
                if self.stop.is_set():
                    return
                key = uuid.uuid4().hex
                r = await self.call(
                    "POST",
                    f"/api/v1/projects/{p['id']}/reports",
                    json={"period": "2018-05", "investment_month": "10", "progress_percent": "5"},
                    headers={"Idempotency-Key": key},
                )
                assert r.status_code == 201, r.text
                self.filed[key] = p["id"]


def _project(program: str, unit: str, code: str) -> dict[str, Any]:
    return {
        "program_id": program, "code": code, "name": f"风暴测试项目{code}", "category": "现代产业",
        "region_unit_id": unit, "owner_unit_id": unit, "responsible_unit_id": unit,
        "leader": {"name": "张三", "title": "副县长"}, "construction": "new", "stage": "construction",
        "total_investment": "28000", "annual_plan": "13000",
        "start_date": "2018-01-01", "end_date": "2019-12-31",
    }  # fmt: skip


async def _system(c: httpx.AsyncClient, bank_url: str) -> tuple[str, str]:
    """A county, a program and the bank's webhook: (program id, unit id)."""
    me = (await c.get("/api/v1/me")).json()
    county = await c.post("/api/v1/units", json={"code": "LC", "name": "栾川县", "kind": "government"})
    program = await c.post(
        "/api/v1/programs",
        json={"code": "BC", "name": "重点项目 2018", "year": 2018, "office_unit_id": me["unit_id"]},
    )
    hook = await c.post(
        "/api/v1/webhooks", json={"url": bank_url, "events": ["project.approved"], "secret": SECRET}
    )
    assert county.status_code == program.status_code == hook.status_code == 201
    return program.json()["id"], county.json()["id"]


async def _under_load(load: Load, program: str, unit: str, faults: Callable[[], Awaitable[None]]) -> None:
    workers = [asyncio.create_task(load.approvals(program, unit)), asyncio.create_task(load.filings())]
    try:
        await asyncio.sleep(2)  # load running before the first fault
        await faults()
        await asyncio.sleep(3)  # and after the last
    finally:
        load.stop.set()
        done = await asyncio.gather(*workers, return_exceptions=True)
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome


async def _delivered(env: dict[str, str]) -> int:
    conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM webhook_delivery WHERE state = 'delivered'"))
    finally:
        await conn.close()


async def _where_they_are(env: dict[str, str], load: Load, received: list[Any]) -> str:
    """Where the webhooks that did not arrive are: unsent, sent but not applied, or pending."""
    conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
    try:
        outbox = await conn.fetch(
            "SELECT o.job, o.sent_at IS NOT NULL AS sent, i.message_id IS NOT NULL AS applied, o.attempts, "
            "count(*) FROM outbox o LEFT JOIN notifier_inbox i ON i.message_id = o.id GROUP BY 1, 2, 3, 4"
        )
        deliveries = await conn.fetch("SELECT state, attempts, count(*) FROM webhook_delivery GROUP BY 1, 2")
    finally:
        await conn.close()
    return (
        f"{len(load.approved)} approved, {len(received)} received; outbox (job, sent, applied, attempts, n): "
        f"{[tuple(r) for r in outbox]}; deliveries (state, attempts, n): {[tuple(r) for r in deliveries]}"
    )


async def test_webhooks_arrive_exactly_once_through_redis_outages(
    spawn: Spawn, base_env: dict[str, str], private_redis: PrivateRedis
) -> None:
    await redis_ready(private_redis.port)
    async with own_database(base_env, "storm") as env:
        env = {
            **env,
            "DUBAN_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
            "DUBAN_DEV_STACK": "external",
            "DUBAN_RECONCILE_INTERVAL_SECONDS": "5",
            "DUBAN_OUTBOX_REDELIVER_SECONDS": "10",
            "DUBAN_SWEEP_INTERVAL_SECONDS": "60",
        }  # what Redis lost comes back within 10 s; the notices' sweep runs among it all; fmt: skip
        port = free_port()
        system = spawn("run", "--port", str(port), env=env, log="storm")
        # scale-out, as offices run it: a second notifier and a second ranker beside `duban run`'s
        spawn("serve", "notifier", env=env, log="storm-notifier-2")
        spawn("serve", "ranker", env=env, log="storm-ranker-2")
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, system)
        admin = await operator_headers(base_url, env)
        async with receiving() as bank, httpx.AsyncClient(base_url=base_url, timeout=15, headers=admin) as c:
            program, unit = await _system(c, bank.url)
            load = Load(c)
            outages: list[str] = []

            async def faults() -> None:
                for seconds in (1, 30):
                    private_redis.stop()
                    await asyncio.sleep(seconds)
                    private_redis.start()
                    await redis_ready(private_redis.port)
                    outages.append(f"stopped {seconds} s")
                    await asyncio.sleep(3)
                await wipe(private_redis)
                outages.append("SHUTDOWN NOSAVE")

            started = time.monotonic()
            await _under_load(load, program, unit, faults)
            assert load.approved, "no approval went through"

            async def all_delivered() -> bool | None:
                return await _delivered(env) >= len(load.approved) or None

            try:
                await eventually(all_delivered, within=90, every=0.5)
            except AssertionError:
                raise AssertionError(await _where_they_are(env, load, bank.requests)) from None
            await asyncio.sleep(2)  # a second delivery, were there one, would have come by now
            codes = Counter(json.loads(body)["data"]["code"] for _, body in bank.requests)
            for headers, body in bank.requests:
                signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                assert headers["x-duban-signature"] == signature
            assert set(codes) == load.approved and set(codes.values()) == {1}, codes
            assert load.statuses[500] == 0, load.statuses
            assert system.poll() is None
    record_reliability("redis", {
        "faults": outages, "seconds": round(time.monotonic() - started),
        "requests": sum(load.statuses.values()), "answered_503": load.statuses[503],
        "answered_500": load.statuses[500], "approvals": len(load.approved),
        "webhooks_delivered": sum(codes.values()), "filings": len(load.filed),
    })  # fmt: skip


async def test_filings_survive_every_database_connection_being_cut(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "cut") as env:
        env = {**env, "DUBAN_DEV_STACK": "external"}
        port = free_port()
        system = spawn("run", "--port", str(port), env=env, log="cut")
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, system)
        admin = await operator_headers(base_url, env)
        cuts: list[int] = []
        async with receiving() as bank, httpx.AsyncClient(base_url=base_url, timeout=15, headers=admin) as c:
            program, unit = await _system(c, bank.url)
            load = Load(c)

            async def faults() -> None:
                conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
                try:
                    for _ in range(3):
                        cut = await conn.fetchval(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                        cuts.append(cut)
                        await asyncio.sleep(2)
                finally:
                    await conn.close()

            started = time.monotonic()
            await _under_load(load, program, unit, faults)
            assert all(n >= 1 for n in cuts), cuts
            assert load.statuses[500] == 0, load.statuses
            conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
            try:  # each filing answered 201 is there once: the same key never made two versions
                stored = await conn.fetchval("SELECT count(*) FROM project_report")
                keys = await conn.fetchval("SELECT count(*) FROM idempotency_key WHERE path LIKE '%/reports'")
            finally:
                await conn.close()
            assert stored == len(load.filed) == keys, (stored, len(load.filed), keys)

            async def all_delivered() -> bool | None:
                return await _delivered(env) >= len(load.approved) or None

            await eventually(all_delivered, within=60, every=0.5)
            # At least once: a connection cut between the bank's answer and recording it sends that
            # delivery again, under the same X-Duban-Delivery the bank deduplicates by.
            codes = Counter(json.loads(body)["data"]["code"] for _, body in bank.requests)
            assert set(codes) == load.approved, codes
            assert len({headers["x-duban-delivery"] for headers, _ in bank.requests}) == len(load.approved)
            resent = len(bank.requests) - len(load.approved)

            assert system.poll() is None
    record_reliability("postgres", {
        "faults": [f"{n} connections terminated" for n in cuts], "seconds": round(time.monotonic() - started),
        "requests": sum(load.statuses.values()), "answered_503": load.statuses[503],
        "answered_500": load.statuses[500], "filings": len(load.filed), "approvals": len(load.approved),
        "webhooks_resent": resent,
    })  # fmt: skip
