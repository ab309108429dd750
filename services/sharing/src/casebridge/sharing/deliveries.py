"""Partner deliveries, decided by the area's information-sharing protocol.

One step for every shareable event: the event offers one record of a data class (in the
catalogue's field names, with its consent and overrides), each other active agency of the
area stands in its relations to that record (core or area partner from the registry,
invited from the case's invitations, the perpetrator's landlord from the event, the SPOC
or a panel member from review's procedure, procedures.py), `decide` says what it may have,
and each gets one disclosure row and, if anything is granted, a delivery (the partner's
feed and its own NATS subject). What each event offers is in offers.py (OFFERS); the
worker subscribes to exactly those events and to review's procedure changes (DECIDED_ON).

The worker decides a fetched batch together (`share_batch`, in the consumer runner's one
transaction with the batch's inbox claims): each event's offer in order (a procedure
change counting for the events after it), then the areas' agencies (with their webhook
endpoints), the cases' invitations, the protocols and the procedures read once, and the
disclosures, deliveries and outbox rows written by one statement that also takes the
feed's order lock and NOTIFY.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from pydantic_core import to_json
from sqlalchemy import Table, TextClause, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from casebridge.common.contracts.review import ProcedureChanged
from casebridge.common.contracts.sharing import DisclosureMade, DisclosuresRecorded
from casebridge.common.db import new_id, utcnow
from casebridge.common.events import outbox
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.events.models import OutboxMessage
from casebridge.common.isp.decide import REFUSED, Decision, Policy, Recipient, decide
from casebridge.common.isp.decide import relations_of as registry_relations
from casebridge.common.isp.directory import today
from casebridge.sharing import cases, feed, procedures, protocol
from casebridge.sharing.models import Agency, Delivery, Disclosure, WebhookEndpoint
from casebridge.sharing.offers import OFFERS, Offer
from casebridge.sharing.procedures import Procedure
from casebridge.sharing.reads import Rows, json_rows, read_together, uuid_of

log = logging.getLogger(__name__)

# Events that offer nothing themselves and change what the events after them are decided
# on: consumed in stream order with the events they count for.
DECIDED_ON: tuple[type[Contract], ...] = (ProcedureChanged,)


@dataclass(frozen=True)
class Outcome:
    """One recipient's share of one record: what it gets, and the grounds."""

    agency: Partner
    decision: Decision
    data: dict[str, Any]
    fields: list[str]
    redacted: list[str]
    legal_bases: list[str]
    reason: str | None

    @property
    def delivered(self) -> bool:
        return bool(self.fields or self.redacted)


async def share(session: AsyncSession, *, envelope: Envelope, event: Contract) -> list[Shared]:
    """Decide, record and deliver one event (a batch of one)."""
    return await share_batch(session, [(envelope, event)])


async def share_batch(
    session: AsyncSession, items: Sequence[tuple[Envelope, Contract]]
) -> list[Shared]:
    """Decide, record and deliver a batch of events, in order, for every other active
    agency of each event's area: what N events one at a time would write, with the area's
    agencies, the cases' invitations, the protocol and the case review procedure in force
    read once per batch and its rows written by one statement."""
    steps = await _steps(session, items)
    if not steps:
        return []
    areas = sorted({s.area_id if isinstance(s, ProcedureChanged) else s[1].area_id for s in steps})
    offered = [s for s in steps if not isinstance(s, ProcedureChanged)]
    offer_areas = sorted({offer.area_id for _, offer in offered})
    references = {offer.reference for _, offer in offered if offer.reference}
    procedure_rows, agency_rows, invitation_rows, protocol_rows = await read_together(
        session,
        procedures.in_force_read(areas),
        _partners_read(offer_areas),
        cases.invited_read(references),
        protocol.heads_read(offer_areas),
    )
    before = procedures.in_force_from(procedure_rows, areas)
    offers = await _decided_on_procedures(session, steps, before)
    if not offers:
        return []
    agencies, endpoints = _partners_from(agency_rows)
    invited = cases.invited_from(invitation_rows)
    policies = await protocol.policies_from(session, protocol_rows, offer_areas)
    day = today()
    written = _Rows()
    for envelope, offer, procedure in offers:
        policy = policies[offer.area_id]
        partners = [
            agency
            for agency in agencies.values()
            if agency.area_id == offer.area_id and agency.id != offer.controller
        ]
        case_invited = invited.get(offer.reference, set()) if offer.reference else set()
        at = utcnow()
        made = [
            written.add(
                envelope,
                offer,
                _outcome(offer, agency, policy, case_invited, procedure, day),
                policy,
                at,
                tuple(endpoints.get(agency.id, ())),
            )
            for agency in partners
        ]
        written.recorded(envelope, offer, made)
    ordering = feed.ordering(s.agency_id for s in written.shared)
    await session.execute(_WRITE, {"doc": written.document(), **ordering})
    return written.shared


