"""Seed the demo area's case review procedure (idempotent: an unchanged document is kept)."""

from __future__ import annotations

import asyncio
from importlib.resources import files

from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.review.areas import ensure_config
from casebridge.review.settings import Settings


def demo_document() -> str:
    return files("casebridge.review").joinpath("demo_area.yaml").read_text("utf-8")


async def seed(settings: Settings) -> None:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as session, session.begin():
        await ensure_config(session, area_id=DEMO_AREA_ID, document=demo_document(), author="seed")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(seed(Settings()))
