"""Event handlers: as thin as routes. The consumer runner owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.events.envelope import Envelope
from casebridge.sharing import cases, deliveries, webhooks


async def on_complaint_logged(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Index the complaint (so it can be named in invitations), then share it."""
    assert isinstance(event, ComplaintLogged)
    await cases.index_complaint(session, event=event)
    await share(session, envelope, event)


async def on_partner_update_recorded(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Share what a partner did with the others on the case, as the protocol grants."""
    assert isinstance(event, PartnerUpdateRecorded)
    await share(session, envelope, event)


async def share(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Decide and deliver one event; each delivery is owed to its recipient's webhooks in
    the same transaction."""
    disclosures = await deliveries.share(session, envelope=envelope, event=event)
    await webhooks.enqueue(session, disclosures)


async def on_review_applied(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """Index the case review (so agencies can be invited to it)."""
    assert isinstance(event, ReviewApplied)
    await cases.index_review(session, envelope=envelope, event=event)
