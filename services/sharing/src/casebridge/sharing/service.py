"""Sharing's domain functions. They flush, never commit: the boundary owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.sharing import DisclosureRecorded
from casebridge.common.db import new_id, utcnow
from casebridge.common.events import outbox
from casebridge.common.events.envelope import Envelope
from casebridge.sharing import isp
from casebridge.sharing.models import (
    Agency,
    Base,
    Delivery,
    Disclosure,
    OAuthClient,
)
from casebridge.sharing.oauth import TokenClient

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Base)

DELIVERY_TYPE = "sharing.delivery.complaint.logged.v1"


# ---- who may see what: one statement builder per aggregate ---------------------------------
def visible_agencies(principal: Principal) -> Select[Agency]:
    """Partners see the agencies of their own area."""
    return select(Agency).where(Agency.area_id == principal.area_id)


def visible_deliveries(principal: Principal) -> Select[Delivery]:
    """An agency sees only what was delivered to it."""
    return select(Delivery).where(
        Delivery.area_id == principal.area_id,
        Delivery.recipient_agency_id == principal.agency_id,
    )


def visible_disclosures(principal: Principal) -> Select[Disclosure]:
    """An agency sees the disclosure decisions about itself, delivered or refused."""
    return select(Disclosure).where(
        Disclosure.area_id == principal.area_id,
        Disclosure.recipient_agency_id == principal.agency_id,
    )


class Slice(Generic[M]):
    """A page of rows; the route's response model reads it as a `Page`."""

    __slots__ = ("items", "next_cursor")

    def __init__(self, items: list[M], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor


async def _page(
    session: AsyncSession,
    statement: Select[M],
    id_column: InstrumentedAttribute[UUID],
    *,
    limit: int,
    cursor: UUID | None,
) -> Slice[M]:
    """Newest first by time-ordered id; the cursor is the last id of the previous page."""
    if cursor is not None:
        statement = statement.where(id_column < cursor)
    statement = statement.order_by(id_column.desc()).limit(limit + 1)
    rows = list((await session.scalars(statement)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Slice(rows, str(getattr(rows[-1], "id")) if more else None)  # noqa: B009


async def list_agencies(session: AsyncSession, *, principal: Principal) -> Sequence[Agency]:
    return (await session.scalars(visible_agencies(principal).order_by(Agency.name))).all()


async def list_deliveries(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: UUID | None
) -> Slice[Delivery]:
    return await _page(
        session, visible_deliveries(principal), Delivery.id, limit=limit, cursor=cursor
    )


async def list_disclosures(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: UUID | None
) -> Slice[Disclosure]:
    return await _page(
        session, visible_disclosures(principal), Disclosure.id, limit=limit, cursor=cursor
    )


# ---- clients -------------------------------------------------------------------------------
async def find_token_client(session: AsyncSession, client_id: str) -> TokenClient | None:
    """An active client of an active agency, as the token server needs it."""
    if not client_id:
        return None
    row = (
        await session.execute(
            select(OAuthClient, Agency.area_id)
            .join(Agency, Agency.id == OAuthClient.agency_id)
            .where(OAuthClient.client_id == client_id, OAuthClient.active, Agency.active)
        )
    ).one_or_none()
    if row is None:
        return None
    client, area_id = row
    return TokenClient(
        client_id=client.client_id,
        secret_hash=client.secret_hash,
        agency_id=client.agency_id,
        area_id=area_id,
        scopes=frozenset(client.scopes),
        grant_types=frozenset(client.grant_types),
        roles=tuple(client.roles),
    )


# ---- partner deliveries ---------------------------------------------------------------------
async def share_complaint(
    session: AsyncSession, *, envelope: Envelope, event: ComplaintLogged
) -> list[Disclosure]:
    """Apply the sharing rule for every other active agency of the area: one disclosure row per
    partner, and a delivery (outbox + feed) for each partner that may receive anything."""
    partners = (
        await session.scalars(
            select(Agency)
            .where(
                Agency.area_id == event.area_id,
                Agency.active,
                Agency.id != event.receiving_agency_id,
            )
            .order_by(Agency.id)
        )
    ).all()
    if not partners:
        log.warning(
            "complaint %s: no partners registered in area %s", event.complaint_id, event.area_id
        )
    decided = [(agency, isp.decide_complaint(event, agency.kind)) for agency in partners]
    disclosures = [_disclosure(envelope, event, agency, decision) for agency, decision in decided]
    session.add_all(disclosures)
    await session.flush()
    for disclosure, (agency, decision) in zip(disclosures, decided, strict=True):
        if decision.outcome == "delivered":
            _deliver(session, disclosure, agency, decision)
        outbox.add(
            session,
            _recorded(disclosure, agency.kind),
            area_id=event.area_id,
            aggregate_id=disclosure.id,
        )
    await session.flush()
    return disclosures


def _disclosure(
    envelope: Envelope, event: ComplaintLogged, agency: Agency, decision: isp.Decision
) -> Disclosure:
    return Disclosure(
        id=new_id(),
        source_event_id=envelope.id,
        source_event_type=envelope.type,
        area_id=event.area_id,
        recipient_agency_id=agency.id,
        fields=decision.fields,
        purpose=isp.PURPOSE,
        legal_basis=isp.LEGAL_BASIS,
        outcome=decision.outcome,
        reason=decision.reason,
        occurred_at=utcnow(),
    )


def _deliver(
    session: AsyncSession, disclosure: Disclosure, agency: Agency, decision: isp.Decision
) -> None:
    """The partner's copy goes on its own subject, so NATS permissions can fence it."""
    envelope = Envelope(
        source="casebridge/sharing",
        type=DELIVERY_TYPE,
        subject=f"share.{disclosure.area_id}.{agency.id}.complaint.logged.v1",
        area_id=disclosure.area_id,
        data={**decision.data, "disclosure_id": str(disclosure.id)},
    )
    outbox.add_envelope(session, envelope, aggregate_type="delivery", aggregate_id=disclosure.id)
    session.add(
        Delivery(
            id=envelope.id,
            disclosure_id=disclosure.id,
            area_id=disclosure.area_id,
            recipient_agency_id=agency.id,
            subject=envelope.subject,
            event_type=envelope.type,
            data=envelope.data,
        )
    )


def _recorded(disclosure: Disclosure, recipient_kind: str) -> DisclosureRecorded:
    return DisclosureRecorded(
        disclosure_id=disclosure.id,
        source_event_id=disclosure.source_event_id,
        source_event_type=disclosure.source_event_type,
        recipient_agency_id=disclosure.recipient_agency_id,
        fields=list(disclosure.fields),
        outcome=disclosure.outcome,
        occurred_at=disclosure.occurred_at,
        purpose=disclosure.purpose,
        legal_basis=disclosure.legal_basis,
        recipient_kind=recipient_kind,
        reason=disclosure.reason,
    )
