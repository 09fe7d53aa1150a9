"""What both arq workers share: start-up, metrics, transient-error retries, and the reconciler."""

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.worker import Worker, async_check_health
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.db import create_engine, session_factory
from shared.outbox import redeliver, relay
from shared.queues import Job, Target, deserialize, queue_name, serialize
from shared.settings import WorkerSettingsBase

log = logging.getLogger(__name__)

JOB_SECONDS = Histogram("duban_job_seconds", "Time spent running a job", ["service", "job"])
JOBS_STARTED = Counter("duban_jobs_started_total", "Jobs started", ["service", "job"])
QUEUE_DEPTH = Gauge("duban_queue_depth", "Jobs waiting in a queue", ["queue"])
RECONCILED = Counter("duban_reconciled_total", "Outbox messages the reconciler sent", ["service", "kind"])

TRANSIENT = (OSError, OperationalError, RedisConnectionError, TimeoutError)


def backoff(job_try: int) -> float:
    """Seconds before retry `job_try`: 2, 4, 8 … capped at a minute."""
    return float(min(60, 2**job_try))


def job(service: Target, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Time a job, and turn a lost connection into an arq Retry with backoff.

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
            if exc.connection_invalidated:
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
    queue = queue_name(settings, target)
    QUEUE_DEPTH.labels(queue).set(await ctx["redis"].zcard(queue))
    return {"relayed": relayed, "redelivered": redelivered}


def _cron_schedule(interval: int) -> dict[str, Any]:
    if interval < 60:
        return {"second": set(range(0, 60, interval))}
    return {"minute": set(range(0, 60, interval // 60)), "second": 0}


def build_worker(
    settings: WorkerSettingsBase,
    *,
    target: Target,
    inbox: Any,
    functions: list[Callable[..., Awaitable[Any]]],
    periodic: list[tuple[Callable[..., Awaitable[Any]], int]] | None = None,
    resources: Callable[[dict[str, Any]], AbstractAsyncContextManager[None]] | None = None,
    **overrides: Any,
) -> Worker:
    """An arq worker on `target`'s own queue, with explicit timeouts, tries and a reconciler.

    `periodic` adds crons (function, interval in seconds); `resources` is an async context
    manager that puts the service's own clients into ctx for the worker's lifetime.
    """

    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings)
        ctx.update(settings=settings, target=target, inbox=inbox, engine=engine)
        ctx["sessions"] = session_factory(engine)
        if resources is not None:
            ctx["_resources"] = resources(ctx)
            await ctx["_resources"].__aenter__()
        if settings.metrics_port:
            start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("worker started", extra={"queue": queue_name(settings, target)})

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "_resources" in ctx:
            await ctx["_resources"].__aexit__(None, None, None)
        if "engine" in ctx:
            await ctx["engine"].dispose()

    timeout = settings.job_timeout_seconds
    options: dict[str, Any] = dict(
        # Registered by plain name (the Job names in shared.queues), not arq's default
        # __qualname__, which differs for functions built by a factory.
        functions=[
            func(job(target, f), name=f.__name__, timeout=timeout, max_tries=settings.max_tries)
            for f in functions
        ],
        cron_jobs=[
            cron(
                job(target, reconcile),
                name=Job.RECONCILE.value,
                timeout=timeout,
                max_tries=1,
                run_at_startup=True,
                unique=True,
                **_cron_schedule(settings.reconcile_interval_seconds),
            ),
            *[
                cron(
                    job(target, f),
                    name=f.__name__,
                    timeout=timeout,
                    max_tries=1,
                    unique=True,
                    **_cron_schedule(interval),
                )
                for f, interval in periodic or []
            ],
        ],
        queue_name=queue_name(settings, target),
        redis_settings=RedisSettings.from_dsn(str(settings.redis_url)),
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=settings.max_jobs,
        job_timeout=timeout,
        max_tries=settings.max_tries,
        poll_delay=settings.poll_delay_seconds,
        health_check_interval=settings.health_check_interval_seconds,
        job_completion_wait=settings.shutdown_grace_seconds,
        keep_result=3600,
        job_serializer=serialize,
        job_deserializer=deserialize,
    )
    options.update(overrides)
    return Worker(**options)


async def check_health(settings: WorkerSettingsBase, target: Target) -> int:
    """0 when the worker on `target`'s queue reported in recently, else 1 (as `arq --check`)."""
    queue = queue_name(settings, target)
    return await async_check_health(
        RedisSettings.from_dsn(str(settings.redis_url)), queue + ":health-check", queue
    )
