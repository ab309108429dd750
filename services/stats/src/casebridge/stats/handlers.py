"""Event handlers: as thin as routes. The area is the envelope's (every event has one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    PersonVulnerabilityChanged,
    RepeatVictimMarked,
    RiskAssessed,
)
from casebridge.common.contracts.review import (
    DeadlineMissed,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.common.contracts.sharing import (
    DisclosureRecorded,
    DisclosuresRecorded,
    PartnerUpdateRecorded,
)
from casebridge.common.events.consumer import BatchHandler, Handler
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.stats import facts, projection
from casebridge.stats.projection import Tally

# What each counted event adds to a tally: a batch adds them up and writes each table once.
TALLIES: dict[type[Contract], Callable[[Tally, UUID, Any], None]] = {
    ComplaintLogged: projection.tally_complaint,
    RiskAssessed: projection.tally_risk_assessment,
    RepeatVictimMarked: projection.tally_repeat_victim,
    DisclosureRecorded: projection.tally_disclosure,
    DisclosuresRecorded: projection.tally_disclosures,
    PersonVulnerabilityChanged: projection.tally_vulnerability_change,
    PartnerUpdateRecorded: projection.tally_partner_update,
}


async def on_counted(session: AsyncSession, env: Envelope, event: Any) -> None:
    """One counted event on its own: the tally a batch would add, written at once."""
    tally = Tally()
    TALLIES[type(event)](tally, env.area_id, event)
    await projection.write(session, tally)


def batch_of(handled: Mapping[type[Contract], Handler]) -> BatchHandler:
    """A batch at once: counts add up, so every count of the batch is tallied and written
    once per table; any other event (review's facts) goes to its handler, in order."""

    async def apply(session: AsyncSession, items: list[tuple[Envelope, Any]]) -> None:
        tally = Tally()
        for envelope, event in items:
            add = TALLIES.get(type(event))
            if add is not None:
                add(tally, envelope.area_id, event)
            else:
                await handled[type(event)](session, envelope, event)
        await projection.write(session, tally)

    return apply


async def on_review_applied(session: AsyncSession, env: Envelope, event: ReviewApplied) -> None:
    await facts.review_applied(session, area_id=env.area_id, event=event)


async def on_review_transitioned(
    session: AsyncSession, env: Envelope, event: ReviewTransitioned
) -> None:
    await facts.review_transitioned(session, area_id=env.area_id, event=event)


async def on_threshold_decided(
    session: AsyncSession, env: Envelope, event: ThresholdDecided
) -> None:
    await facts.threshold_decided(session, area_id=env.area_id, event=event)


async def on_recommendations_made(
    session: AsyncSession, env: Envelope, event: RecommendationsMade
) -> None:
    await facts.recommendations_made(session, area_id=env.area_id, event=event)


async def on_deadline_missed(session: AsyncSession, env: Envelope, event: DeadlineMissed) -> None:
    await facts.deadline_missed(session, area_id=env.area_id, event=event)


async def on_trigger_raised(session: AsyncSession, env: Envelope, event: TriggerRaised) -> None:
    await facts.trigger_raised(session, area_id=env.area_id, event=event)


async def on_trigger_explained(
    session: AsyncSession, env: Envelope, event: TriggerExplained
) -> None:
    await facts.trigger_explained(session, area_id=env.area_id, event=event)
