"""The worker decides a fetched batch together: N events in one batch share exactly what
the same N events one at a time would (the same disclosures, deliveries in the same feed
order, outbox rows and webhook messages), events later in the batch decided on what the
earlier ones indexed or changed (a case review procedure naming a new SPOC included)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ConsentChanged
from casebridge.common.contracts.review import ProcedureChanged, ReviewTransitioned
from casebridge.common.db import new_id, utcnow
from casebridge.common.events.envelope import Envelope
from casebridge.common.events.models import OutboxMessage
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import handlers
from casebridge.sharing.models import (
    Agency,
    AreaProcedure,
    Delivery,
    Disclosure,
    InvitationChange,
    WebhookEndpoint,
    WebhookMessage,
)

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, complaint_logged, review_applied
from .test_events import envelope_of, risk

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
# What differs between two runs by nature: fresh ids and the clock.
FRESH = {"disclosure_id", "occurred_at"}


async def prepare(sharing: Sharing) -> tuple[list[tuple[Envelope, Any]], Agency]:
    """An invited agency, a webhook endpoint, and a batch whose later events depend on its
    earlier ones (a complaint then its risk; consent given, then a risk decided on it; a
    review applied, the police named SPOC, then a step of that review)."""
    first, second = (f"DMO-2026-{new_id().hex[-6:]}-{n}" for n in (1, 2))
    items: list[tuple[Envelope, Any]] = [
        complaint_logged(receiving=COUNCIL, complaint_id=new_id(), reference=first),
        complaint_logged(receiving=POLICE, complaint_id=new_id(), reference=second),
    ]
    one, two = items[0][1], items[1][1]
    consent = ConsentChanged(
        complaint_id=two.complaint_id,
        person_id=two.person_id,
        receiving_agency_id=POLICE,
        consent_to_share="given",
        previous="not_asked",
        recorded_at=NOW,
    )
    for event in (risk(one.complaint_id), consent, risk(two.complaint_id, band="medium")):
        items.append((envelope_of(event), event))
    applied = review_applied(reference=f"CR-DMO-2026-{new_id().hex[-6:]}")
    spoc = ProcedureChanged(
        area_id=DEMO_AREA_ID, procedure_version=1, spoc_agency_id=POLICE, changed_at=NOW
    )
    moved = ReviewTransitioned(
        review_id=applied[1].review_id, reference=applied[1].reference, action="accept",
        from_state="applied", to_state="threshold_pending", at=NOW,
    )  # fmt: skip
    items += [applied, (envelope_of(spoc), spoc), (envelope_of(moved), moved)]
    health = Agency(area_id=DEMO_AREA_ID, name="Demo Mental Health Trust", kind="health")
    async with sharing.sessions() as session:
        session.add(health)
        await session.flush()
        session.add_all(
            [
                InvitationChange(
                    case_reference=first,
                    area_id=DEMO_AREA_ID,
                    agency_id=health.id,
                    invited=True,
                    reason="the victim's care coordinator",
                    changed_by_client="test",
                    changed_by_subject="test",
                    changed_at=utcnow(),
                ),
                WebhookEndpoint(
                    agency_id=HOUSING, url="https://housing.example/hooks", signing_secret="s"
                ),
            ]
        )
        await session.commit()
    return items, health


async def effects(session: AsyncSession) -> dict[str, Any]:
    """What sharing wrote, without what differs by nature (fresh ids, the clock)."""
    disclosures = (await session.scalars(select(Disclosure))).all()
    by_id = {d.id: (d.source_event_id, d.recipient_agency_id) for d in disclosures}
    kept = [
        {k: v for k, v in vars(d).items() if not k.startswith("_") and k not in {"id", *FRESH}}
        for d in disclosures
    ]
    feed = (await session.scalars(select(Delivery).order_by(Delivery.seq))).all()
    messages = (
        await session.execute(
            select(Delivery.disclosure_id, WebhookMessage.endpoint_id).join(
                Delivery, Delivery.id == WebhookMessage.delivery_id
            )
        )
    ).all()
    outbox = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    procedures = (await session.scalars(select(AreaProcedure))).all()
    return {
        "procedures": [(p.area_id, p.version, p.spoc_agency_id) for p in procedures],
        "disclosures": sorted(
            kept, key=lambda d: (str(d["source_event_id"]), str(d["recipient_agency_id"]))
        ),
        "feed": [(by_id[d.disclosure_id], d.subject, d.event_type, _without(d.data)) for d in feed],
        "webhooks": sorted((by_id[d], e) for d, e in messages),
        "outbox": sorted(
            (m.event_type, m.subject, repr(sorted(_without(m.payload["data"]).items())))
            for m in outbox
        ),
    }


def _without(data: dict[str, Any]) -> dict[str, Any]:
    """The data without what each run makes afresh (also in a list of records within)."""
    return {
        k: [_without(x) if isinstance(x, dict) else x for x in v] if isinstance(v, list) else v
        for k, v in data.items()
        if k not in FRESH
    }


async def test_a_batch_shares_what_one_at_a_time_would(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    items, health = await prepare(sharing)
    async with sharing.sessions() as session:
        for envelope, event in items:
            await handlers.on_shareable(session, envelope, event)
        one_by_one = await effects(session)
        await session.rollback()
    async with sharing.sessions() as session:
        await handlers.on_shareable_batch(session, items)
        batched = await effects(session)
        await session.rollback()
    assert batched == one_by_one
    assert batched["procedures"] == [(DEMO_AREA_ID, 1, POLICE)]
    # Not trivially equal: every event decided for each other agency, something refused,
    # something delivered, the invited agency reached, the endpoint owed its deliveries.
    disclosures = batched["disclosures"]
    assert len({d["source_event_id"] for d in disclosures}) == len(items) - 1  # not the SPOC's
    assert {d["outcome"] for d in disclosures} == {"delivered", "refused"}
    assert all(d["protocol_version"] == 1 for d in disclosures)
    assert any(d["recipient_agency_id"] == health.id for d in disclosures)
    housing = [f for f in batched["feed"] if f[0][1] == HOUSING]
    assert len(batched["webhooks"]) == len(housing) > 0
    recorded = [o for o in batched["outbox"] if o[0] == "sharing.disclosures.recorded.v1"]
    # one announcement per shared event (not the procedure change), of all its recipients
    assert len(recorded) == len(items) - 1
    # The second complaint's risk is decided on the consent given earlier in the batch: the
    # police get its person, and not the first complaint's (consent not asked).
    police = {
        d["source_event_id"]: "person_id" in d["fields"]
        for d in disclosures
        if d["recipient_agency_id"] == POLICE
    }
    assert (police[items[2][0].id], police[items[4][0].id]) == (False, True)
    # The review step after the procedure named the police SPOC reaches it; the application
    # before it did not (a core partner gets nothing of a review).
    outcome = {
        d["source_event_id"]: d["outcome"]
        for d in disclosures
        if d["recipient_agency_id"] == POLICE
    }
    assert (outcome[items[5][0].id], outcome[items[7][0].id]) == ("refused", "delivered")
