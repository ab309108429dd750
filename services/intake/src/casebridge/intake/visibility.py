"""Who may see what in intake. Every read, list and search of complaints, people and risk
assessments asks the information-sharing protocol (`casebridge.common.isp`) through the
caller's `Viewer`: nothing here decides on its own.

Two renderings of the one decision:
- SQL filters (`visible_complaints`, `visible_people`) keep exactly the rows the decision
  would show something of; they are built from the protocol's rules for the caller
  (`Viewer.grants`), so a list or a search never holds a row a read would refuse;
- `ComplaintView` / `PersonView` decide each row's fields with `Viewer.decide`.

An agency always sees the complaints it recorded, and the complainant details it supplied
itself; a log it merely matched into shows it nothing more unless the protocol grants it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    exists,
    false,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute

from casebridge.common.auth import Principal
from casebridge.common.isp import Basis, Decision, Relation, Viewer, relations_of
from casebridge.common.isp.decide import Grant
from casebridge.common.isp.sql import condition_holds
from casebridge.intake.models import (
    CaseInvitation,
    Complaint,
    Perpetrator,
    Person,
    access_record,
)

T = TypeVar("T")

# ---- SQL: the rows the protocol shows something of ---------------------------------------


def _condition(
    grant: Grant, consent: InstrumentedAttribute[str], overrides: InstrumentedAttribute[list[str]]
) -> ColumnElement[bool]:
    override = literal(grant.purpose) == any_(overrides)
    return condition_holds(grant.condition, consent, override)


def _invited(viewer: Viewer, reference: Any) -> ColumnElement[bool]:
    return exists().where(
        CaseInvitation.case_reference == reference,
        CaseInvitation.agency_id == viewer.recipient.agency_id,
        CaseInvitation.invited.is_(True),
    )


def _landlord_of(viewer: Viewer, complaint_id: Any) -> ColumnElement[bool]:
    return exists().where(
        Perpetrator.complaint_id == complaint_id,
        Perpetrator.landlord_agency_id == viewer.recipient.agency_id,
    )


@dataclass(frozen=True)
class _Relations:
    """A relation's SQL for one kind of row."""

    recorder: ColumnElement[bool]
    invited: ColumnElement[bool]
    landlord: ColumnElement[bool]

    def of(self, viewer: Viewer, relation: Relation) -> ColumnElement[bool]:
        recipient = viewer.recipient
        match relation:
            case Relation.recorder:
                return self.recorder
            case Relation.invited:
                return self.invited
            case Relation.perpetrator_landlord:
                return self.landlord
            case Relation.core_partner:
                return true() if recipient.active and recipient.core_partner else false()
            case Relation.area_partner:
                return true() if recipient.active else false()
        return false()  # spoc and panel mean nothing for intake's records


def _granted(
    viewer: Viewer,
    grants: Sequence[Grant],
    relations: _Relations,
    consent: InstrumentedAttribute[str],
    overrides: InstrumentedAttribute[list[str]],
) -> list[ColumnElement[bool]]:
    """One clause per rule that shows something of a row to the viewer."""
    clauses = []
    for grant in grants:
        clause = and_(
            or_(*(relations.of(viewer, r) for r in grant.relations)),
            _condition(grant, consent, overrides),
        )
        if not grant.beyond_identity and not grant.names_landlord:
            clause = and_(clause, not_(relations.landlord))
        clauses.append(clause)
    return clauses


def _complaint_relations(viewer: Viewer) -> _Relations:
    me = viewer.recipient.agency_id
    return _Relations(
        recorder=Complaint.receiving_agency_id == me,
        invited=_invited(viewer, Complaint.reference),
        landlord=_landlord_of(viewer, Complaint.id),
    )


def complaint_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause behind `visible_complaints`, for use inside other statements."""
    relations = _complaint_relations(viewer)
    granted = _granted(
        viewer,
        viewer.grants("complaint"),
        relations,
        Complaint.consent_status,
        Complaint.override_purposes,
    )
    return and_(Complaint.area_id == viewer.recipient.area_id, or_(relations.recorder, *granted))


def visible_complaints(viewer: Viewer) -> Select[Complaint]:
    return select(Complaint).where(complaint_visible_to(viewer))


def _showing(
    viewer: Viewer,
    grants: Sequence[Grant],
    relations: _Relations,
    consent: InstrumentedAttribute[str],
    overrides: InstrumentedAttribute[list[str]],
    name: str,
) -> list[ColumnElement[bool]]:
    """One clause per rule that shows `name`'s value of a row to the viewer."""
    return [
        and_(
            or_(*(relations.of(viewer, r) for r in grant.relations)),
            _condition(grant, consent, overrides),
            true() if grant.shows(name, landlord=True) else not_(relations.landlord),
        )
        for grant in grants
        if grant.shows(name, landlord=False)
    ]


