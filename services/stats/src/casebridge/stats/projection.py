"""Counting what intake and sharing announce: each event adds one to its cell, on its date
in Europe/London. Adding is commutative and the inbox makes a redelivery a no-op, so the
cells are right whatever the order the events arrive in. Only categories, dates, agency ids
and the postcode district are kept; nothing about the person."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    PersonVulnerabilityChanged,
    RepeatVictimMarked,
    RiskAssessed,
)
from casebridge.common.contracts.sharing import DisclosureRecorded
from casebridge.stats.models import (
    Area,
    Base,
    ComplaintCount,
    ComplaintDistrictCount,
    PartnerCount,
    RepeatVictimCount,
    RiskCount,
    VulnerabilityCount,
)
from casebridge.stats.periods import local_date, month_start

_INTAKE_REFERENCE = re.compile(r"^([A-Z]{2,6})-\d{4}-\d+-\d$")
_REVIEW_REFERENCE = re.compile(r"^CR-([A-Z]{2,6})-\d{4}-\d+$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
UNKNOWN_DISTRICT = "unknown"


def area_code_of(reference: str) -> tuple[str, str] | None:
    """The area code a reference starts with, and which service's reference it is
    (`DMO-2026-000001-7` -> DMO from intake; `CR-DMO-2026-000001` -> DMO from review)."""
    if match := _REVIEW_REFERENCE.match(reference):
        return match.group(1), "review"
    if match := _INTAKE_REFERENCE.match(reference):
        return match.group(1), "intake"
    return None


def postcode_district(postcode: str | None) -> str:
    """The outward code (`SW1A 1AA` -> `SW1A`): the finest place stats keeps."""
    if not postcode:
        return UNKNOWN_DISTRICT
    compact = postcode.replace(" ", "").upper()
    outward = compact[:-3] if len(compact) > 4 else compact
    return outward if _DISTRICT.match(outward) else UNKNOWN_DISTRICT


async def note_area(session: AsyncSession, *, area_id: UUID, reference: str | None) -> None:
    """Know the area; learn its code from a reference (intake's is the registry: it wins)."""
    found = area_code_of(reference) if reference else None
    code, source = found if found else (None, None)
    statement = insert(Area).values(area_id=area_id, code=code, code_from=source)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Area.area_id],
            set_={"code": excluded.code, "code_from": excluded.code_from},
            where=and_(
                excluded.code.is_not(None),
                or_(
                    Area.code.is_(None),
                    and_(Area.code_from == "review", excluded.code_from == "intake"),
                ),
            ),
        )
    )


async def _add(
    session: AsyncSession, model: type[Base], counter: str, amount: int, **cell: Any
) -> None:
    """Add `amount` to one cell, creating it at `amount`."""
    table = model.__table__
    statement = insert(model).values(**cell, **{counter: amount})
    keys = list(table.primary_key.columns)  # type: ignore[attr-defined]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=keys,
            set_={counter: getattr(model, counter) + statement.excluded[counter]},
        )
    )


def _month(moment: datetime) -> Any:
    return month_start(local_date(moment))


async def count_complaint(session: AsyncSession, *, area_id: UUID, event: ComplaintLogged) -> None:
    """A complaint counts in the month it was made to the agency (Europe/London), with the
    categories it was logged with."""
    month = _month(event.reported_at)
    await note_area(session, area_id=area_id, reference=event.reference)
    await _add(
        session,
        ComplaintCount,
        "complaints",
        1,
        area_id=area_id,
        month=month,
        agency_id=event.receiving_agency_id,
        asb_type=event.asb_type,
        nsir_category=event.nsir_category,
        channel=event.channel,
        hate_motivated=event.hate_motivated,
    )
    await _add(
        session,
        ComplaintDistrictCount,
        "complaints",
        1,
        area_id=area_id,
        month=month,
        postcode_district=postcode_district(event.postcode),
    )


async def count_risk_assessment(
    session: AsyncSession, *, area_id: UUID, event: RiskAssessed
) -> None:
    await _add(
        session,
        RiskCount,
        "assessments",
        1,
        area_id=area_id,
        month=_month(event.assessed_at),
        agency_id=event.receiving_agency_id,
        band=event.band,
    )


async def count_repeat_victim(
    session: AsyncSession, *, area_id: UUID, event: RepeatVictimMarked
) -> None:
    await _add(
        session, RepeatVictimCount, "marks", 1, area_id=area_id, month=_month(event.marked_at)
    )


async def count_vulnerability_change(
    session: AsyncSession, *, area_id: UUID, event: PersonVulnerabilityChanged
) -> None:
    """A log flagged vulnerable or cleared, in the month it changed; an event that changes
    nothing (the flag confirmed) is not counted."""
    if event.vulnerable == event.previous:
        return
    await _add(
        session,
        VulnerabilityCount,
        "changes",
        1,
        area_id=area_id,
        month=_month(event.changed_at),
        origin=event.origin,
        change="flagged" if event.vulnerable else "cleared",
    )


async def count_disclosure(
    session: AsyncSession, *, area_id: UUID, event: DisclosureRecorded
) -> None:
    """A partner delivery (or a refusal to deliver), per recipient agency and outcome."""
    await count_partner_activity(
        session,
        area_id=area_id,
        agency_id=event.recipient_agency_id,
        activity="delivery",
        outcome=event.outcome,
        at=event.occurred_at,
    )


async def count_partner_activity(
    session: AsyncSession,
    *,
    area_id: UUID,
    agency_id: UUID,
    activity: str,
    outcome: str,
    at: datetime,
) -> None:
    """One partner delivery (by outcome) or one partner update (`sharing.*.partner_update.
    recorded.v1`, by the outcome the partner recorded)."""
    await _add(
        session,
        PartnerCount,
        "events",
        1,
        area_id=area_id,
        month=_month(at),
        agency_id=agency_id,
        activity=activity,
        outcome=outcome,
    )
