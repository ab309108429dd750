"""Who may read what in sharing: one statement builder per aggregate, each from the caller's
token (its area and agency). Every read of partners' data starts here."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from casebridge.common.auth import Principal
from casebridge.sharing.models import Agency, CaseIndex, Delivery, Disclosure


def visible_agencies(principal: Principal) -> Select[Agency]:
    """Partners see the agencies of their own area."""
    return select(Agency).where(Agency.area_id == principal.area_id)


def visible_deliveries(principal: Principal) -> Select[Delivery]:
    """An agency sees only what was delivered to it."""
    return select(Delivery).where(
        Delivery.area_id == principal.area_id,
        Delivery.recipient_agency_id == principal.agency_id,
    )


def visible_disclosures(principal: Principal) -> Select[Disclosure]:
    """An agency sees the disclosure decisions about itself, delivered or refused."""
    return select(Disclosure).where(
        Disclosure.area_id == principal.area_id,
        Disclosure.recipient_agency_id == principal.agency_id,
    )


def audited_disclosures(principal: Principal) -> Select[Disclosure]:
    """What a DPO may audit: its agency's records disclosed, and disclosures to its agency."""
    return select(Disclosure).where(
        Disclosure.area_id == principal.area_id,
        or_(
            Disclosure.controller_agency_id == principal.agency_id,
            Disclosure.recipient_agency_id == principal.agency_id,
        ),
    )


def visible_cases(principal: Principal) -> Select[CaseIndex]:
    """Cases of the caller's area; another area's references are unknown."""
    return select(CaseIndex).where(CaseIndex.area_id == principal.area_id)
