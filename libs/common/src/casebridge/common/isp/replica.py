"""Applying sharing's registry and protocol events to a service's replica tables.

Each handler is idempotent and order-proof: an older announcement never overwrites a newer
one (agency revisions, invitation times), and protocol versions are only ever added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.sharing import (
    AgencyChanged,
    ClientRevoked,
    InvitationChanged,
    ProtocolPublished,
)
from casebridge.common.events.consumer import Consumer, Handler, consumer_of
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.isp.models import (
    CaseInvitation,
    PartnerAgency,
    ProtocolVersion,
    RevokedClient,
)


async def on_agency_changed(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    assert isinstance(data, AgencyChanged)
    values = {
        "id": data.agency_id,
        "area_id": data.area_id,
        "name": data.agency_name,
        "kind": data.kind,
        "core_partner": data.core_partner,
        "active": data.active,
        "revision": data.revision,
        "updated_at": data.changed_at,
    }
    statement = insert(PartnerAgency).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PartnerAgency.id],
            set_={k: statement.excluded[k] for k in values if k != "id"},
            where=PartnerAgency.revision < statement.excluded.revision,
        )
    )


async def on_protocol_published(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    assert isinstance(data, ProtocolPublished)
    await session.execute(
        insert(ProtocolVersion)
        .values(
            area_id=envelope.area_id,
            version=data.protocol_version,
            document=data.document,
            published_at=data.published_at,
        )
        .on_conflict_do_nothing()
    )


async def on_invitation_changed(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    assert isinstance(data, InvitationChanged)
    statement = insert(CaseInvitation).values(
        case_reference=data.case_reference,
        agency_id=data.agency_id,
        area_id=envelope.area_id,
        invited=data.invited,
        changed_at=data.changed_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CaseInvitation.case_reference, CaseInvitation.agency_id],
            set_={
                "invited": statement.excluded.invited,
                "changed_at": statement.excluded.changed_at,
            },
            where=CaseInvitation.changed_at < statement.excluded.changed_at,
        )
    )


async def on_client_revoked(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    assert isinstance(data, ClientRevoked)
    await session.execute(
        insert(RevokedClient)
        .values(client_id=data.client_id, revoked_at=data.revoked_at)
        .on_conflict_do_nothing()
    )


HANDLERS: dict[str, Handler] = {
    AgencyChanged.event_type(): on_agency_changed,
    ProtocolPublished.event_type(): on_protocol_published,
    InvitationChanged.event_type(): on_invitation_changed,
    ClientRevoked.event_type(): on_client_revoked,
}


REPLICATED: tuple[type[Contract], ...] = (
    AgencyChanged,
    ProtocolPublished,
    InvitationChanged,
    ClientRevoked,
)


def registry_consumer(
    service: str,
    *,
    also: Mapping[type[Contract], Handler] | None = None,
    max_deliver: int = 10,
    ack_wait: float = 30.0,
) -> Consumer:
    """The durable consumer that keeps a service's replicas of the registry and protocol
    (and applies `also`, more registry events the service keeps in tables of its own)."""
    handled = {contract: HANDLERS[contract.event_type()] for contract in REPLICATED}
    return consumer_of(
        f"{service}-registry",
        "REGISTRY",
        handled | dict(also or {}),
        max_deliver=max_deliver,
        ack_wait=ack_wait,
    )
