"""The analysts' measures: each one a monthly series of the caller's area, with its
breakdowns and filters. Counts come from the monthly and daily counts; shares and medians
are computed over them (or over the review facts) for each month."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Date, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.models import (
    Base,
    ComplaintCount,
    ComplaintDistrictCount,
    MonthlyCount,
    PartnerCount,
    RepeatVictimCount,
    ReviewFact,
    RiskCount,
    VulnerabilityCount,
)
from casebridge.stats.periods import month_end

# (key, month) -> (value, base): base is what a share or median was computed over.
Values = dict[tuple[str, date], tuple[float, int | None]]
Fetch = Callable[[AsyncSession, UUID, date, date, str, Mapping[str, Any]], Awaitable[Values]]


@dataclass(frozen=True)
class Measure:
    description: str
    fetch: Fetch
    unit: str = "count"
    breakdowns: tuple[str, ...] = ("total",)
    filters: frozenset[str] = field(default_factory=frozenset)


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def cube(
    model: type[Base],
    counter: str,
    columns: Mapping[str, str],
    fixed: Mapping[str, Any] | None = None,
) -> Fetch:
    """A monthly count table: `columns` maps a breakdown or filter name to its column."""

    async def fetch(
        session: AsyncSession, area_id: UUID, first: date, last: date, by: str, filters: Any
    ) -> Values:
        table: Any = model
        key: ColumnElement[Any] | None = getattr(table, columns[by]) if by != "total" else None
        query = select(table.month, func.sum(getattr(table, counter)))
        query = query.where(table.area_id == area_id, table.month.between(first, last))
        for name, value in {**(fixed or {}), **filters}.items():
            query = query.where(getattr(table, columns.get(name, name)) == value)
        if key is not None:
            query = query.add_columns(key).group_by(table.month, key)
        else:
            query = query.group_by(table.month)
        rows = await session.execute(query)
        return {
            ((_key(row[2]) if key is not None else "all"), row[0]): (float(row[1]), None)
            for row in rows
        }

    return fetch


def _month_of(day: Any) -> Any:
    return cast(func.date_trunc("month", day), Date)


async def _daily(
    session: AsyncSession,
    area_id: UUID,
    first: date,
    last: date,
    measures: Mapping[str, str],
    detail: str | None,
    by_detail: bool,
) -> dict[tuple[str, date], int]:
    """Monthly sums of daily measures; keyed by the measure's label, or by its detail."""
    key = MonthlyCount.detail if by_detail else MonthlyCount.measure
    query = select(key, MonthlyCount.month, MonthlyCount.value).where(
        MonthlyCount.area_id == area_id,
        MonthlyCount.measure.in_(list(measures)),
        MonthlyCount.month.between(first, last),
        MonthlyCount.value != 0,  # a cell a review moved out of: as if never written
    )
    if detail is not None:
        query = query.where(MonthlyCount.detail == detail)
    found: dict[tuple[str, date], int] = {}
    for name, day, value in await session.execute(query):
        label = name if by_detail else measures[name]
        found[(label, day)] = found.get((label, day), 0) + int(value)
    return found


def daily(measures: Mapping[str, str], detail: str | None = None, by_detail: str = "") -> Fetch:
    """Daily measures summed by month; `by=outcome` keys them by their labels in
    `measures`, `by=<by_detail>` by their detail (a stage, a trigger kind, a route)."""

    async def fetch(
        session: AsyncSession, area_id: UUID, first: date, last: date, by: str, _: Any
    ) -> Values:
        found = await _daily(
            session, area_id, first, last, measures, detail, by_detail=by == by_detail
        )
        values: Values = {}
        for (label, day), value in found.items():
            key = "all" if by == "total" else label
            old = values.get((key, day), (0.0, None))[0]
            values[(key, day)] = (old + value, None)
        return values

    return fetch