# A step of a batch: an event's offer, or a procedure change the events after it are
# decided on.
_Step = tuple[Envelope, Offer] | ProcedureChanged


async def _steps(session: AsyncSession, items: Sequence[tuple[Envelope, Contract]]) -> list[_Step]:
    steps: list[_Step] = []
    for envelope, event in items:
        if isinstance(event, ProcedureChanged):
            steps.append(event)
            continue
        # In order: an event may index the case, or change its basis, for those after it.
        offer = await OFFERS[type(event)](session, envelope, event)
        if offer is not None:
            steps.append((envelope, offer))
    return steps


async def _decided_on_procedures(
    session: AsyncSession, steps: list[_Step], before: dict[UUID, Procedure]
) -> list[tuple[Envelope, Offer, Procedure]]:
    """Each offer with its area's case review procedure as it stood at that point of the
    batch (the replica as read, the batch's own announcements applied in order, then
    kept)."""
    current = dict(before)
    offers = []
    for step in steps:
        if isinstance(step, ProcedureChanged):
            current[step.area_id] = current[step.area_id].then(step)
        else:
            envelope, offer = step
            offers.append((envelope, offer, current[offer.area_id]))
    await procedures.keep(session, {a: p for a, p in current.items() if p != before[a]})
    return offers


@dataclass(frozen=True)
class Partner:
    """An active agency of the area, as a delivery decision reads it."""

    id: UUID
    area_id: UUID
    kind: str
    core_partner: bool
    active: bool = True


def _partners_read(areas: Sequence[UUID]) -> ScalarSelect[Any]:
    """The areas' active agencies, each with its active webhook endpoints (what a delivery
    is owed to), as one read of the batch's."""
    endpoints = (
        select(func.array_agg(aggregate_order_by(WebhookEndpoint.id, WebhookEndpoint.id)))
        .where(WebhookEndpoint.agency_id == Agency.id, WebhookEndpoint.active)
        .scalar_subquery()
    )
    return json_rows(
        select(
            Agency.id,
            Agency.area_id,
            Agency.kind,
            Agency.core_partner,
            endpoints.label("endpoints"),
        )
        .where(Agency.area_id.in_(areas), Agency.active)
        .order_by(Agency.id)
    )


def _partners_from(rows: Rows) -> tuple[dict[UUID, Partner], dict[UUID, list[UUID]]]:
    agencies: dict[UUID, Partner] = {}
    endpoints: dict[UUID, list[UUID]] = {}
    for row in sorted(rows, key=lambda r: str(r["id"])):  # by id, as the read orders them
        agency = Partner(
            uuid_of(row["id"]), uuid_of(row["area_id"]), row["kind"], row["core_partner"]
        )
        agencies[agency.id] = agency
        if row["endpoints"]:
            endpoints[agency.id] = [uuid_of(e) for e in row["endpoints"]]
    return agencies, endpoints


