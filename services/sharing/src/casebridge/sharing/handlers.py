"""Event handlers: as thin as routes. The consumer runner owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events.envelope import Envelope
from casebridge.sharing import deliveries, webhooks


async def on_shareable(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Index what the event tells of its case, then share it under the area's protocol; each
    delivery is owed to its recipient's webhooks in the same transaction."""
    await on_shareable_batch(session, [(envelope, event)])


async def on_shareable_batch(session: AsyncSession, items: list[tuple[Envelope, Any]]) -> None:
    """A fetched batch, decided together in the runner's one transaction: what each event
    one at a time would do, with the shared reads and the writes made once per batch."""
    shared = await deliveries.share_batch(session, items)
    await webhooks.enqueue(session, shared)
