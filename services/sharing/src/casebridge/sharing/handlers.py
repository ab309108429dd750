"""Event handlers: as thin as routes. The consumer runner owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events.envelope import Envelope
from casebridge.sharing import deliveries


async def on_shareable(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Index what the event tells of its case, then share it under the area's protocol."""
    await deliveries.share(session, envelope=envelope, event=event)
