"""The areas intake serves, as each request needs them: id, reference prefix and validated
configuration. Every call reads its area, and an area row changes almost never, so each
process keeps what it read for a short while (`area_cache_seconds`) instead of asking the
database on every complaint."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.intake.config import AreaConfig, AreaConfigs
from casebridge.intake.errors import AreaNotConfigured, UnknownAgency
from casebridge.intake.models import Area, PartnerAgency
from casebridge.intake.schemas.complaints import AgencyReferenceIn


@dataclass(frozen=True)
class ServedArea:
    """An area as intake uses it: its id, its reference prefix, its configuration."""

    id: UUID
    code: str
    config: AreaConfig
    agencies: frozenset[UUID] = frozenset()  # the area's agencies (for agency references)

    def refuse_unknown_agencies(self, references: Sequence[AgencyReferenceIn]) -> None:
        """An agency reference names one of the area's agencies (a 422 for the field)."""
        unknown = [
            {
                "field": f"body.agency_references.{n}.agency_id",
                "reason": "not an agency of this area",
            }
            for n, ref in enumerate(references)
            if ref.agency_id not in self.agencies
        ]
        if unknown:
            raise UnknownAgency(unknown)


class AreaDirectory:
    """Areas by id, each kept for `ttl` seconds after it was read. An area that is not
    configured is never kept, so seeding it takes effect at the next call."""

    def __init__(
        self,
        configs: AreaConfigs,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configs = configs
        self.ttl = ttl
        self._clock = clock
        self._kept: dict[UUID, tuple[float, ServedArea]] = {}

    async def get(self, session: AsyncSession, area_id: UUID) -> ServedArea:
        kept = self._kept.get(area_id)
        now = self._clock()
        if kept is not None and now < kept[0]:
            return kept[1]
        row = (await session.execute(select(Area.id, Area.code).where(Area.id == area_id))).first()
        if row is None:
            self._kept.pop(area_id, None)
            raise AreaNotConfigured(f"area {area_id} is not configured in intake")
        agencies = frozenset(
            await session.scalars(select(PartnerAgency.id).where(PartnerAgency.area_id == area_id))
        )
        area = ServedArea(
            id=row.id, code=row.code, config=self.configs.for_area(row.code), agencies=agencies
        )
        if self.ttl > 0:
            self._kept[area_id] = (now + self.ttl, area)
        return area

    def invalidate(self, area_id: UUID | None = None) -> None:
        """Forget one area (or all): the next call reads it again."""
        if area_id is None:
            self._kept.clear()
        else:
            self._kept.pop(area_id, None)
