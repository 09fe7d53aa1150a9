"""The api's background pass ends when the api shuts down, even when a pass loses the cancellation
(a CI run once hung for good in an api's shutdown, the pass still relaying every two seconds)."""

import asyncio

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.background import BackgroundPass
from shared.settings import ApiSettings


async def test_the_pass_stops_though_a_pass_swallowed_its_cancellation(
    api_settings: ApiSettings, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    background = BackgroundPass(sessions, redis, api_settings)  # type: ignore[arg-type]
    relaying = asyncio.Event()

    async def relay_that_swallows_cancellation() -> None:
        relaying.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass  # as a library that catches too much does

    background.relay_outbox = relay_that_swallows_cancellation  # type: ignore[method-assign]
    background.start()
    background.wake()
    await asyncio.wait_for(relaying.wait(), 5)
    await asyncio.wait_for(background.stop(), 5)  # not the 30 s of the next pass, nor for ever