def complaint_shows(viewer: Viewer, name: str) -> ColumnElement[bool]:
    """Rows whose `name` the viewer may see: a filter or a search on a field matches only
    there, so it cannot reveal a value the read would not show."""
    relations = _complaint_relations(viewer)
    shown = _showing(
        viewer,
        viewer.grants("complaint"),
        relations,
        Complaint.consent_status,
        Complaint.override_purposes,
        name,
    )
    return or_(relations.recorder, *shown)


def own_complaints(principal: Principal) -> Select[Complaint]:
    """The complaints an agency recorded: its own record, whatever the protocol says."""
    return select(Complaint).where(
        Complaint.area_id == principal.area_id,
        Complaint.receiving_agency_id == principal.agency_id,
    )


def _on_log(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Complaint.person_id == Person.id, *conditions)


def _person_relations(viewer: Viewer) -> _Relations:
    me = viewer.recipient.agency_id
    return _Relations(
        recorder=_on_log(Complaint.receiving_agency_id == me),
        invited=_on_log(_invited(viewer, Complaint.reference)),
        landlord=_on_log(_landlord_of(viewer, Complaint.id)),
    )


def visible_people(viewer: Viewer) -> Select[Person]:
    """A log is visible to an agency with a complaint on it (it sees what it supplied) and
    to whom the protocol grants something of it; merged logs never."""
    relations = _person_relations(viewer)
    granted = _granted(
        viewer, viewer.grants("person"), relations, Person.consent_status, Person.override_purposes
    )
    return select(Person).where(
        Person.area_id == viewer.recipient.area_id,
        Person.merged_into_id.is_(None),
        or_(relations.recorder, *granted),
    )


def person_shows(viewer: Viewer, name: str) -> ColumnElement[bool]:
    """Logs whose `name` the protocol shows the viewer: a filter on a field the caller did
    not supply itself (vulnerable) matches only there."""
    relations = _person_relations(viewer)
    shown = _showing(
        viewer,
        viewer.grants("person"),
        relations,
        Person.consent_status,
        Person.override_purposes,
        name,
    )
    return or_(false(), *shown)


def person_field_is(viewer: Viewer, name: str, value: Any) -> ColumnElement[bool]:
    """A search on one of a person's fields (`name` in the catalogue; the name is compared
    in its normal form) matches only where the caller may see that field: the protocol
    shows it, or the caller supplied that value itself."""
    column: InstrumentedAttribute[Any] = getattr(Person, "name_norm" if name == "name" else name)
    relations = _person_relations(viewer)
    shown = _showing(
        viewer,
        viewer.grants("person"),
        relations,
        Person.consent_status,
        Person.override_purposes,
        name,
    )
    key = "name_norm" if name == "name" else name
    supplied = _on_log(
        Complaint.receiving_agency_id == viewer.recipient.agency_id,
        Complaint.complainant[key].astext == str(value),
    )
    return or_(and_(column == value, or_(false(), *shown)), supplied)


# ---- Python: each row's fields -----------------------------------------------------------


@dataclass(frozen=True)
class Seen(Generic[T]):
    """A record, what the caller may see of it, and why: the caller's relations to it and
    the record's basis (what a record hanging off it, like an assessment, is decided by)."""

    record: T
    decision: Decision
    relations: frozenset[Relation] = frozenset()
    basis: Basis = field(default_factory=Basis)


@dataclass
class ComplaintFacts:
    """What decides the relations of a page of complaints beyond their own columns."""

    invited: set[str] = field(default_factory=set)
    landlord_of: set[UUID] = field(default_factory=set)


