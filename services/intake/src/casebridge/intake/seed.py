"""Seed the demo area so `make run` can take complaints at once."""

from __future__ import annotations

import asyncio

from casebridge.common.db import make_engine
from casebridge.common.demo import DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake.models import Area
from casebridge.intake.settings import Settings
from sqlalchemy.dialects.postgresql import insert


async def seed(settings: Settings) -> None:
    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Area)
            .values(id=DEMO_AREA_ID, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
            .on_conflict_do_nothing()
        )
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(seed(Settings()))
