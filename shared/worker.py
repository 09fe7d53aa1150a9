"""What both arq workers share: start-up, metrics, transient-error retries, the reconciler, and
the bulk lane.

A worker service may have a bulk lane: a second arq worker in the same process on the service's
bulk queue (shared/queues.py), running the bulk jobs and the long periodic passes (sweeps,
retries) with their own time limits. The urgent worker never waits behind them, and a crashed
process's urgent jobs are handed on after the urgent jobs' own (short) timeout, not the sweep's.
"""

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, cast

from arq import Retry, cron, func
from arq.worker import Worker, async_check_health
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.db import busy, check_pool_fits, create_engine, session_factory
from shared.outbox import redeliver, relay
from shared.queues import Target, deserialize, queue_name, serialize
from shared.settings import WorkerSettingsBase

log = logging.getLogger(__name__)

JOB_SECONDS = Histogram("duban_job_seconds", "Time spent running a job", ["service", "job"])
JOBS_STARTED = Counter("duban_jobs_started_total", "Jobs started", ["service", "job"])
QUEUE_DEPTH = Gauge("duban_queue_depth", "Jobs waiting in a queue", ["queue"])
RECONCILED = Counter("duban_reconciled_total", "Outbox messages the reconciler sent", ["service", "kind"])

TRANSIENT = (OSError, OperationalError, RedisConnectionError, TimeoutError)
JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    """A job a worker runs when it is enqueued, with its own time limit and tries: a sweep over
    every project and a ping need not share one timeout.

    arq hands a crashed worker's job on once the *longest* timeout of any job or cron of that
    worker, plus 10 s, has passed: a long timeout on one job delays recovery of every job."""

    fn: JobFunction
    timeout: float
    max_tries: int


@dataclass(frozen=True)
class Periodic:
    """A cron job every `every` seconds (it must divide a minute or an hour), tried once a tick
    (the next tick is its retry) and never run by two workers at once."""

    fn: JobFunction
    every: int
    timeout: float
    run_at_startup: bool = False


@dataclass(frozen=True)
class BulkLane:
    """What a service's bulk lane runs: its jobs and periodic passes."""

    functions: list[JobSpec]
    periodic: list[Periodic]


class LaneRunner:
    """The bulk lane's worker, run beside the urgent one inside its life: started by its
    start-up, stopped by its shut-down (which the urgent worker's signal handling calls). In
    burst mode (tests) it stops once its queue is empty."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.worker.main())

    async def stop(self, grace: float) -> None:
        assert self.task is not None
        if not self.worker.burst:
            self.worker.allow_pick_jobs = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._idle()), grace)
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.worker.close()

    async def _idle(self) -> None:
        if running := [t for t in self.worker.tasks.values() if not t.done()]:
            await asyncio.wait(running)


def backoff(job_try: int) -> float:
    """Seconds before retry `job_try`: 2, 4, 8 … capped at a minute."""
    return float(min(60, 2**job_try))


def job(service: Target, fn: JobFunction) -> JobFunction:
    """Time a job, and turn a lost connection or a busy database into an arq Retry with backoff.

    Anything else fails the job for good: retrying a bug only repeats it.
    """

    @functools.wraps(fn)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        JOBS_STARTED.labels(service.value, fn.__name__).inc()
        started = time.perf_counter()
        try:
            return await fn(ctx, *args, **kwargs)
        except TRANSIENT as exc:
            raise Retry(defer=backoff(ctx["job_try"])) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated or busy(exc):  # gone, or too busy (too many clients, a deadlock)
                raise Retry(defer=backoff(ctx["job_try"])) from exc
            raise
        finally:
            JOB_SECONDS.labels(service.value, fn.__name__).observe(time.perf_counter() - started)

    return wrapper


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """Relay this worker's outbox rows left unsent, and redeliver ones Redis lost."""
    settings: WorkerSettingsBase = ctx["settings"]
    target: Target = ctx["target"]
    relayed = await relay(
        ctx["sessions"],
        ctx["redis"],
        settings,
        targets=[target],
        older_than_seconds=settings.outbox_grace_seconds,
    )
    redelivered = await redeliver(
        ctx["sessions"],
        ctx["redis"],
        settings,
        target=target,
        inbox=ctx["inbox"],
        older_than_seconds=settings.outbox_redeliver_seconds,
        max_attempts=settings.outbox_max_attempts,
    )
    RECONCILED.labels(target.value, "relayed").inc(relayed)
    RECONCILED.labels(target.value, "redelivered").inc(redelivered)
    for queue in (queue_name(settings, target), queue_name(settings, target, bulk=True)):
        QUEUE_DEPTH.labels(queue).set(await ctx["redis"].zcard(queue))
    return {"relayed": relayed, "redelivered": redelivered}


