"""Phones on bad signal race: twenty batches of one inspector's scores, overlapping in what they
carry and in every order, reach the real api at once. None is answered 500 (a deadlock once
was, 15 of 20), and each score counts once."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import Spawn, api_up, own_database
from tests.e2e.scenes import open_round

pytestmark = pytest.mark.e2e


async def test_racing_overlapping_batches_are_all_answered_and_counted_once(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "racing") as env:
        base_url, admin = await api_up(spawn, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=admin) as c:
            scene = await open_round(c, projects=50, inspectors=1, criteria=2)
        _, phone = scene.inspectors[0]
        now = datetime.now(UTC)
        taken = [  # each project and criterion scored twice, a minute apart
            {"client_id": str(uuid.uuid4()), "project_id": p, "criterion": f"c{k}", "value": v,
             "scored_at": (now - timedelta(minutes=m)).isoformat()}
            for p in scene.projects for k in range(2) for m, v in ((2, 60), (1, 80))
        ]  # fmt: skip
        rng = random.Random(29)
        batches = [rng.sample(taken, len(taken)) for _ in range(20)]  # all of them, each in its order
        url = f"/api/v1/rounds/{scene.round_id}/scores"
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=phone) as p:
            answers = await asyncio.gather(*(p.post(url, json={"scores": b}) for b in batches))
            assert [r.status_code for r in answers] == [200] * len(batches), [
                r.text for r in answers if r.status_code != 200
            ]
            print([(r.json()["accepted"], r.json()["duplicates"], r.json()["superseded"]) for r in answers])
            counted: dict[str, list[str]] = {}
            for r in answers:
                for item in r.json()["items"]:
                    counted.setdefault(item["client_id"], []).append(item["status"])
            for client_id, statuses in counted.items():  # one batch took it; the rest saw a duplicate
                assert len([s for s in statuses if s != "duplicate"]) == 1, (client_id, statuses)
            left = (await p.get(f"/api/v1/rounds/{scene.round_id}/assignments")).json()
        assert len(counted) == len(taken) and all(a["left"] == [] for a in left["data"]), left
