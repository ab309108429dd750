"""Partner deliveries, decided by the area's information-sharing protocol.

One step for every shareable event: the event offers one record of a data class (in the
catalogue's field names, with its consent and overrides), each other active agency of the
area stands in its relations to that record (core or area partner from the registry,
invited from the case's invitations, the perpetrator's landlord from the event), `decide`
says what it may have, and each gets one disclosure row and, if anything is granted, a
delivery (the partner's feed and its own NATS subject). What each event offers is in
offers.py (OFFERS); the worker subscribes to exactly those events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.sharing import DisclosureRecorded
from casebridge.common.db import new_id, utcnow
from casebridge.common.events import outbox
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.isp.decide import REFUSED, Decision, Policy, Recipient, decide
from casebridge.common.isp.decide import relations_of as registry_relations
from casebridge.common.isp.directory import today
from casebridge.sharing import cases, feed, protocol
from casebridge.sharing.models import Agency, Delivery, Disclosure
from casebridge.sharing.offers import OFFERS, Offer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """One recipient's share of one record: what it gets, and the grounds."""

    agency: Agency
    decision: Decision
    data: dict[str, Any]
    fields: list[str]
    redacted: list[str]
    legal_bases: list[str]
    reason: str | None

    @property
    def delivered(self) -> bool:
        return bool(self.fields or self.redacted)


async def share(session: AsyncSession, *, envelope: Envelope, event: Contract) -> list[Disclosure]:
    """Decide, record and deliver one event for every other active agency of its area."""
    offer = await OFFERS[type(event)](session, envelope, event)
    if offer is None:
        return []
    statement = select(Agency).where(Agency.area_id == offer.area_id, Agency.active)
    if offer.controller is not None:
        statement = statement.where(Agency.id != offer.controller)
    partners = (await session.scalars(statement.order_by(Agency.id))).all()
    invited = await cases.invited_agencies(session, offer.reference) if offer.reference else set()
    policy = await protocol.policy_in_force(session, offer.area_id)
    day = today()
    outcomes = [_outcome(offer, agency, policy, invited, day) for agency in partners]
    disclosures = [_disclosure(envelope, offer, outcome, policy) for outcome in outcomes]
    session.add_all(disclosures)
    await session.flush()
    delivered = [o.agency.id for o in outcomes if o.delivered]
    if delivered:
        await feed.order_and_announce(session, delivered)
    for disclosure, outcome in zip(disclosures, outcomes, strict=True):
        if outcome.delivered:
            _deliver(session, disclosure, offer, outcome)
        outbox.add(
            session,
            _recorded(disclosure, outcome.agency.kind),
            area_id=offer.area_id,
            aggregate_id=disclosure.id,
        )
    await session.flush()
    return disclosures


def _outcome(
    offer: Offer, agency: Agency, policy: Policy | None, invited: set[UUID], day: date
) -> Outcome:
    recipient = Recipient(
        agency.id, agency.area_id, agency.kind, agency.core_partner, agency.active
    )
    relations = registry_relations(
        recipient,
        invited=agency.id in invited,
        recorder=agency.id in offer.recorders,
        perpetrator_landlord=agency.id in offer.landlords,
    )
    decision = decide(policy, offer.data_class, recipient, relations, offer.basis, today=day)
    projected = decision.project(offer.values)
    fields = sorted(k for k in projected if decision.shows(k))
    redacted = sorted(k for k in projected if k in decision.redacted)
    bases = []
    if policy is not None:
        for name in decision.purposes:
            purpose = policy.protocol.purposes[name]
            bases.append(f"{purpose.legal_basis}; {purpose.gateway}")
    return Outcome(agency, decision, projected, fields, redacted, bases, _reason(offer, decision))


def _reason(offer: Offer, decision: Decision) -> str | None:
    """Why nothing went, or that an override (not consent) let something go."""
    if not decision.fields and not decision.redacted:
        reason = decision.reason or "no rule grants anything"
        if offer.basis.consent in REFUSED:
            reason += f" (consent {offer.basis.consent})"
        return reason[:200]
    overrides = sorted(set(decision.purposes) & offer.basis.override_purposes)
    if overrides and offer.basis.consent != "given":
        return f"shared under a recorded override for {', '.join(overrides)}"[:200]
    return None


def _disclosure(
    envelope: Envelope, offer: Offer, outcome: Outcome, policy: Policy | None
) -> Disclosure:
    purposes = list(outcome.decision.purposes)
    return Disclosure(
        id=new_id(),
        source_event_id=envelope.id,
        source_event_type=envelope.type,
        area_id=offer.area_id,
        recipient_agency_id=outcome.agency.id,
        fields=outcome.fields,
        redacted=outcome.redacted,
        purposes=purposes,
        legal_bases=outcome.legal_bases,
        purpose=purposes[0] if purposes else None,
        legal_basis=outcome.legal_bases[0] if outcome.legal_bases else None,
        protocol_version=policy.version if policy else None,
        data_class=offer.data_class,
        controller_agency_id=offer.controller,
        source_reference=offer.reference,
        person_id=offer.person_id,
        outcome="delivered" if outcome.delivered else "refused",
        reason=outcome.reason,
        occurred_at=utcnow(),
    )


def _deliver(session: AsyncSession, disclosure: Disclosure, offer: Offer, outcome: Outcome) -> None:
    """The partner's copy goes on its own subject, so NATS permissions can fence it."""
    agency_id = outcome.agency.id
    envelope = Envelope(
        source="casebridge/sharing",
        type=f"sharing.delivery.{offer.event}.v1",
        subject=f"share.{offer.area_id}.{agency_id}.{offer.event}.v1",
        area_id=offer.area_id,
        data={
            **outcome.data,
            "disclosure_id": str(disclosure.id),
            "protocol_version": disclosure.protocol_version,
            "purposes": disclosure.purposes,
            "redacted_fields": outcome.redacted,
        },
    )
    outbox.add_envelope(session, envelope, aggregate_type="delivery", aggregate_id=disclosure.id)
    session.add(
        Delivery(
            id=envelope.id,
            disclosure_id=disclosure.id,
            area_id=offer.area_id,
            recipient_agency_id=agency_id,
            subject=envelope.subject,
            event_type=envelope.type,
            data=envelope.data,
        )
    )


def _recorded(disclosure: Disclosure, recipient_kind: str) -> DisclosureRecorded:
    return DisclosureRecorded(
        disclosure_id=disclosure.id,
        source_event_id=disclosure.source_event_id,
        source_event_type=disclosure.source_event_type,
        recipient_agency_id=disclosure.recipient_agency_id,
        fields=list(disclosure.fields),
        outcome=disclosure.outcome,
        occurred_at=disclosure.occurred_at,
        purpose=disclosure.purpose,
        legal_basis=disclosure.legal_basis,
        recipient_kind=recipient_kind,
        reason=disclosure.reason,
        purposes=list(disclosure.purposes),
        legal_bases=list(disclosure.legal_bases),
        redacted=list(disclosure.redacted),
        protocol_version=disclosure.protocol_version,
        controller_agency_id=disclosure.controller_agency_id,
        source_reference=disclosure.source_reference,
    )