def share(measures: Mapping[str, str], wanted: str, by_detail: str = "") -> Fetch:
    """The share of `wanted` among the labels of `measures` (0 to 1) per month."""

    async def fetch(
        session: AsyncSession, area_id: UUID, first: date, last: date, by: str, _: Any
    ) -> Values:
        per_detail = by == by_detail
        query = select(
            MonthlyCount.measure, MonthlyCount.detail, MonthlyCount.month, MonthlyCount.value
        ).where(
            MonthlyCount.area_id == area_id,
            MonthlyCount.measure.in_(list(measures)),
            MonthlyCount.month.between(first, last),
            MonthlyCount.value != 0,
        )
        totals: dict[tuple[str, date], list[int]] = {}
        for measure, detail, day, value in await session.execute(query):
            cell = totals.setdefault((detail if per_detail else "all", day), [0, 0])
            cell[1] += int(value)
            if measures[measure] == wanted:
                cell[0] += int(value)
        return {k: (hit / base, base) for k, (hit, base) in totals.items() if base}

    return fetch


def median_days(since: str, until: str) -> Fetch:
    """The median number of days from one moment of a review to another, for the reviews
    applied for in each month (those that have reached the second moment)."""

    async def fetch(
        session: AsyncSession, area_id: UUID, first: date, last: date, by: str, _: Any
    ) -> Values:
        start, end = getattr(ReviewFact, since), getattr(ReviewFact, until)
        days = extract("epoch", end - start) / 86400.0
        month = _month_of(ReviewFact.applied_on)
        query = (
            select(month, func.percentile_cont(0.5).within_group(days), func.count())
            .where(
                ReviewFact.area_id == area_id,
                ReviewFact.applied_on.between(first, month_end(last)),
                end.is_not(None),
            )
            .group_by(month)
        )
        rows = await session.execute(query)
        return {("all", day): (round(float(median), 2), int(n)) for day, median, n in rows}

    return fetch


COMPLAINT_COLUMNS = {
    "agency": "agency_id",
    "agency_id": "agency_id",
    "channel": "channel",
    "nsir_category": "nsir_category",
    "asb_type": "asb_type",
    "hate_motivated": "hate_motivated",
}
_complaints = cube(ComplaintCount, "complaints", COMPLAINT_COLUMNS)
_districts = cube(ComplaintDistrictCount, "complaints", {"postcode_district": "postcode_district"})


async def _complaints_or_districts(
    session: AsyncSession, area_id: UUID, first: date, last: date, by: str, filters: Any
) -> Values:
    fetch = _districts if by == "postcode_district" else _complaints
    return await fetch(session, area_id, first, last, by, filters)


RISK = {"agency": "agency_id", "agency_id": "agency_id", "band": "band"}
VULNERABILITY = {"origin": "origin"}
PARTNER = {"agency": "agency_id", "agency_id": "agency_id", "outcome": "outcome"}
DECISIONS = {"threshold_met": "met", "threshold_not_met": "not_met"}
DEADLINES = {"deadline_met": "met", "deadline_missed": "missed"}
COMPLAINT_FILTERS = frozenset({"agency_id", "channel", "nsir_category", "asb_type"}) | {
    "hate_motivated"
}

