"""Event handlers: as thin as routes. The consumer runner owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events.envelope import Envelope
from casebridge.sharing import deliveries, webhooks


async def on_shareable(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Index what the event tells of its case, then share it under the area's protocol; each
    delivery is owed to its recipient's webhooks in the same transaction."""
    disclosures = await deliveries.share(session, envelope=envelope, event=event)
    await webhooks.enqueue(session, disclosures)
