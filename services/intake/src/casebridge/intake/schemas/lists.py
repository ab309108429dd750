"""Pages and logs."""

from __future__ import annotations

from casebridge.common.schemas import Page, ReadSchema, Schema

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


class PersonLogRead(ReadSchema):
    person: PersonRead
    last_6_months: int
    last_12_months: int
    complaints: ComplaintPage
