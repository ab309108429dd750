"""OAuth clients of the registered agencies: created with their scopes and roles, secrets
rotated (the old one stops at once) and clients revoked (the token endpoint refuses them at
once; ClientRevoked tells every resource server to stop their tokens)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.sharing import ClientRevoked
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.sharing.credentials import hash_secret, new_secret
from casebridge.sharing.models import Agency, OAuthClient

log = logging.getLogger(__name__)


class ClientNotFound(NotFound):
    code = "client_not_found"


class ClientIsRevoked(Conflict):
    code = "client_revoked"


async def revoked_client_ids(session: AsyncSession) -> set[str]:
    """Every revoked client, for this service's own check of tokens (the registry is here;
    the other services keep a replica of it from ClientRevoked)."""
    rows = await session.scalars(
        select(OAuthClient.client_id).where(OAuthClient.revoked_at.is_not(None))
    )
    return set(rows)


def administered_clients(principal: Principal) -> Select[OAuthClient]:
    """An administrator manages the clients of its own area's agencies."""
    return (
        select(OAuthClient)
        .join(Agency, Agency.id == OAuthClient.agency_id)
        .where(Agency.area_id == principal.area_id)
    )


def new_client_id(agency: Agency) -> str:
    """Readable, but not guessable: the kind and 48 random bits."""
    return f"{agency.kind}-{secrets.token_hex(6)}"


async def create_client(
    session: AsyncSession, *, agency: Agency, scopes: Iterable[str], roles: Iterable[str]
) -> tuple[OAuthClient, str]:
    """A new client for an agency; the secret is returned here and never again."""
    secret = new_secret()
    client = OAuthClient(
        client_id=new_client_id(agency),
        secret_hash=await asyncio.to_thread(hash_secret, secret),
        agency_id=agency.id,
        scopes=sorted(scopes),
        roles=sorted(roles),
        grant_types=["client_credentials"],
        active=True,
        created_at=utcnow(),
    )
    session.add(client)
    await session.flush()
    return client, secret


async def list_clients(
    session: AsyncSession, *, principal: Principal, agency_id: UUID
) -> Sequence[OAuthClient]:
    statement = administered_clients(principal).where(OAuthClient.agency_id == agency_id)
    return (await session.scalars(statement.order_by(OAuthClient.created_at))).all()


async def get_client(
    session: AsyncSession, principal: Principal, client_id: str, *, for_update: bool = False
) -> OAuthClient:
    statement = administered_clients(principal).where(OAuthClient.client_id == client_id)
    if for_update:
        statement = statement.with_for_update(of=OAuthClient)
    client = await session.scalar(statement)
    if client is None:
        raise ClientNotFound(f"no client {client_id} in your area")
    return client


async def rotate_secret(
    session: AsyncSession, *, principal: Principal, client_id: str
) -> tuple[OAuthClient, str]:
    """A new secret; the old one stops working when this commits."""
    client = await get_client(session, principal, client_id, for_update=True)
    if not client.active:
        raise ClientIsRevoked(f"client {client_id} is revoked")
    secret = new_secret()
    client.secret_hash = await asyncio.to_thread(hash_secret, secret)
    client.secret_rotated_at = utcnow()
    await session.flush()
    log.info("secret of client %s rotated by %s", client_id, principal.client_id)
    return client, secret


async def revoke_client(session: AsyncSession, *, principal: Principal, client_id: str) -> None:
    """Revoke a client for good, and tell the resource servers (once)."""
    client = await get_client(session, principal, client_id, for_update=True)
    if not client.active:
        return
    client.active = False
    client.revoked_at = utcnow()
    await session.flush()
    outbox.add(
        session,
        ClientRevoked(
            client_id=client.client_id, agency_id=client.agency_id, revoked_at=client.revoked_at
        ),
        area_id=principal.area_id,
        aggregate_id=client.client_id,
    )
    log.warning("client %s revoked by %s", client_id, principal.client_id)
