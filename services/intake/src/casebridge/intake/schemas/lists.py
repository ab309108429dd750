"""Pages and logs."""

from __future__ import annotations

from casebridge.common.schemas import Page, Schema

from .complaints import ComplaintRead, ComplaintSummary
from .people import PersonRead


class ComplaintPage(Page[ComplaintSummary]):
    pass


class PersonPage(Page[PersonRead]):
    pass


class ComplaintMatches(Schema):
    """Every complaint the caller may see with that reference (an agency's reference can
    cover several complaints; a Casebridge reference is one)."""

    items: list[ComplaintRead]


class PersonLogRead(Schema):
    person: PersonRead
    last_6_months: int
    last_12_months: int
    complaints: ComplaintPage
