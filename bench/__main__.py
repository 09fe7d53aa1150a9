"""`make bench`: each api endpoint next to bare baselines measured in the same run, then the
notifier's sweep and latency (bench/notices.py; `BENCH_ONLY=notices` runs those alone), the
ranker on a 1M-score round (bench/ranker.py; `BENCH_ONLY=ranker`) and the monthly bulletin and
office overview (bench/bulletins.py; `BENCH_ONLY=bulletins`).

Absolute numbers on these 2-core machines are noisy; the ratios are what count. Each case
runs `BENCH_ROUNDS` times interleaved with the others, and the best round is kept.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx
import redis

from bench import bulletins, library, notices, ranker
from bench.load import Result, drive, generator
from bench.stack import admin, free_port, signed_in, wait
from services.api.migrate import upgrade
from shared.db import plain_url

ADMIN_URL = os.environ.get("DUBAN_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DUBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
RESULTS = Path(__file__).parent / "results"
LIBRARY_SIZE = int(os.environ.get("BENCH_PROJECTS", "50000"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
ONLY = os.environ.get("BENCH_ONLY", "")
DUES_PROJECTS = int(os.environ.get("BENCH_DUES_PROJECTS", "10000"))


async def _some_projects(db_url: str, n: int) -> list[str]:
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        return [str(r[0]) for r in await conn.fetch("SELECT id FROM project ORDER BY code LIMIT $1", n)]
    finally:
        await conn.close()


def main() -> None:
    if ONLY in ("notices", "sweep", "latency"):
        notices.main()
        return
    if ONLY == "ranker":
        ranker.main()
        return
    if ONLY == "bulletins":
        bulletins.main()
        return
    api_bench()
    if not ONLY:
        notices.main()
        ranker.main()
        bulletins.main()


def api_bench() -> None:
    run_id = uuid.uuid4().hex[:8]
    db_name = f"duban_bench_{run_id}"
    prefix = f"duban-bench-{run_id}"
    asyncio.run(admin(ADMIN_URL, f'CREATE DATABASE "{db_name}"'))
    from sqlalchemy.engine import make_url

    db_url = make_url(ADMIN_URL).set(database=db_name).render_as_string(hide_password=False)
    upgrade(db_url)
    env = {
        **os.environ,
        "DUBAN_DATABASE_URL": db_url,
        "DUBAN_REDIS_URL": REDIS_URL,
        "DUBAN_QUEUE_PREFIX": prefix,
        "DUBAN_ENVIRONMENT": "test",
        "DUBAN_LOG_LEVEL": "WARNING",
        "DUBAN_DB_POOL_SIZE": "20",  # as many as the bare baseline's pool
        "DUBAN_SIGNIN_MAX_FAILURES": "100",
        "BENCH_DATABASE_URL": plain_url(db_url),
    }
    api_port, base_port, floor_port, plain_port = free_port(), free_port(), free_port(), free_port()
    served = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "api", "--port", str(api_port)], env=env
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline:app",
                "--port",
                str(base_port),
                *served,
            ],
            env=env,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.framework:app", "--port", str(floor_port), *served],
            env=env,
        ),
        # the api again, routed by Starlette alone: what PathIndex earns
        subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "api", "--port", str(plain_port)],
            env={**env, "DUBAN_PATH_INDEX": "false"},
        ),
    ]
    api, base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{base_port}"
    floor, plain = f"http://127.0.0.1:{floor_port}", f"http://127.0.0.1:{plain_port}"
    try:
        wait(f"{api}/readyz", procs[0])
        wait(f"{base}/json", procs[1])
        wait(f"{floor}/ready", procs[2])
        wait(f"{plain}/readyz", procs[3])
        auth = signed_in(api, env)
        seeded = asyncio.run(library.seed(plain_url(db_url), "BENCH", projects=LIBRARY_SIZE))
        listing = f"{api}/api/v1/projects?" + urlencode({**library.LIST_FILTERS, "sort": library.LIST_SORT})
        ping = httpx.post(f"{api}/api/v1/pings", json={"targets": ["notifier"]}, headers=auth).json()["id"]
        ping_body = '{"targets": ["notifier"]}'
        cases: list[tuple[str, str, dict[str, object], str | None]] = [
            ("bare JSON", f"{base}/json", {}, None),
            ("bare INSERT (asyncpg)", f"{base}/insert", {"method": "POST", "body": ping_body}, None),
            (  # the floor of the key's cost: its round trips alone, no framework
                "bare INSERT + Idempotency-Key (asyncpg)",
                f"{base}/insert-keyed",
                {"method": "POST", "body": ping_body, "unique_keys": True},
                "bare INSERT (asyncpg)",
            ),
            ("GET /healthz", f"{api}/healthz", {}, "bare JSON"),
            ("GET /api/v1/me (token check)", f"{api}/api/v1/me", {"headers": auth}, "bare JSON"),
            (
                "GET /api/v1/me (token check), no PathIndex",
                f"{plain}/api/v1/me",
                {"headers": auth},
                "bare JSON",
            ),
            ("GET /api/v1/pings/{id}", f"{api}/api/v1/pings/{ping}", {"headers": auth}, "bare JSON"),
            (
                "POST /api/v1/pings",
                f"{api}/api/v1/pings",
                {"method": "POST", "body": ping_body, "headers": auth},
                "bare INSERT (asyncpg)",
            ),
            (  # what the key costs: against the same POST without one (target: at least 0.8x)
                "POST /api/v1/pings + Idempotency-Key",
                f"{api}/api/v1/pings",
                {"method": "POST", "body": ping_body, "unique_keys": True, "headers": auth},
                "POST /api/v1/pings",
            ),
        ]
        report_paths = [
            f"/api/v1/projects/{pid}/reports" for pid in asyncio.run(_some_projects(db_url, 2000))
        ]
        report_body = '{"period": "2018-12", "investment_month": "1", "progress_percent": "50"}'
        # the same filing in other months, so that the floors below keep their own deadlines
        floor_body, bare_body = (report_body.replace("2018-12", month) for month in ("2018-11", "2018-10"))
        cases += [
            (
                "FastAPI floor: report POST, no DB/auth",
                f"{floor}/projects/{uuid.uuid4()}/reports",
                {"method": "POST", "body": report_body},
                "bare INSERT (asyncpg)",
            ),
            (
                "bare filing function (asyncpg)",
                f"{base}{report_paths[0][7:]}",
                {"method": "POST", "body": bare_body, "paths": [p[7:] for p in report_paths]},
                "bare INSERT (asyncpg)",
            ),
            (
                "FastAPI + the filing function, no auth/ORM",
                f"{floor}/filed{report_paths[0][7:]}",
                {"method": "POST", "body": floor_body, "paths": [f"/filed{p[7:]}" for p in report_paths]},
                "bare INSERT (asyncpg)",
            ),
            (
                "POST /api/v1/projects/{id}/reports",
                f"{api}{report_paths[0]}",
                {"method": "POST", "body": report_body, "headers": auth, "paths": report_paths},
                "bare INSERT (asyncpg)",
            ),
            (  # what the key costs: against the same filing without one (target: at least 0.8x)
                "POST /api/v1/projects/{id}/reports + Idempotency-Key",
                f"{api}{report_paths[0]}",
                {
                    "method": "POST",
                    "body": report_body,
                    "headers": auth,
                    "paths": report_paths,
                    "unique_keys": True,
                },
                "POST /api/v1/projects/{id}/reports",
            ),
            (
                "POST /api/v1/projects/{id}/reports, no PathIndex",
                f"{plain}{report_paths[0]}",
                {"method": "POST", "body": report_body, "headers": auth, "paths": report_paths},
                "bare INSERT (asyncpg)",
            ),
            ("bare SELECT page (asyncpg)", f"{base}/projects", {}, None),
            (
                f"GET /api/v1/projects ({LIBRARY_SIZE // 1000}k, 2 filters + sort)",
                listing,
                {"headers": auth},
                "bare SELECT page (asyncpg)",
            ),
        ]
        cases += _score_cases(
            api, base, auth, seeded["program_id"], asyncio.run(_some_projects(db_url, 1000))
        )
        if ONLY:  # e.g. BENCH_ONLY=projects: just those cases and the baselines they are measured against
            wanted = {c[0] for c in cases if ONLY in c[0]}
            if ONLY == "reports":
                wanted |= {c[0] for c in cases if c[0].startswith("FastAPI ") or "filing" in c[0]}
            if ONLY == "scores":  # the floor: the api's cheapest write with auth and an Idempotency-Key
                wanted |= {"POST /api/v1/pings + Idempotency-Key"}
            for _ in range(3):  # the baselines they are measured against, and theirs
                wanted |= {c[3] for c in cases if c[0] in wanted and c[3]}
            cases = [c for c in cases if c[0] in wanted]
        for _, url, opts, _ in cases:  # warm-up
            drive(url, seconds=1, connections=CONNECTIONS, **opts)  # type: ignore[arg-type]
        best: dict[str, Result] = {}
        for _ in range(ROUNDS):
            for name, url, opts, _ in cases:
                r = drive(url, seconds=SECONDS, connections=CONNECTIONS, **opts)  # type: ignore[arg-type]
                if name not in best or r.requests_per_second > best[name].requests_per_second:
                    best[name] = r
        report(cases, best)
        if not ONLY or ONLY in "dues":
            dues_program = asyncio.run(library.seed_dues(plain_url(db_url), "BENCH", projects=DUES_PROJECTS))
            ms = library.time_dues(api, auth, dues_program)
            print(
                f"\nGET /api/v1/reports/dues ({DUES_PROJECTS} projects, as of 2018-10-09, page + counts): "
                f"median {ms[len(ms) // 2]:.0f} ms, slowest {ms[-1]:.0f} ms of {len(ms)} "
                "(target: under 500 ms)"
            )
        if not ONLY or ONLY in "import":
            content = library.import_file(IMPORT_ROWS, seeded["county_code"])
            seconds, body = library.time_import(api, auth, seeded["program_id"], content)
            print(
                f"\nPOST /api/v1/projects/import: {IMPORT_ROWS} rows ({len(content) // 1024} KiB .xlsx) "
                f"imported {body['created']} projects in {seconds:.1f} s (target: within 10 s)"
            )
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
        asyncio.run(admin(ADMIN_URL, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(f"{prefix}*"))
        # arq keeps each job under arq:job:<id>, outside our prefix: the jobs the relay queued
        # (no worker runs here to take them) go with their queues.
        for queue in (k for k in keys if r.type(k) == b"zset"):
            keys += [b"arq:job:" + job for job in r.zrange(queue, 0, -1)]
        if keys:
            r.delete(*keys)


SCORE_ITEM = (
    '{"client_id": "<uuid>", "project_id": "<project>", "criterion": "<criterion>", '
    '"value": 7.5, "scored_at": "SCORED_AT"}'
)


def _score_cases(
    api: str, base: str, auth: dict[str, str], program_id: str, projects: list[str]
) -> list[tuple[str, str, dict[str, object], str | None]]:
    """An open round over 1,000 projects with a 10-criterion rubric and an inspector at the
    office; batches of 10 fresh scores (random project and criterion) to the api and to the bare
    unnest INSERT."""
    office = httpx.get(f"{api}/api/v1/me", headers=auth).json()["unit_id"]
    inspector = {"username": "bench-inspector", "password": "Inspector-2026x"}
    r = httpx.post(
        f"{api}/api/v1/users",
        json={**inspector, "display_name": "督查员", "unit_id": office, "roles": ["inspector"]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    inspector_id = r.json()["id"]
    grant = {"grant_type": "password", **inspector}
    phone = {
        "Authorization": f"Bearer {httpx.post(f'{api}/api/v1/auth/token', data=grant).json()['access_token']}"
    }
    now = datetime.now(UTC)
    rubric = [{"key": f"c{i}", "name": f"评分项{i}", "weight": "1", "max_score": "10"} for i in range(10)]
    r = httpx.post(
        f"{api}/api/v1/rounds",
        json={
            "program_id": program_id, "name": "基准观摩", "quarter": f"{now.year}Q{(now.month - 1) // 3 + 1}",
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=1)).isoformat(),
            "rubric": rubric, "project_ids": projects, "inspector_user_ids": [inspector_id],
        },
        headers=auth,
        timeout=60,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    assert httpx.post(f"{api}/api/v1/rounds/{round_id}/open", headers=auth).status_code == 200
    item = SCORE_ITEM.replace("SCORED_AT", (now - timedelta(minutes=1)).isoformat())
    # one item per criterion (a batch never names a criterion of a project twice), random projects
    body = '{"scores": [' + ", ".join(item.replace("<criterion>", c["key"]) for c in rubric) + "]}"
    fills = {"project": projects}
    return [
        (
            "bare scores INSERT ... unnest (asyncpg)",
            f"{base}/rounds/{round_id}/scores?inspector={inspector_id}",
            {"method": "POST", "body": body, "fills": fills},
            None,
        ),
        (
            "POST /api/v1/rounds/{id}/scores (10 a batch)",
            f"{api}/api/v1/rounds/{round_id}/scores",
            {"method": "POST", "body": body, "fills": fills, "unique_keys": True, "headers": phone},
            "bare scores INSERT ... unnest (asyncpg)",
        ),
    ]


def report(cases: list[tuple[str, str, dict[str, object], str | None]], best: dict[str, Result]) -> None:
    print(f"\nload: {generator()}, {CONNECTIONS} connections, {SECONDS}s x {ROUNDS} rounds (best kept)\n")
    head = f"{'endpoint':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  vs baseline"
    print(head)
    print("-" * len(head))
    rows = []
    for name, _, _, baseline in cases:
        r = best[name]
        vs = ""
        row: dict[str, object] = {"endpoint": name, **r.__dict__, "baseline": baseline}
        if baseline:
            b = best[baseline]
            throughput, p99 = r.requests_per_second / b.requests_per_second, r.p99_ms / b.p99_ms
            vs = f"{throughput:5.2f}x req/s, {p99:5.2f}x p99 of {baseline}"
            row |= {"throughput_ratio": round(throughput, 3), "p99_ratio": round(p99, 3)}
        rows.append(row)
        print(f"{name:42} {r.requests_per_second:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d}  {vs}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"generator": generator(), "rows": rows}, indent=2))
    print(f"\nwritten to {RESULTS / 'latest.json'}")
    failed = [name for name, r in best.items() if r.errors]
    if failed:
        raise SystemExit(f"bench: requests failed in {', '.join(failed)}: those numbers measure errors")


if __name__ == "__main__":
    main()
