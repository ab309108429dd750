"""Write an event next to the state change; the relay publishes it after commit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.events.models import OutboxMessage

# Each service's first migration installs a trigger that notifies this channel on every outbox
# INSERT, so the relay wakes on commit. NOTIFY is only a hint; polling is the guarantee.
NOTIFY_CHANNEL = "casebridge_outbox"


def envelope_for(event: Contract, *, area_id: UUID) -> Envelope:
    """The CloudEvents envelope an event travels in."""
    return Envelope(
        source=f"casebridge/{event.source}",
        type=event.event_type(),
        subject=event.subject_for(area_id),
        area_id=area_id,
        data=event.model_dump(mode="json"),
    )


def row(envelope: Envelope, *, aggregate_type: str, aggregate_id: UUID | str) -> dict[str, Any]:
    """The outbox row's values, its payload still the envelope (serialised by whoever
    writes the row: the ORM below, or a caller's own INSERT statement)."""
    return {
        "id": envelope.id,
        "subject": envelope.subject,
        "event_type": envelope.type,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(aggregate_id),
        "payload": envelope,
    }


def add(
    session: AsyncSession, event: Contract, *, area_id: UUID, aggregate_id: UUID | str
) -> Envelope:
    """Stage `event` for publication in the caller's transaction."""
    envelope = envelope_for(event, area_id=area_id)
    add_envelope(session, envelope, aggregate_type=event.aggregate_type, aggregate_id=aggregate_id)
    return envelope


def add_envelope(
    session: AsyncSession, envelope: Envelope, *, aggregate_type: str, aggregate_id: UUID | str
) -> None:
    """Stage an already-built envelope (e.g. a partner delivery on its own subject)."""
    values = row(envelope, aggregate_type=aggregate_type, aggregate_id=aggregate_id)
    session.add(OutboxMessage(**values | {"payload": envelope.model_dump(mode="json")}))
