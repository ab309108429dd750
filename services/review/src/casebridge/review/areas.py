"""Storing and reading each area's procedure (versioned; the latest version is in force).

Each version is announced (ProcedureChanged: the SPOC's and the panel's agency ids) in the
transaction that stores it, so sharing delivers review data to the same SPOC and panel
review's reads honour."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.review import ProcedureChanged
from casebridge.common.db import utcnow
from casebridge.common.errors import NotFound
from casebridge.common.events import outbox
from casebridge.review.config import DEFAULT_RULES, AreaRules, parse_rules
from casebridge.review.models import AreaConfig


async def find_config(session: AsyncSession, area_id: UUID) -> AreaConfig | None:
    return await session.scalar(
        select(AreaConfig)
        .where(AreaConfig.area_id == area_id)
        .order_by(AreaConfig.version.desc())
        .limit(1)
    )


async def get_config(session: AsyncSession, *, principal: Principal) -> AreaConfig:
    config = await find_config(session, principal.area_id)
    if config is None:
        raise NotFound("this area has no case review procedure configured")
    return config


# Stored versions never change, so a parsed version is kept by its row id.
_PARSED: dict[UUID, AreaRules] = {}


async def rules_for(session: AsyncSession, area_id: UUID) -> AreaRules:
    """The procedure in force; an unconfigured area still gets the statutory defaults.

    One lookup of the latest version per call; the JSON is read and validated only the first
    time a version is seen."""
    latest = await session.scalar(
        select(AreaConfig.id)
        .where(AreaConfig.area_id == area_id)
        .order_by(AreaConfig.version.desc())
        .limit(1)
    )
    return await rules_by_id(session, latest)


async def rules_by_id(session: AsyncSession, config_id: UUID | None) -> AreaRules:
    """One stored version's rules (None: the statutory defaults); parsed once per process."""
    if config_id is None:
        return DEFAULT_RULES
    rules = _PARSED.get(config_id)
    if rules is None:
        stored = await session.scalar(select(AreaConfig.rules).where(AreaConfig.id == config_id))
        rules = AreaRules.model_validate(stored)
        if len(_PARSED) > 1000:
            _PARSED.clear()
        _PARSED[config_id] = rules
    return rules


async def save_config(
    session: AsyncSession, *, area_id: UUID, document: str, author: str
) -> AreaConfig:
    """Validate, store and announce a new version of the area's procedure (ConfigInvalid
    if bad)."""
    rules = parse_rules(document)
    latest = await session.scalar(
        select(func.max(AreaConfig.version)).where(AreaConfig.area_id == area_id)
    )
    config = AreaConfig(
        area_id=area_id,
        version=(latest or 0) + 1,
        document=document,
        rules=rules.model_dump(mode="json"),
        created_by=author,
    )
    session.add(config)
    await session.flush()
    outbox.add(session, procedure_changed(config, rules), area_id=area_id, aggregate_id=area_id)
    return config


async def announce_procedures(session: AsyncSession) -> int:
    """Announce again every area's procedure in force (sharing keeps the latest version and
    ignores one it already has): procedures stored before review announced them, or whose
    announcement a restored backup lost, reach sharing when the worker starts. Returns how
    many were announced."""
    latest = (
        select(AreaConfig)
        .ext(distinct_on(AreaConfig.area_id))
        .order_by(AreaConfig.area_id, AreaConfig.version.desc())
    )
    announced = 0
    for config in await session.scalars(latest):
        rules = await rules_by_id(session, config.id)
        outbox.add(
            session,
            procedure_changed(config, rules),
            area_id=config.area_id,
            aggregate_id=config.area_id,
        )
        announced += 1
    return announced


def procedure_changed(config: AreaConfig, rules: AreaRules) -> ProcedureChanged:
    """Who the SPOC and the panel are under one version (every member of the panel, as
    review's own reads count them): ids only."""
    return ProcedureChanged(
        area_id=config.area_id,
        procedure_version=config.version,
        spoc_agency_id=rules.spoc.agency_id,
        panel_agency_ids=[member.agency_id for member in rules.panel.members],
        changed_at=utcnow(),
    )


async def ensure_config(
    session: AsyncSession, *, area_id: UUID, document: str, author: str
) -> AreaConfig:
    """Store `document` unless the version in force already says exactly that (seeding)."""
    current = await find_config(session, area_id)
    if current is not None and current.document == document:
        return current
    return await save_config(session, area_id=area_id, document=document, author=author)