def _cron_schedule(interval: int) -> dict[str, Any]:
    if interval < 60:
        return {"second": set(range(0, 60, interval))}
    return {"minute": set(range(0, 60, interval // 60)), "second": 0}


def _functions(target: Target, specs: list[JobSpec]) -> list[Any]:
    # Registered by plain name (the Job names in shared.queues), not arq's default __qualname__,
    # which differs for functions built by a factory.
    return [
        func(
            cast(Any, job(target, spec.fn)),
            name=spec.fn.__name__,
            timeout=spec.timeout,
            max_tries=spec.max_tries,
        )
        for spec in specs
    ]


def _crons(target: Target, periodic: list[Periodic]) -> list[Any]:
    return [
        cron(
            cast(Any, job(target, c.fn)),
            name=c.fn.__name__,
            timeout=c.timeout,
            max_tries=1,
            run_at_startup=c.run_at_startup,
            unique=True,
            **_cron_schedule(c.every),
        )
        for c in periodic
    ]


def _options(settings: WorkerSettingsBase) -> dict[str, Any]:
    return dict(
        redis_settings=settings.redis(),
        max_jobs=settings.max_jobs,
        job_timeout=settings.job_timeout_seconds,
        max_tries=settings.max_tries,
        poll_delay=settings.poll_delay_seconds,
        health_check_interval=settings.health_check_interval_seconds,
        job_completion_wait=settings.shutdown_grace_seconds,
        keep_result=3600,
        job_serializer=serialize,
        job_deserializer=deserialize,
    )


def build_worker(
    settings: WorkerSettingsBase,
    *,
    target: Target,
    inbox: Any,
    functions: list[JobSpec],
    periodic: list[Periodic] | None = None,
    bulk: BulkLane | None = None,
    resources: Callable[[dict[str, Any]], AbstractAsyncContextManager[None]] | None = None,
    **overrides: Any,
) -> Worker:
    """An arq worker on `target`'s urgent queue: each job and cron with its own timeout and tries,
    and the reconciler (every DUBAN_RECONCILE_INTERVAL_SECONDS and at start-up); with `bulk`, the
    bulk lane beside it on the bulk queue, sharing its database pool and resources.

    `resources` is an async context manager that puts the service's own clients into ctx for the
    worker's lifetime.
    """

    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings)
        await check_pool_fits(engine, settings.db_pool_size, target.value)
        ctx.update(settings=settings, target=target, inbox=inbox, engine=engine)
        ctx["sessions"] = session_factory(engine)
        if resources is not None:
            ctx["_resources"] = resources(ctx)
            await ctx["_resources"].__aenter__()
        if settings.metrics_port:
            start_http_server(settings.metrics_port, addr=settings.metrics_host)
        if bulk is not None:
            ctx["_lane"] = LaneRunner(_lane_worker(ctx))
            ctx["_lane"].start()
        log.info("worker started", extra={"queue": queue_name(settings, target)})

    def _lane_worker(parent: dict[str, Any]) -> Worker:
        assert bulk is not None

        async def lane_startup(ctx: dict[str, Any]) -> None:
            ctx.update(
                {k: v for k, v in parent.items() if not k.startswith("_") and k not in ("redis", "job_id")}
            )

        urgent = queue_name(settings, target)

        def after_urgent(fn: JobFunction) -> JobFunction:
            """A bulk job starts once no urgent job waits in the queue (it waits a moment at most)."""

            @functools.wraps(fn)
            async def waiting(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
                for _ in range(50):
                    if not await ctx["redis"].zcount(urgent, "-inf", time.time() * 1000):
                        break
                    await asyncio.sleep(0.01)
                return await fn(ctx, *args, **kwargs)

            return waiting

        specs = [JobSpec(after_urgent(f.fn), f.timeout, f.max_tries) for f in bulk.functions]
        lane = _options(settings) | dict(
            functions=_functions(target, specs),
            cron_jobs=_crons(target, bulk.periodic),
            queue_name=queue_name(settings, target, bulk=True),
            on_startup=lane_startup,
            handle_signals=False,
            max_jobs=settings.bulk_max_jobs,
        )
        for key in ("burst", "poll_delay"):
            if key in overrides:
                lane[key] = overrides[key]
        return Worker(**lane)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "_lane" in ctx:
            await ctx["_lane"].stop(settings.shutdown_grace_seconds)
        if "_resources" in ctx:
            await ctx["_resources"].__aexit__(None, None, None)
        if "engine" in ctx:
            await ctx["engine"].dispose()

    timeout = settings.job_timeout_seconds
    crons = [
        Periodic(reconcile, settings.reconcile_interval_seconds, timeout=timeout, run_at_startup=True),
        *(periodic or []),
    ]
    options = _options(settings) | dict(
        functions=_functions(target, functions),
        cron_jobs=_crons(target, crons),
        queue_name=queue_name(settings, target),
        on_startup=startup,
        on_shutdown=shutdown,
    )
    options.update(overrides)
    return Worker(**options)


async def check_health(settings: WorkerSettingsBase, target: Target, *, bulk: bool = False) -> int:
    """0 when the worker on `target`'s queue (and, with `bulk`, its bulk lane too) reported in
    recently, else 1 (as `arq --check`)."""
    for queue in [queue_name(settings, target)] + ([queue_name(settings, target, bulk=True)] if bulk else []):
        if await async_check_health(settings.redis(), queue + ":health-check", queue):
            return 1
    return 0


def run_forever(make: Callable[[], Worker], *, service: str, max_backoff: float = 30.0) -> None:
    """Run the worker `make` builds until it is asked to stop (SIGINT/SIGTERM), riding out a Redis
    outage of any length: arq's worker stops when Redis goes away, so build a new one and start it
    again, waiting 1 s, then twice as long each time up to `max_backoff`, logging the outage once
    and its end once. While Redis is away the worker writes no health key, so `duban health`
    reports it not ready; back, the reconciler (run at start-up) re-enqueues what was missed."""
    delay, down_since = 1.0, 0.0
    while True:
        worker = make()
        try:
            if down_since:
                log.info("Redis is back; worker running again", extra={"service": service})
            worker.run()
            return  # stopped by a signal
        except TRANSIENT as exc:
            if not worker.allow_pick_jobs:
                # SIGTERM came as Redis went (`compose down` stops both): arq's handler took the
                # signal, then the lost connection ended the run. Stop, as asked; not retry.
                log.info("stopping as asked; Redis went meanwhile", extra={"service": service})
                return
            if not down_since:
                down_since = time.monotonic()
                log.warning(
                    "Redis unavailable; the worker retries until it is back",
                    extra={"service": service, "error": repr(exc)},
                )
            if _sleep_unless_stopped(delay):
                return
            delay = min(max_backoff, delay * 2)


def _sleep_unless_stopped(seconds: float) -> bool:
    """Sleep; True when SIGINT or SIGTERM came meanwhile (the worker should stop, not retry)."""
    stopped = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopped
        stopped = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = time.monotonic() + seconds
        while not stopped and time.monotonic() < deadline:
            time.sleep(min(0.1, deadline - time.monotonic()))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return stopped
