"""Who may read which figures: one rule for the whole service.

Analysts read the figures of their own area only (the area in their token); the public
page of any area that stats has seen in events is open to everyone, and shows only the
four statutory totals and suppressed breakdowns."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.errors import NotFound
from casebridge.stats.models import Area


class AreaNotFound(NotFound):
    code = "area_not_found"


async def own_area(session: AsyncSession, principal: Principal) -> Area:
    """The caller's area (an area no event has named yet simply has no figures)."""
    area = await session.get(Area, principal.area_id)
    return area or Area(area_id=principal.area_id, code=None, code_from=None)


async def public_area(session: AsyncSession, key: str) -> Area:
    """An area by its code (`DMO`, any case) or its id; a code two areas share is refused
    (use the id)."""
    try:
        area_id = uuid.UUID(key)
    except ValueError:
        area_id = None
    if area_id is not None:
        area = await session.get(Area, area_id)
    else:
        found = list(
            await session.scalars(select(Area).where(Area.code == func.upper(key)).limit(2))
        )
        area = found[0] if len(found) == 1 else None
    if area is None:
        raise AreaNotFound(f"no published figures for area {key!r}")
    return area
