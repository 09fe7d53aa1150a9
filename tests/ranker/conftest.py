"""The ranker's tests share one scene (tests/ranker/scene.py)."""

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.ranker.scene import SCORES, Scene, make_scene, score_all, score_of


@pytest.fixture
async def scene(session: AsyncSession) -> Scene:
    s = await make_scene(session)
    await score_all(session, s, SCORES)
    session.add(score_of(s, "P5", 5, "progress", Decimal(59)))  # inspector 5 never scored P5's quality
    await session.commit()
    return s
