"""Partners' views (agencies, deliveries, disclosures) and the token endpoint's clients and
lockout. Domain functions flush, never commit: the boundary owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from sqlalchemy import select
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
from casebridge.sharing.visibility import (
    visible_agencies,
    visible_deliveries,
    visible_disclosures,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Base)


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
