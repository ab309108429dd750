"""Event handlers: as thin as routes (the runner owns the transaction and the inbox)."""

from __future__ import annotations

from typing import Any

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.consumer import Consumer
from casebridge.common.events.envelope import Envelope
from casebridge.review import areas, index
from sqlalchemy.ext.asyncio import AsyncSession


async def on_complaint_logged(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """Index the complaint, then evaluate the triggers it may complete."""
    assert isinstance(data, ComplaintLogged)
    rules = await areas.rules_for(session, data.area_id)
    await index.index_complaint(session, data, rules)


def intake_consumer(*, max_deliver: int = 10, ack_wait: float = 30.0) -> Consumer:
    return Consumer(
        name="review-intake",
        stream="INTAKE",
        subjects=["intake.*.>"],
        handlers={ComplaintLogged.event_type(): on_complaint_logged},
        max_deliver=max_deliver,
        ack_wait=ack_wait,
    )