@dataclass(frozen=True)
class Shared:
    """One delivery made: its id (the delivered envelope's), its recipient and the
    recipient's active webhook endpoints it is owed to."""

    delivery_id: UUID
    agency_id: UUID
    endpoints: tuple[UUID, ...] = ()


@dataclass
class _Rows:
    """A batch's rows, in the order one event at a time would have written them."""

    disclosures: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    shared: list[Shared] = field(default_factory=list)

    def document(self) -> str:
        """The rows as the write statement's one JSON document; a row that does not name
        exactly the columns written fails here (a column added to a model, not to its row,
        would otherwise be written NULL)."""
        rows = {"disclosure": self.disclosures, "delivery": self.deliveries, "outbox": self.outbox}
        for key, written in rows.items():
            if written and set(written[0]) != set(_COLUMNS[key][1]):
                raise LookupError(f"{key} rows name {sorted(written[0])}, not its columns")
        return to_json(rows).decode()

    def add(
        self,
        envelope: Envelope,
        offer: Offer,
        outcome: Outcome,
        policy: Policy | None,
        at: datetime,
        endpoints: tuple[UUID, ...],
    ) -> DisclosureMade:
        """One recipient's disclosure, and its delivery if something is granted."""
        disclosure = _disclosure(envelope, offer, outcome, policy, at)
        self.disclosures.append(disclosure)
        if outcome.delivered:
            delivered = _delivered(disclosure, offer, outcome)
            self.deliveries.append(_delivery_row(delivered, disclosure))
            self.outbox.append(_outbox_row(delivered, "delivery", disclosure["id"]))
            self.shared.append(Shared(delivered.id, outcome.agency.id, endpoints))
        return _made(disclosure, outcome.agency.kind)

    def recorded(self, envelope: Envelope, offer: Offer, made: list[DisclosureMade]) -> None:
        """Every recipient's disclosure of one event, announced in one message."""
        if not made:
            return
        first = self.disclosures[-1]  # what the event's disclosures have in common
        event = DisclosuresRecorded(
            source_event_id=envelope.id,
            source_event_type=envelope.type,
            occurred_at=first["occurred_at"],
            protocol_version=first["protocol_version"],
            controller_agency_id=first["controller_agency_id"],
            source_reference=first["source_reference"],
            disclosures=made,
        )
        recorded = outbox.envelope_for(event, area_id=offer.area_id)
        self.outbox.append(_outbox_row(recorded, event.aggregate_type, envelope.id))


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


# The batch's rows go in ONE statement, its one bound value a JSON document (a fixed text:
# compiled and prepared once per process, whatever the batch's size); the names come from
# the models, never from input. The feed's numbering lock and NOTIFY are in it
# (feed.ORDER_AND_ANNOUNCE_CTE), taken before the deliveries draw their `seq`.
_COLUMNS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "disclosure": (table_of(Disclosure), tuple(c.name for c in table_of(Disclosure).columns)),
    # seq (the feed's position) and created_at are the database's
    "delivery": (
        table_of(Delivery),
        ("id", "disclosure_id", "area_id", "recipient_agency_id", "subject", "event_type", "data"),
    ),
    # the relay's bookkeeping columns keep their defaults
    "outbox": (
        table_of(OutboxMessage),
        ("id", "subject", "event_type", "aggregate_type", "aggregate_id", "payload"),
    ),
}


def _write_statement() -> TextClause:
    ctes = ["doc AS (SELECT CAST(:doc AS jsonb) AS d)", feed.ORDER_AND_ANNOUNCE_CTE]
    for key, (table, columns) in _COLUMNS.items():
        missing = [name for name in columns if name not in table.c]
        if missing:
            raise LookupError(f"{table.name} has no column {', '.join(missing)}")
        names = ", ".join(columns)
        # The deliveries draw their feed position only once the feed's lock is held.
        source = "doc, ordered" if key == "delivery" else "doc"
        ctes.append(
            f"new_{key} AS (INSERT INTO {table.name} ({names}) SELECT {names}"  # noqa: S608
            f" FROM {source}, jsonb_populate_recordset(NULL::{table.name}, doc.d -> '{key}'))"
        )
    return text("WITH " + ",\n".join(ctes) + "\nSELECT 1")


