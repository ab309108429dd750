"""Who may see what in review. Every read of a case review, a trigger, and the complaints
and victims they concern asks the information-sharing protocol (`casebridge.common.isp`)
through the caller's `Viewer`; nothing here decides on its own.

Relations to a review: its recorder (the agency that received the application), the area's
SPOC and panel (from the area's procedure), an agency invited to it, and the registry's
core partners and partners of the area. A trigger's recorder is an agency that took one of
its complaints. Complaints and victims are decided from review's index of intake's events
(consent, overrides, landlords), by the same rules intake's reads apply.

Lists are filtered in SQL built from the same rules (`Viewer.grants`), so a list never holds
a row a read would refuse. A review lists its complaints as the caller may see them; the
SPOC and the panel, who carry out the review (Sch 4 para 7), see every complaint it relies on
where the protocol grants them the review's `complaint_ids`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    case,
    exists,
    false,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.isp import Basis, Decision, Relation, Viewer, relations_of
from casebridge.common.isp.decide import Grant
from casebridge.common.isp.sql import condition_holds
from casebridge.review import areas
from casebridge.review.config import AreaRules
from casebridge.review.models import (
    CaseInvitation,
    CaseReview,
    IndexedComplaint,
    Trigger,
    access_record,
)

T = TypeVar("T")
CARRY_OUT = frozenset({Relation.spoc, Relation.panel})


@dataclass(frozen=True)
class Seen(Generic[T]):
    """A record, what the caller may see of it, and why."""

    record: T
    decision: Decision
    relations: frozenset[Relation] = frozenset()


@dataclass(frozen=True)
class Roles:
    """The caller's standing in its area's case review procedure."""

    spoc: bool
    panel: bool

    @classmethod
    def of(cls, viewer: Viewer, rules: AreaRules) -> Roles:
        me = viewer.recipient.agency_id
        return cls(
            spoc=rules.spoc.agency_id == me,
            panel=any(m.agency_id == me for m in rules.panel.members),
        )


def principal_of(viewer: Viewer) -> Principal:
    """The caller behind a request's viewer (a request's viewer always has one)."""
    assert viewer.principal is not None
    return viewer.principal


async def roles_of(session: AsyncSession, viewer: Viewer) -> Roles:
    return Roles.of(viewer, await areas.rules_for(session, viewer.recipient.area_id))


# ---- SQL ---------------------------------------------------------------------------------


def _condition(grant: Grant, consent: ColumnElement[str]) -> ColumnElement[bool]:
    """A review's or trigger's condition: consent as the record says it; no overrides are
    recorded on reviews or triggers (an override is a complaint's, in intake)."""
    return condition_holds(grant.condition, consent, false())


def _registry(viewer: Viewer, relation: Relation, roles: Roles) -> ColumnElement[bool] | None:
    recipient = viewer.recipient
    match relation:
        case Relation.core_partner:
            return true() if recipient.active and recipient.core_partner else false()
        case Relation.area_partner:
            return true() if recipient.active else false()
        case Relation.spoc:
            return true() if recipient.active and roles.spoc else false()
        case Relation.panel:
            return true() if recipient.active and roles.panel else false()
    return None


def _invited(viewer: Viewer, reference: Any) -> ColumnElement[bool]:
    return exists().where(
        CaseInvitation.case_reference == reference,
        CaseInvitation.agency_id == viewer.recipient.agency_id,
        CaseInvitation.invited.is_(True),
    )


def _review_consent() -> ColumnElement[str]:
    """A victim's own application, or a representative's with the victim's consent."""
    applied = or_(CaseReview.applicant_kind == "victim", CaseReview.consent_recorded.is_(True))
    return case((applied, "given"), else_="not_asked")


def visible_reviews(viewer: Viewer, roles: Roles) -> Select[CaseReview]:
    me = viewer.recipient.agency_id
    recorder = CaseReview.received_by_agency_id == me
    facts = {Relation.recorder: recorder, Relation.invited: _invited(viewer, CaseReview.reference)}
    clauses = [recorder]
    for grant in viewer.grants("review"):
        related = [facts.get(r, _registry(viewer, r, roles)) for r in grant.relations]
        clauses.append(
            and_(
                or_(false(), *(r for r in related if r is not None)),
                _condition(grant, _review_consent()),
            )
        )
    return select(CaseReview).where(CaseReview.area_id == viewer.recipient.area_id, or_(*clauses))


def _took_one(viewer: Viewer) -> ColumnElement[bool]:
    return exists().where(
        IndexedComplaint.complaint_id == any_(Trigger.complaint_ids),
        IndexedComplaint.receiving_agency_id == viewer.recipient.agency_id,
    )


def visible_triggers(viewer: Viewer, roles: Roles) -> Select[Trigger]:
    facts = {Relation.recorder: _took_one(viewer), Relation.invited: false()}
    clauses = []
    for grant in viewer.grants("trigger"):
        related = [facts.get(r, _registry(viewer, r, roles)) for r in grant.relations]
        clauses.append(
            and_(
                or_(false(), *(r for r in related if r is not None)),
                _condition(grant, literal("not_asked")),
            )
        )
    return select(Trigger).where(
        Trigger.area_id == viewer.recipient.area_id, or_(false(), *clauses)
    )


# ---- Python: each record's fields ---------------------------------------------------------


def _review_relations(viewer: Viewer, review: CaseReview, roles: Roles, invited: bool) -> Any:
    recipient = viewer.recipient
    return relations_of(
        recipient,
        recorder=review.received_by_agency_id == recipient.agency_id,
        spoc=roles.spoc,
        panel=roles.panel,
        invited=invited,
    )


async def seen_reviews(
    session: AsyncSession, viewer: Viewer, reviews: Sequence[CaseReview], roles: Roles
) -> list[Seen[CaseReview]]:
    invited = await _invitations(session, viewer, [r.reference for r in reviews])
    seen = []
    for review in reviews:
        relations = _review_relations(viewer, review, roles, review.reference in invited)
        consent = "given" if review.applicant_kind == "victim" or review.consent_recorded else ""
        decision = viewer.decide("review", relations, Basis(consent or "not_asked"))
        seen.append(Seen(review, decision, relations))
    return seen


async def seen_triggers(
    session: AsyncSession, viewer: Viewer, triggers: Sequence[Trigger], roles: Roles
) -> list[Seen[Trigger]]:
    ids = {c for t in triggers for c in t.complaint_ids}
    mine = set(
        await session.scalars(
            select(IndexedComplaint.complaint_id).where(
                IndexedComplaint.complaint_id.in_(ids),
                IndexedComplaint.receiving_agency_id == viewer.recipient.agency_id,
            )
        )
    )
    seen = []
    for trigger in triggers:
        relations = relations_of(
            viewer.recipient,
            recorder=bool(mine & set(trigger.complaint_ids)),
            spoc=roles.spoc,
            panel=roles.panel,
        )
        seen.append(Seen(trigger, viewer.decide("trigger", relations, Basis()), relations))
    return seen


async def _invitations(
    session: AsyncSession, viewer: Viewer, references: Iterable[str]
) -> set[str]:
    wanted = list(references)
    if not wanted:
        return set()
    return set(
        await session.scalars(
            select(CaseInvitation.case_reference).where(
                CaseInvitation.agency_id == viewer.recipient.agency_id,
                CaseInvitation.invited.is_(True),
                CaseInvitation.case_reference.in_(wanted),
            )
        )
    )


@dataclass
class ComplaintSight:
    """What the caller may see of a set of complaints (review's index of intake's)."""

    decisions: dict[UUID, Decision] = field(default_factory=dict)

    def visible(self, complaint_id: UUID) -> bool:
        decision = self.decisions.get(complaint_id)
        return decision is not None and decision.visible


async def complaint_sight(
    session: AsyncSession, viewer: Viewer, complaint_ids: Iterable[UUID]
) -> ComplaintSight:
    """The protocol's decision on each complaint, by the rules intake's reads apply."""
    ids = list(set(complaint_ids))
    if not ids:
        return ComplaintSight()
    rows = list(
        await session.scalars(
            select(IndexedComplaint).where(
                IndexedComplaint.complaint_id.in_(ids),
                IndexedComplaint.area_id == viewer.recipient.area_id,
            )
        )
    )
    invited = await _invitations(session, viewer, [r.reference for r in rows])
    me = viewer.recipient.agency_id
    sight = ComplaintSight()
    for row in rows:
        relations = relations_of(
            viewer.recipient,
            recorder=row.receiving_agency_id == me,
            invited=row.reference in invited,
            perpetrator_landlord=me in (row.perpetrator_landlord_ids or ()),
        )
        basis = Basis(row.consent_status, frozenset(row.override_purposes or ()))
        sight.decisions[row.complaint_id] = viewer.decide("complaint", relations, basis)
    return sight


def complaints_shown(seen: Seen[Any], ids: Sequence[UUID], sight: ComplaintSight) -> list[UUID]:
    """The complaint ids of a review or trigger as the caller may see them: all of them for
    the SPOC and the panel where the protocol grants them the list; for anyone else (the
    agency that received the application included) only the complaints it may see itself."""
    if not seen.decision.shows("complaint_ids"):
        return []
    if seen.relations & CARRY_OUT:
        return list(ids)
    return [i for i in ids if sight.visible(i)]


async def person_visible(session: AsyncSession, viewer: Viewer, person_id: UUID) -> bool:
    """Whether the caller may know this victim: it took one of their complaints, or the
    protocol grants it something of their log (decided on the log's latest consent and its
    overrides, as intake decides)."""
    rows = list(
        await session.scalars(
            select(IndexedComplaint)
            .where(
                IndexedComplaint.person_id == person_id,
                IndexedComplaint.area_id == viewer.recipient.area_id,
            )
            .order_by(IndexedComplaint.consent_recorded_at.asc().nulls_first())
        )
    )
    if not rows:
        return False
    me = viewer.recipient.agency_id
    invited = await _invitations(session, viewer, [r.reference for r in rows])
    decided = [r for r in rows if r.consent_status != "not_asked"]
    relations = relations_of(
        viewer.recipient,
        recorder=any(r.receiving_agency_id == me for r in rows),
        invited=any(r.reference in invited for r in rows),
        perpetrator_landlord=any(me in (r.perpetrator_landlord_ids or ()) for r in rows),
    )
    basis = Basis(
        decided[-1].consent_status if decided else "not_asked",
        frozenset(p for r in rows for p in (r.override_purposes or ())),
    )
    if Relation.recorder in relations:
        return True  # it supplied the victim's details itself
    return viewer.decide("person", relations, basis).visible


def person_shown(seen: Seen[Any], person_id: UUID | None) -> UUID | None:
    return person_id if seen.decision.shows("person_id") else None


__all__ = [
    "ComplaintSight",
    "Roles",
    "Seen",
    "complaint_sight",
    "complaints_shown",
    "person_shown",
    "person_visible",
    "principal_of",
    "roles_of",
    "seen_reviews",
    "seen_triggers",
    "visible_reviews",
    "visible_triggers",
]


def access_controlled_by(agency_id: UUID) -> ColumnElement[bool]:
    """The access records an agency's DPO audits: reads of a trigger counting complaints it
    took (every such agency controls the trigger)."""
    counted = select(Trigger.id).join(
        IndexedComplaint, IndexedComplaint.complaint_id == Trigger.complaint_ids.any_()
    )
    return and_(
        access_record.c.record_type == "trigger",
        access_record.c.record_id.in_(
            counted.where(IndexedComplaint.receiving_agency_id == agency_id)
        ),
    )
