"""Event handlers: as thin as routes. The consumer runner owns the transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.envelope import Envelope
from casebridge.sharing import service


async def on_complaint_logged(
    session: AsyncSession, envelope: Envelope, event: ComplaintLogged
) -> None:
    await service.share_complaint(session, envelope=envelope, event=event)
