from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import update

from casebridge.devstack.demo import DEMO_AREA_CODE, DEMO_AREA_ID
from casebridge.intake.areas import AreaDirectory
from casebridge.intake.config import DEFAULT_PATH, AreaConfigs
from casebridge.intake.errors import AreaNotConfigured
from casebridge.intake.models import Area

from .conftest import Intake
from .helpers import complaint

UNKNOWN_AREA = UUID("0192f0a0-0000-7000-8000-00000000a0ff")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _rename(intake: Intake, code: str) -> None:
    async with intake.sessions() as session:
        await session.execute(update(Area).where(Area.id == DEMO_AREA_ID).values(code=code))
        await session.commit()


async def test_an_area_is_read_once_then_kept_until_its_time_is_up(intake: Intake) -> None:
    clock = Clock()
    areas = AreaDirectory(AreaConfigs(None), ttl=60, clock=clock)
    async with intake.sessions() as session:
        first = await areas.get(session, DEMO_AREA_ID)
        assert (first.id, first.code) == (DEMO_AREA_ID, DEMO_AREA_CODE)
        assert first.config.version == "default-2026.2"
        await _rename(intake, "NEW")
        clock.now += 59
        assert (await areas.get(session, DEMO_AREA_ID)).code == DEMO_AREA_CODE
        clock.now += 2
        assert (await areas.get(session, DEMO_AREA_ID)).code == "NEW"


async def test_invalidate_forgets_an_area_at_once(intake: Intake) -> None:
    areas = AreaDirectory(AreaConfigs(None), ttl=60, clock=Clock())
    async with intake.sessions() as session:
        await areas.get(session, DEMO_AREA_ID)
        await _rename(intake, "NEW")
        areas.invalidate(UUID(int=1))  # another area: this one is still kept
        assert (await areas.get(session, DEMO_AREA_ID)).code == DEMO_AREA_CODE
        areas.invalidate(DEMO_AREA_ID)
        assert (await areas.get(session, DEMO_AREA_ID)).code == "NEW"
        await _rename(intake, DEMO_AREA_CODE)
        areas.invalidate()
        assert (await areas.get(session, DEMO_AREA_ID)).code == DEMO_AREA_CODE


async def test_ttl_zero_reads_every_time(intake: Intake) -> None:
    areas = AreaDirectory(AreaConfigs(None), ttl=0, clock=Clock())
    async with intake.sessions() as session:
        await areas.get(session, DEMO_AREA_ID)
        await _rename(intake, "NEW")
        assert (await areas.get(session, DEMO_AREA_ID)).code == "NEW"


async def test_an_unconfigured_area_is_refused_and_not_kept(intake: Intake) -> None:
    areas = AreaDirectory(AreaConfigs(None), ttl=60, clock=Clock())
    async with intake.sessions() as session:
        with pytest.raises(AreaNotConfigured):
            await areas.get(session, UNKNOWN_AREA)
        session.add(Area(id=UNKNOWN_AREA, code="NEWA", name="A new area"))
        await session.commit()
        assert (await areas.get(session, UNKNOWN_AREA)).code == "NEWA"


async def test_the_area_file_follows_the_area_code(intake: Intake, tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text().replace("version: default-2026.2", "version: dmo-7")
    (tmp_path / f"{DEMO_AREA_CODE}.yaml").write_text(text)
    areas = AreaDirectory(AreaConfigs(tmp_path), ttl=60, clock=Clock())
    async with intake.sessions() as session:
        assert (await areas.get(session, DEMO_AREA_ID)).config.version == "dmo-7"


async def test_a_complaint_from_an_unconfigured_area_is_409(intake: Intake) -> None:
    response = await intake.client.post(
        "/complaints", json=complaint(), headers=intake.auth(area=UNKNOWN_AREA)
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "area_not_configured"
