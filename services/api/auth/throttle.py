"""Failed sign-ins are throttled per (account, client address) and per client address, with
growing waits (429 with Retry-After) — never per account alone, so that somebody who knows a
liaison's username cannot lock the liaison out on deadline day: the owner, signing in from their
own device, still gets in.

- (account, address): after DUBAN_SIGNIN_MAX_FAILURES failures within DUBAN_SIGNIN_LOCKOUT_SECONDS,
  that pair waits 60 s, then twice as long after each further failure, up to the lockout period;
- address: after ADDRESS_FACTOR times as many failures (any accounts: password spraying), the
  address waits the same way.

A success clears the pair's count. Redis keeps the counts; without Redis sign-in is refused (503).
"""

from redis.asyncio import Redis

from shared.errors import Throttled
from shared.i18n import tr
from shared.settings import ApiSettings

ADDRESS_FACTOR = 10
FIRST_WAIT_SECONDS = 60


def _keys(settings: ApiSettings, scope: str) -> tuple[str, str]:
    base = f"{settings.queue_prefix}:signin:{scope}"
    return f"{base}:failures", f"{base}:locked"


def _scopes(who: str, address: str) -> list[tuple[str, int]]:
    """(scope, failures allowed before it waits): the pair, then the address."""
    return [(f"{who.lower()}@{address}", 1), (f"@{address}", ADDRESS_FACTOR)]


async def check(redis: Redis, settings: ApiSettings, who: str, address: str) -> None:
    for scope, _ in _scopes(who, address):
        _, locked = _keys(settings, scope)
        wait = await redis.pttl(locked)
        if wait > 0:
            seconds = max(1, -(-wait // 1000))
            raise Throttled(
                tr(
                    "Too many failed sign-ins from this device; try again in {minutes} minute(s).",
                    minutes=-(-seconds // 60),
                ),
                headers={"Retry-After": str(seconds)},
            )


async def failed(redis: Redis, settings: ApiSettings, who: str, address: str) -> None:
    for scope, factor in _scopes(who, address):
        counter, locked = _keys(settings, scope)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, settings.signin_lockout_seconds, nx=True)
            failures, _ = await pipe.execute()
        allowed = settings.signin_max_failures * factor
        if failures >= allowed:
            wait = min(settings.signin_lockout_seconds, FIRST_WAIT_SECONDS * 2 ** (failures - allowed))
            await redis.set(locked, 1, ex=wait)


async def succeeded(redis: Redis, settings: ApiSettings, who: str, address: str) -> None:
    await redis.delete(*_keys(settings, _scopes(who, address)[0][0]))
