"""The ranker SIGKILLed halfway through a round and run again leaves exactly the snapshot an
undisturbed run computes: nothing half-written, no version skipped, none doubled.

"Halfway" is made certain: the test holds the ratings table locked, so the ranker, its snapshot
row written, waits to write the ratings; it is killed there."""

import asyncio
import json
import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from shared.db import create_engine, plain_url, session_factory
from shared.settings import ApiSettings
from tests.e2e.conftest import own_database
from tests.ranker.scene import SCORES, Scene, make_scene, score_all

pytestmark = pytest.mark.e2e


async def _round(env: dict[str, str]) -> Scene:
    engine = create_engine(
        ApiSettings(database_url=env["DUBAN_DATABASE_URL"], redis_url=env["DUBAN_REDIS_URL"])
    )
    try:
        async with session_factory(engine)() as session:
            scene = await make_scene(session)
            await score_all(session, scene, SCORES)
            return scene
    finally:
        await engine.dispose()


def _rank(env: dict[str, str], scene: Scene) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "ranker", "run", "--round", str(scene.round.id)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def _waiting_to_rate(conn: asyncpg.Connection, victim: subprocess.Popen[bytes]) -> int:
    for _ in range(600):
        pid = await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE NOT granted AND relation = CAST('snapshot_ratings' AS regclass)"
        )
        if pid:
            return int(pid)
        assert victim.poll() is None, victim.communicate()[0]
        await asyncio.sleep(0.05)
    victim.kill()
    raise AssertionError(f"the ranker never reached its ratings: {victim.communicate()[0]!r}")


async def test_a_ranker_killed_halfway_and_run_again_keeps_one_true_snapshot(
    base_env: dict[str, str],
) -> None:
    async with own_database(base_env, "ranker_killed") as env:
        env = {**os.environ, **env}
        scene = await _round(env)
        url = plain_url(env["DUBAN_DATABASE_URL"])
        holder, watcher = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            held = holder.transaction()
            await held.start()
            await holder.execute("LOCK TABLE snapshot_ratings IN EXCLUSIVE MODE")
            victim = _rank(env, scene)
            pid = await _waiting_to_rate(watcher, victim)
            began = await watcher.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND granted "
                "AND relation = CAST('round_snapshot' AS regclass) AND mode = 'RowExclusiveLock'",
                pid,
            )
            assert began, "the ranker should be killed with its snapshot row written, not before"
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            await held.rollback()
            for _ in range(200):
                if not await watcher.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                    break
                await asyncio.sleep(0.05)
            assert await watcher.fetchval("SELECT count(*) FROM round_snapshot") == 0
            assert await watcher.fetchval("SELECT count(*) FROM snapshot_ratings") == 0
        finally:
            await holder.close()
            await watcher.close()
        rerun = await asyncio.to_thread(_rank(env, scene).communicate)
        undisturbed = await asyncio.to_thread(_rank(env, scene).communicate)
        first, second = json.loads(rerun[0]), json.loads(undisturbed[0])
        assert first["version"] == 1 and second == first  # the same digest, and no version 2
