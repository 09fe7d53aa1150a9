"""Repeated failed sign-ins for one account are refused for a while (429 with Retry-After)."""

from redis.asyncio import Redis

from shared.errors import Throttled
from shared.settings import ApiSettings


def _key(settings: ApiSettings, who: str) -> str:
    return f"{settings.queue_prefix}:signin-failures:{who.lower()}"


async def check(redis: Redis, settings: ApiSettings, who: str) -> None:
    key = _key(settings, who)
    failures = int(await redis.get(key) or 0)
    if failures >= settings.signin_max_failures:
        wait = max(1, int(await redis.ttl(key)))
        raise Throttled(
            f"Too many failed sign-ins for this account; try again in {-(-wait // 60)} minute(s).",
            headers={"Retry-After": str(wait)},
        )


async def failed(redis: Redis, settings: ApiSettings, who: str) -> None:
    key = _key(settings, who)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, settings.signin_lockout_seconds, nx=True)
        await pipe.execute()


async def succeeded(redis: Redis, settings: ApiSettings, who: str) -> None:
    await redis.delete(_key(settings, who))
