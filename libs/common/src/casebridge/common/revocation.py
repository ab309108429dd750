"""Clients whose tokens must stop working before their `exp`: a revoked partner system.

Each API keeps the set of revoked client ids it read from its own database (a replica of
the registry's revocations, or the registry itself in sharing) and reads it again at most
every `ttl` seconds; `current_principal` refuses a revoked client's tokens on every request,
remembered tokens included. A revocation is therefore in force everywhere within the
replica's lag plus `ttl`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.isp.models import RevokedClient

RevocationLoader = Callable[[AsyncSession], Awaitable[set[str]]]


async def replica_revocations(session: AsyncSession) -> set[str]:
    """The revocations a service keeps as a replica of the registry's (`revoked_client`)."""
    return set(await session.scalars(select(RevokedClient.client_id)))


class Revocations:
    def __init__(self, load: RevocationLoader, *, ttl: float = 5.0) -> None:
        self._load = load
        self.ttl = ttl
        self._revoked: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def revoked(self, sessions: async_sessionmaker[AsyncSession], client_id: str) -> bool:
        if time.monotonic() - self._read_at > self.ttl:
            await self._refresh(sessions)
        return client_id in self._revoked

    async def _refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at <= self.ttl:
                return  # another request read it meanwhile
            async with sessions() as session:
                self._revoked = frozenset(await self._load(session))
            self._read_at = time.monotonic()
