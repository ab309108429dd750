"""Partners' views (agencies, deliveries, disclosures) and the token endpoint's clients and
lockout. Domain functions flush, never commit: the boundary owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.pagination import Slice as Slice
from casebridge.common.pagination import page_by_id
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


async def list_agencies(session: AsyncSession, *, principal: Principal) -> Sequence[Agency]:
    return (await session.scalars(visible_agencies(principal).order_by(Agency.name))).all()


async def list_deliveries(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: UUID | None
) -> Slice[Delivery]:
    return await page_by_id(
        session, visible_deliveries(principal), Delivery.id, limit=limit, cursor=cursor
    )


async def list_disclosures(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: UUID | None
) -> Slice[Disclosure]:
    return await page_by_id(
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
