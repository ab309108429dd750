"""Who may see what: ONE statement builder per aggregate. Every read, list and search of
complaints or people starts here (API1); the information-sharing protocol will plug in here.

- The receiving agency always sees its complaint.
- The area's other core partners see it only where the victim consented to share, or an
  override (risk of harm) is recorded.
- An agency of another area, or one that is not a core partner, sees nothing else.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select

from casebridge.common.auth import Principal
from casebridge.intake.models import Agency, Complaint, Person


def _is_core_partner(principal: Principal) -> ColumnElement[bool]:
    return exists().where(
        Agency.id == principal.agency_id,
        Agency.area_id == principal.area_id,
        Agency.core_partner.is_(True),
    )


def complaint_visible_to(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause behind `visible_complaints`, for use inside other statements."""
    shared = or_(Complaint.consent_status == "given", Complaint.share_override_at.is_not(None))
    return and_(
        Complaint.area_id == principal.area_id,
        or_(
            Complaint.receiving_agency_id == principal.agency_id,
            and_(_is_core_partner(principal), shared),
        ),
    )


def visible_complaints(principal: Principal) -> Select[Complaint]:
    return select(Complaint).where(complaint_visible_to(principal))


def visible_people(principal: Principal) -> Select[Person]:
    """A person is visible when at least one of their complaints is (merged logs never)."""
    return select(Person).where(
        Person.area_id == principal.area_id,
        Person.merged_into_id.is_(None),
        exists().where(Complaint.person_id == Person.id, complaint_visible_to(principal)),
    )
