"""Per process: each area's protocol in force and each agency as the registry knows it,
re-read from the service's own database at most once a `ttl`; and the `Viewing(...)`
dependency that gives a route its caller's `Viewer` (scopes checked, like `Scoped`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import Request, Security
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal, RoleSpec, current_principal, role_check
from casebridge.common.db import DbSession
from casebridge.common.isp.decide import Policy, Recipient, Viewer
from casebridge.common.isp.document import Protocol
from casebridge.common.isp.models import PartnerAgency, ProtocolVersion

LONDON = ZoneInfo("Europe/London")

RecipientLoader = Callable[[AsyncSession, UUID], Awaitable[Recipient | None]]
PolicyLoader = Callable[[AsyncSession, UUID], Awaitable[tuple[int, dict[str, Any]] | None]]


class Directory:
    """What `Viewer`s are made of, cached for `ttl` seconds: a protocol published or an
    agency changed is in force everywhere within the replica's lag plus `ttl`."""

    def __init__(
        self,
        *,
        load_recipient: RecipientLoader,
        load_policy: PolicyLoader,
        ttl: float = 1.0,
    ) -> None:
        self._load_recipient = load_recipient
        self._load_policy = load_policy
        self.ttl = ttl
        self._recipients: dict[UUID, tuple[float, Recipient | None]] = {}
        self._versions: dict[UUID, tuple[float, tuple[int, dict[str, Any]] | None]] = {}
        self._policies: dict[tuple[UUID, int], Policy] = {}

    def forget(self) -> None:
        self._recipients.clear()
        self._versions.clear()

    async def recipient(self, session: AsyncSession, agency_id: UUID, area_id: UUID) -> Recipient:
        """The agency as registered; an agency the registry does not know is nobody's
        partner (it still sees what it recorded itself)."""
        now = time.monotonic()
        cached = self._recipients.get(agency_id)
        if cached is None or now - cached[0] > self.ttl:
            cached = (now, await self._load_recipient(session, agency_id))
            self._recipients[agency_id] = cached
        found = cached[1]
        if found is None or found.area_id != area_id:
            return Recipient(agency_id, area_id, kind="other", core_partner=False, active=False)
        return found

    async def policy(self, session: AsyncSession, area_id: UUID) -> Policy | None:
        now = time.monotonic()
        cached = self._versions.get(area_id)
        if cached is None or now - cached[0] > self.ttl:
            cached = (now, await self._load_policy(session, area_id))
            self._versions[area_id] = cached
        if cached[1] is None:
            return None
        version, document = cached[1]
        policy = self._policies.get((area_id, version))
        if policy is None:
            # Validated when published; the model is rebuilt once per version per process.
            protocol = Protocol.model_validate(document)
            policy = self._policies[(area_id, version)] = Policy(version, protocol, area_id)
        return policy

    async def viewer(self, session: AsyncSession, principal: Principal) -> Viewer:
        recipient = await self.recipient(session, principal.agency_id, principal.area_id)
        policy = await self.policy(session, principal.area_id)
        return Viewer(recipient, policy, today(), principal=principal)

    async def viewer_for(self, session: AsyncSession, agency_id: UUID, area_id: UUID) -> Viewer:
        """A viewer for a recipient of a delivery (no caller: the worker decides for it)."""
        recipient = await self.recipient(session, agency_id, area_id)
        return Viewer(recipient, await self.policy(session, area_id), today())


def today() -> Any:
    """The date in the areas' time zone: a protocol's review date is a date in England."""
    return datetime.now(LONDON).date()


async def replica_recipient(session: AsyncSession, agency_id: UUID) -> Recipient | None:
    row = await session.get(PartnerAgency, agency_id)
    if row is None:
        return None
    return Recipient(row.id, row.area_id, row.kind, row.core_partner, row.active)


async def replica_policy(session: AsyncSession, area_id: UUID) -> tuple[int, dict[str, Any]] | None:
    row = (
        await session.execute(
            select(ProtocolVersion.version, ProtocolVersion.document)
            .where(ProtocolVersion.area_id == area_id)
            .order_by(ProtocolVersion.version.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else (int(row.version), dict(row.document))


def replica_directory(ttl: float = 1.0) -> Directory:
    """The directory of a service that keeps sharing's registry as replicas (intake, review)."""
    return Directory(load_recipient=replica_recipient, load_policy=replica_policy, ttl=ttl)


async def _viewer(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Security(current_principal)],
) -> Viewer:
    directory: Directory = request.app.state.directory
    viewer = await directory.viewer(session, principal)
    # Told in a response header, so a caller can wait for a newly published version.
    request.state.protocol_version = viewer.protocol_version
    return viewer


_VIEWERS: dict[Any, Any] = {}


def _viewer_with(role: RoleSpec) -> Any:
    """`_viewer` over the role's check (one dependency per role: FastAPI caches by callable)."""
    check = role_check(role)
    found = _VIEWERS.get(check)
    if found is None:

        async def viewer(
            request: Request,
            session: DbSession,
            principal: Annotated[Principal, Security(check)],
        ) -> Viewer:
            return await _viewer(request, session, principal)

        # Postponed annotations resolve in the module's globals, where `check` is not.
        viewer.__annotations__["principal"] = Annotated[Principal, Security(check)]
        found = _VIEWERS[check] = viewer
    return found


def Viewing(*scopes: str, role: RoleSpec | None = None) -> Any:  # noqa: N802 - reads like a type
    """Declare the scopes and role a route requires and get the caller's Viewer (its Principal
    is `viewer.principal`): the way routes that read shared records authenticate."""
    if role is None:
        return Security(_viewer, scopes=list(scopes))
    return Security(_viewer_with(role), scopes=list(scopes))
