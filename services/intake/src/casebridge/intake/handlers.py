"""Event handlers: as thin as routes (the consumer runner owns the transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.sharing import AreaRegistered
from casebridge.common.events.envelope import Envelope
from casebridge.intake.models import Area


async def on_area_registered(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """An area the registry added: intake takes complaints there (its reference prefix is
    the area's code; its configuration is intake's own, by that code)."""
    assert isinstance(data, AreaRegistered)
    statement = insert(Area).values(id=data.area_id, code=data.code, name=data.area_name)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Area.id], set_={"name": statement.excluded.name}
        )
    )