MEASURES: dict[str, Measure] = {
    "complaints": Measure(
        "Complaints logged, in the month they were made to the agency.",
        _complaints_or_districts,
        breakdowns=(
            "total",
            "agency",
            "channel",
            "nsir_category",
            "asb_type",
            "hate_motivated",
            "postcode_district",
        ),
        filters=COMPLAINT_FILTERS,
    ),
    "repeat_victims": Measure(
        "People who met the area's repeat-victim rule (once per episode).",
        cube(RepeatVictimCount, "marks", {}),
    ),
    "vulnerable_flagged": Measure(
        "Logs newly flagged vulnerable, by origin (risk_answers: the call's risk answers; "
        "officer: an officer's flag with a reason).",
        cube(VulnerabilityCount, "changes", VULNERABILITY, fixed={"change": "flagged"}),
        breakdowns=("total", "origin"),
        filters=frozenset({"origin"}),
    ),
    "vulnerable_cleared": Measure(
        "Vulnerability flags cleared, by origin.",
        cube(VulnerabilityCount, "changes", VULNERABILITY, fixed={"change": "cleared"}),
        breakdowns=("total", "origin"),
        filters=frozenset({"origin"}),
    ),
    "risk_assessments": Measure(
        "Risk assessments recorded, by band.",
        cube(RiskCount, "assessments", RISK),
        breakdowns=("total", "band", "agency"),
        filters=frozenset({"agency_id", "band"}),
    ),
    "high_risk_assessments": Measure(
        "Risk assessments in the high band (partners are alerted at once).",
        cube(RiskCount, "assessments", RISK, fixed={"band": "high"}),
        breakdowns=("total", "agency"),
        filters=frozenset({"agency_id"}),
    ),
    "second_report_prompts_raised": Measure(
        "Victims with a second report of ASB in six months, who must be told about the "
        "Case Review (2025 guidance).",
        daily({"trigger_raised": "raised"}, detail="second_report"),
    ),
    "second_report_prompts_explained": Measure(
        "Second-report prompts an agency recorded as explained to the victim.",
        daily({"trigger_explained": "explained"}, detail="second_report"),
    ),
    "triggers_raised": Measure(
        "Triggers raised, by kind (second_report, statutory, community, hate, high_risk).",
        daily({"trigger_raised": "raised"}, by_detail="kind"),
        breakdowns=("total", "kind"),
    ),
    "applications": Measure(
        "Applications for a Case Review (route: applicant, or started automatically).",
        daily({"application_route": "applications"}, by_detail="route"),
        breakdowns=("total", "route"),
    ),
    "threshold_decisions": Measure(
        "Threshold decisions that stand, by outcome, on the day first decided so.",
        daily(DECISIONS),
        breakdowns=("total", "outcome"),
    ),
    "threshold_met_rate": Measure(
        "Share of threshold decisions (that stand) that found the threshold met.",
        share(DECISIONS, "met"),
        unit="share",
    ),
    "reviews_carried_out": Measure(
        "Case Reviews carried out (review meeting held).", daily({"carried_out": "all"})
    ),
    "reviews_with_recommendations": Measure(
        "Case Reviews that resulted in recommendations.", daily({"with_recommendations": "all"})
    ),
    "escalations": Measure(
        "Reviews the applicant asked to be looked at again (escalated), on the day asked.",
        daily({"escalated": "all"}),
    ),
    "days_to_acknowledgement": Measure(
        "Median days from receiving an application to acknowledging it, by month applied.",
        median_days("applied_at", "acknowledged_at"),
        unit="days",
    ),
    "days_to_decision": Measure(
        "Median days from receiving an application to the first threshold decision.",
        median_days("applied_at", "first_decided_at"),
        unit="days",
    ),
    "deadlines": Measure(
        "Deadlines settled: met (stage done in time) or missed (announced overdue).",
        daily(DEADLINES, by_detail="stage"),
        breakdowns=("total", "outcome", "stage"),
    ),
    "deadlines_met_share": Measure(
        "Share of settled deadlines that were met.",
        share(DEADLINES, "met", by_detail="stage"),
        unit="share",
        breakdowns=("total", "stage"),
    ),
    "partner_deliveries": Measure(
        "Case information delivered to (or refused for) partner agencies.",
        cube(PartnerCount, "events", PARTNER, fixed={"activity": "delivery"}),
        breakdowns=("total", "agency", "outcome"),
        filters=frozenset({"agency_id", "outcome"}),
    ),
    "partner_updates": Measure(
        "Updates partners recorded on cases (`POST /cases/{reference}/updates`), by agency.",
        cube(PartnerCount, "events", PARTNER, fixed={"activity": "update"}),
        breakdowns=("total", "agency"),
        filters=frozenset({"agency_id"}),
    ),
}