_WRITE = _write_statement()


def _outbox_row(envelope: Envelope, aggregate_type: str, aggregate_id: UUID) -> dict[str, Any]:
    row = outbox.row(envelope, aggregate_type=aggregate_type, aggregate_id=aggregate_id)
    return row | {"payload": envelope.model_dump(mode="json")}


def _outcome(
    offer: Offer,
    agency: Partner,
    policy: Policy | None,
    invited: set[UUID],
    procedure: Procedure,
    day: date,
) -> Outcome:
    recipient = Recipient(
        agency.id, agency.area_id, agency.kind, agency.core_partner, agency.active
    )
    # The same relations review's reads give: the SPOC and the panel from the procedure.
    relations = registry_relations(
        recipient,
        invited=agency.id in invited,
        recorder=agency.id in offer.recorders,
        perpetrator_landlord=agency.id in offer.landlords,
        **procedure.facts(agency.id),
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
    envelope: Envelope, offer: Offer, outcome: Outcome, policy: Policy | None, at: datetime
) -> dict[str, Any]:
    """The disclosure row: who, which fields, why, under which law and protocol version."""
    purposes = list(outcome.decision.purposes)
    return {
        "id": new_id(),
        "source_event_id": envelope.id,
        "source_event_type": envelope.type,
        "area_id": offer.area_id,
        "recipient_agency_id": outcome.agency.id,
        "fields": outcome.fields,
        "redacted": outcome.redacted,
        "purposes": purposes,
        "legal_bases": outcome.legal_bases,
        "purpose": purposes[0] if purposes else None,
        "legal_basis": outcome.legal_bases[0] if outcome.legal_bases else None,
        "protocol_version": policy.version if policy else None,
        "data_class": offer.data_class,
        "controller_agency_id": offer.controller,
        "source_reference": offer.reference,
        "person_id": offer.person_id,
        "outcome": "delivered" if outcome.delivered else "refused",
        "reason": outcome.reason,
        "occurred_at": at,
    }


def _delivered(disclosure: dict[str, Any], offer: Offer, outcome: Outcome) -> Envelope:
    """The partner's copy goes on its own subject, so NATS permissions can fence it."""
    agency_id = outcome.agency.id
    return Envelope(
        source="casebridge/sharing",
        type=f"sharing.delivery.{offer.event}.v1",
        subject=f"share.{offer.area_id}.{agency_id}.{offer.event}.v1",
        area_id=offer.area_id,
        data={
            **outcome.data,
            "disclosure_id": str(disclosure["id"]),
            "protocol_version": disclosure["protocol_version"],
            "purposes": disclosure["purposes"],
            "redacted_fields": outcome.redacted,
        },
    )


def _delivery_row(envelope: Envelope, disclosure: dict[str, Any]) -> dict[str, Any]:
    """The feed's row (its `seq` numbered by the database, in commit order)."""
    return {
        "id": envelope.id,
        "disclosure_id": disclosure["id"],
        "area_id": disclosure["area_id"],
        "recipient_agency_id": disclosure["recipient_agency_id"],
        "subject": envelope.subject,
        "event_type": envelope.type,
        "data": envelope.data,
    }


def _made(disclosure: dict[str, Any], recipient_kind: str) -> DisclosureMade:
    return DisclosureMade(
        disclosure_id=disclosure["id"],
        recipient_agency_id=disclosure["recipient_agency_id"],
        recipient_kind=recipient_kind,
        fields=list(disclosure["fields"]),
        outcome=disclosure["outcome"],
        purpose=disclosure["purpose"],
        legal_basis=disclosure["legal_basis"],
        reason=disclosure["reason"],
        purposes=list(disclosure["purposes"]),
        legal_bases=list(disclosure["legal_bases"]),
        redacted=list(disclosure["redacted"]),
    )
