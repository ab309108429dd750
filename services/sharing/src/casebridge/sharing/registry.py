"""The partner registry, the source of truth for who the partners are: areas and their
agencies. Every change is announced (AreaRegistered, AgencyChanged with a revision), so
intake and review follow the registry instead of keeping agency tables of their own.

A partnership administrator administers its own area (its agencies, their clients, webhook
endpoints and NATS users); the one act beyond it is founding a new area, which registers
the new area's first agency and gives it its own administrator client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.sharing import AgencyChanged, AreaRegistered
from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.sharing import clients
from casebridge.sharing.models import Agency, Area, OAuthClient
from casebridge.sharing.registry_schemas import AgencyCreate, AgencyUpdate, AreaCreate

log = logging.getLogger(__name__)

# What the founding agency's first client may do: administer the new area (it registers
# the area's other agencies and clients, a DPO's among them).
FOUNDER_SCOPES = ("shares:admin", "shares:read")
FOUNDER_ROLES = ("partnership_admin",)


class AreaNotFound(NotFound):
    code = "area_not_found"


class AreaCodeTaken(Conflict):
    code = "area_code_taken"


class AgencyNotFound(NotFound):
    code = "agency_not_found"


class OwnAgency(Conflict):
    code = "own_agency"


@dataclass(frozen=True)
class Founded:
    area: Area
    agency: Agency
    client: OAuthClient
    secret: str


# ---- who administers what: one statement builder per aggregate ---------------------------
def administered_areas(principal: Principal) -> Select[Area]:
    """An administrator administers its own area."""
    return select(Area).where(Area.id == principal.area_id)


def administered_agencies(principal: Principal) -> Select[Agency]:
    """... and the agencies registered in it."""
    return select(Agency).where(Agency.area_id == principal.area_id)


async def get_administered_area(session: AsyncSession, principal: Principal, area_id: UUID) -> Area:
    area = await session.scalar(administered_areas(principal).where(Area.id == area_id))
    if area is None:
        raise AreaNotFound(f"no area {area_id} that you administer")
    return area


async def get_administered_agency(
    session: AsyncSession, principal: Principal, agency_id: UUID, *, for_update: bool = False
) -> Agency:
    statement = administered_agencies(principal).where(Agency.id == agency_id)
    agency = await session.scalar(statement.with_for_update() if for_update else statement)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id} in your area")
    return agency


# ---- areas ------------------------------------------------------------------------------
async def list_areas(session: AsyncSession) -> Sequence[Area]:
    """Every area's code and name (public facts: no area's partners or cases)."""
    return (await session.scalars(select(Area).order_by(Area.code))).all()


async def get_area(session: AsyncSession, area_id: UUID) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise AreaNotFound(f"no area {area_id}")
    return area


async def register_area(
    session: AsyncSession, *, code: str, name: str, area_id: UUID | None = None
) -> Area | None:
    """Register an area and announce it; None if the id or the code is taken already."""
    area_id = area_id or new_id()
    created: Area | None = await session.scalar(
        insert(Area)
        .values(id=area_id, code=code, name=name)
        .on_conflict_do_nothing()
        .returning(Area)
    )
    if created is None:
        return None
    outbox.add(
        session,
        AreaRegistered(
            area_id=created.id,
            code=created.code,
            area_name=created.name,
            registered_at=created.registered_at,
        ),
        area_id=created.id,
        aggregate_id=created.id,
    )
    return created


async def found_area(session: AsyncSession, *, principal: Principal, data: AreaCreate) -> Founded:
    """A new area with its first agency, and that agency's administrator client."""
    area = await register_area(session, code=data.code, name=data.name)
    if area is None:
        raise AreaCodeTaken(f"an area with code {data.code} exists")
    agency = await register_agency(session, area_id=area.id, data=data.founding_agency)
    client, secret = await clients.create_client(
        session, agency=agency, scopes=FOUNDER_SCOPES, roles=FOUNDER_ROLES
    )
    log.info("area %s founded by %s of area %s", area.code, principal.client_id, principal.area_id)
    return Founded(area, agency, client, secret)


# ---- agencies ---------------------------------------------------------------------------
async def register_agency(
    session: AsyncSession, *, area_id: UUID, data: AgencyCreate, agency_id: UUID | None = None
) -> Agency:
    """Register an agency in an area (revision 1) and announce it."""
    agency = Agency(
        id=agency_id or new_id(),
        area_id=area_id,
        name=data.name,
        kind=data.kind,
        core_partner=data.core_partner,
        active=True,
        ods_code=data.ods_code,
        police_force_code=data.police_force_code,
        revision=1,
        updated_at=utcnow(),
    )
    session.add(agency)
    await session.flush()
    announce(session, agency)
    return agency


async def add_agency(
    session: AsyncSession, *, principal: Principal, area_id: UUID, data: AgencyCreate
) -> Agency:
    area = await get_administered_area(session, principal, area_id)
    return await register_agency(session, area_id=area.id, data=data)


async def list_agencies_of(
    session: AsyncSession, *, principal: Principal, area_id: UUID
) -> Sequence[Agency]:
    area = await get_administered_area(session, principal, area_id)
    statement = administered_agencies(principal).where(Agency.area_id == area.id)
    return (await session.scalars(statement.order_by(Agency.name, Agency.id))).all()


async def change_agency(
    session: AsyncSession, *, principal: Principal, agency_id: UUID, data: AgencyUpdate
) -> Agency:
    """Change what is asked; a real change bumps the revision and is announced."""
    agency = await get_administered_agency(session, principal, agency_id, for_update=True)
    if data.active is False and agency.id == principal.agency_id:
        raise OwnAgency("an administrator cannot deactivate its own agency")
    return await apply_change(session, agency, data)


async def apply_change(session: AsyncSession, agency: Agency, data: AgencyUpdate) -> Agency:
    """Apply a change to an agency locked for update (the seed uses it too)."""
    wanted = data.model_dump(exclude_unset=True)
    changed = {k: v for k, v in wanted.items() if getattr(agency, k) != v}
    if not changed:
        return agency
    for name, value in changed.items():
        setattr(agency, name, value)
    agency.revision += 1
    agency.updated_at = utcnow()
    await session.flush()
    announce(session, agency)
    return agency


def announce(session: AsyncSession, agency: Agency) -> None:
    """The agency as it now is, for every replica (an older revision never wins)."""
    outbox.add(
        session,
        AgencyChanged(
            agency_id=agency.id,
            area_id=agency.area_id,
            agency_name=agency.name,
            kind=agency.kind,
            core_partner=agency.core_partner,
            active=agency.active,
            revision=agency.revision,
            changed_at=agency.updated_at,
            ods_code=agency.ods_code,
            police_force_code=agency.police_force_code,
        ),
        area_id=agency.area_id,
        aggregate_id=agency.id,
    )