async def complaint_facts(session: Any, viewer: Viewer, rows: Sequence[Any]) -> ComplaintFacts:
    """The caller's invitations to, and landlordships of, a page of complaints."""
    if not rows:
        return ComplaintFacts()
    me = viewer.recipient.agency_id
    invited = await session.scalars(
        select(CaseInvitation.case_reference).where(
            CaseInvitation.agency_id == me,
            CaseInvitation.invited.is_(True),
            CaseInvitation.case_reference.in_([r.reference for r in rows]),
        )
    )
    landlord_of = await session.scalars(
        select(Perpetrator.complaint_id).where(
            Perpetrator.landlord_agency_id == me,
            Perpetrator.complaint_id.in_([r.id for r in rows]),
        )
    )
    return ComplaintFacts(set(invited), set(landlord_of))


async def seen_complaints(
    session: Any, viewer: Viewer, rows: Sequence[Complaint]
) -> list[Seen[Complaint]]:
    facts = await complaint_facts(session, viewer, rows)
    return [see_complaint(viewer, row, facts) for row in rows]


def see_complaint(viewer: Viewer, complaint: Any, facts: ComplaintFacts) -> Seen[Any]:
    me = viewer.recipient.agency_id
    relations = relations_of(
        viewer.recipient,
        recorder=complaint.receiving_agency_id == me,
        invited=complaint.reference in facts.invited,
        perpetrator_landlord=complaint.id in facts.landlord_of,
    )
    basis = Basis(complaint.consent_status, frozenset(complaint.override_purposes or ()))
    return Seen(complaint, viewer.decide("complaint", relations, basis), relations, basis)


@dataclass
class PersonFacts:
    """The caller's relations to a page of logs, and the details it supplied to each."""

    recorded: set[UUID] = field(default_factory=set)
    invited: set[UUID] = field(default_factory=set)
    landlord_of: set[UUID] = field(default_factory=set)
    supplied: dict[UUID, dict[str, Any]] = field(default_factory=dict)


async def person_facts(session: Any, viewer: Viewer, person_ids: Sequence[UUID]) -> PersonFacts:
    """One round trip: the caller's complaints on these logs (with the details it was given,
    newest last so they win), its invitations and landlordships on them."""
    facts = PersonFacts()
    if not person_ids:
        return facts
    me = viewer.recipient.agency_id
    mine = Complaint.receiving_agency_id == me
    invited = _invited(viewer, Complaint.reference)
    landlord = _landlord_of(viewer, Complaint.id)
    rows = await session.execute(
        select(
            Complaint.person_id,
            mine.label("mine"),
            Complaint.complainant,
            invited.label("invited"),
            landlord.label("landlord"),
        )
        .where(Complaint.person_id.in_(person_ids), or_(mine, invited, landlord))
        .order_by(Complaint.reported_at, Complaint.id)
    )
    for person_id, is_mine, details, is_invited, is_landlord in rows:
        if is_mine:
            facts.recorded.add(person_id)
            own = facts.supplied.setdefault(person_id, {})
            own.update({k: v for k, v in (details or {}).items() if v is not None})
        if is_invited:
            facts.invited.add(person_id)
        if is_landlord:
            facts.landlord_of.add(person_id)
    return facts


def decide_person(viewer: Viewer, person: Any, facts: PersonFacts) -> Decision:
    relations = relations_of(
        viewer.recipient,
        recorder=person.id in facts.recorded,
        invited=person.id in facts.invited,
        perpetrator_landlord=person.id in facts.landlord_of,
    )
    basis = Basis(person.consent_status, frozenset(person.override_purposes or ()))
    return viewer.decide("person", relations, basis)


@dataclass(frozen=True)
class SeenPerson:
    """A log, what the protocol lets the caller see of it, and what the caller supplied."""

    record: Person
    decision: Decision
    supplied: dict[str, Any]


async def seen_people(session: Any, viewer: Viewer, rows: Sequence[Person]) -> list[SeenPerson]:
    facts = await person_facts(session, viewer, [r.id for r in rows])
    return [
        SeenPerson(row, decide_person(viewer, row, facts), facts.supplied.get(row.id, {}))
        for row in rows
    ]


def access_controlled_by(agency_id: UUID) -> ColumnElement[bool]:
    """The access records an agency's DPO audits: reads of a complaint log it recorded a
    complaint on (every such agency controls the log)."""
    return and_(
        access_record.c.record_type == "person",
        access_record.c.record_id.in_(
            select(Complaint.person_id).where(Complaint.receiving_agency_id == agency_id)
        ),
    )
