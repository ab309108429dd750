"""Build intake's events as intake would publish them, and deliver them as the runner does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.review.handlers import intake_consumer

from .conftest import COUNCIL

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def complaint(
    person: UUID | None,
    *,
    reported_at: datetime = NOW,
    after_behaviour: timedelta = timedelta(days=1),
    **fields: Any,
) -> ComplaintLogged:
    values: dict[str, Any] = {
        "complaint_id": new_id(),
        "reference": f"DMO-2026-{new_id().hex[:6].upper()}",
        "area_id": DEMO_AREA_ID,
        "receiving_agency_id": COUNCIL,
        "person_id": person,
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": "rowdy_neighbours",
        "occurred_at": reported_at - after_behaviour,
        "reported_at": reported_at,
        "postcode": "SW1A 1AA",
    }
    values.update(fields)
    return ComplaintLogged(**values)


def envelope(event: Contract, *, event_id: UUID | None = None) -> Envelope:
    area = getattr(event, "area_id", DEMO_AREA_ID)
    return Envelope(
        id=event_id or new_id(),
        source=f"casebridge/{event.source}",
        type=event.event_type(),
        subject=event.subject_for(area),
        area_id=area,
        data=event.model_dump(mode="json"),
    )


async def deliver(
    sessions: async_sessionmaker[AsyncSession], event: Contract, *, event_id: UUID | None = None
) -> bool:
    """Apply one delivery exactly as the consumer runner does (inbox claim + handler)."""
    consumer = intake_consumer()
    runner = ConsumerRunner(consumer, NatsLink("nats://unused", name="test"), sessions)
    handler = consumer.handlers[event.event_type()]
    return await runner._apply(handler, envelope(event, event_id=event_id), event)


async def known(
    sessions: async_sessionmaker[AsyncSession], person: UUID, agency: UUID = COUNCIL
) -> None:
    """The victim's log is known to `agency`: it took one of their complaints, long ago
    (outside every window, so it counts towards nothing). An application for a victim the
    applying agency may not know is refused as unknown."""
    await deliver(
        sessions,
        complaint(person, reported_at=NOW - timedelta(days=400), receiving_agency_id=agency),
    )
