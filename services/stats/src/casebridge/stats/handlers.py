"""Event handlers: as thin as routes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.envelope import Envelope
from casebridge.stats import service


async def on_complaint_logged(session: AsyncSession, _: Envelope, event: ComplaintLogged) -> None:
    await service.count_complaint(session, event)
