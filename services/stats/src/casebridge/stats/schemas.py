"""Request and response models. Responses hold counts, dates and categories only."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator

from casebridge.common.schemas import QueryParams, ReadSchema
from casebridge.stats.periods import (
    PeriodKind,
    parse_month,
    parse_quarter,
    periods_between,
    today_in_london,
)

MAX_PERIODS = 240
# Every breakdown some measure has (monthly.MEASURES says which measure has which).
BREAKDOWNS = (
    "total", "agency", "channel", "nsir_category", "asb_type", "hate_motivated",
    "postcode_district", "band", "kind", "route", "outcome", "stage", "origin",
)  # fmt: skip
Category = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


class OutputFormat(StrEnum):
    json = "json"
    csv = "csv"


FORMAT_FIELD = Field(
    default=None, description="`csv` for CSV (or send `Accept: text/csv`); JSON otherwise"
)


class AreaRead(ReadSchema):
    id: UUID
    code: str | None = Field(description="the area's code, e.g. DMO (from its references)")


class ComplaintStatsQuery(QueryParams):
    date_from: date | None = Field(default=None, description="First month counted (inclusive)")
    date_to: date | None = Field(default=None, description="Last day counted (inclusive)")


class ComplaintStats(BaseModel):
    """Counts for the caller's area. No personal data."""

    area_id: UUID
    total: int
    by_month: dict[str, int]
    by_type: dict[str, int]
    by_category: dict[str, int]
    by_agency: dict[str, int]
    by_channel: dict[str, int]
    by_postcode_district: dict[str, int] = {}
    hate_motivated: int


class CaseReviewQuery(QueryParams):
    period: PeriodKind = Field(
        default=PeriodKind.financial_year,
        description="financial_year (April to March), quarter (of the financial year), "
        "calendar_year, month, or range (exactly date_from to date_to)",
    )
    date_from: date | None = Field(
        default=None,
        description="first day: every period overlapping the dates is listed",
        examples=["2025-04-01"],
    )
    date_to: date | None = Field(
        default=None,
        description="last day (inclusive); default today in Europe/London",
        examples=["2026-03-31"],
    )
    format: OutputFormat | None = FORMAT_FIELD

    @model_validator(mode="after")
    def _bounded(self) -> CaseReviewQuery:
        if self.period is PeriodKind.range and (self.date_from is None or self.date_to is None):
            raise ValueError("period=range needs both date_from and date_to")
        if self.date_from is not None:
            last = self.date_to or today_in_london()
            if self.date_from > last:
                raise ValueError("date_from is after date_to")
            if (last - self.date_from).days > 366 * 100 or len(
                periods_between(self.period, self.date_from, last)
            ) > MAX_PERIODS:
                raise ValueError(f"at most {MAX_PERIODS} periods at once: narrow the dates")
        return self


class CaseReviewCounts(ReadSchema):
    period: str = Field(examples=["2025-26"])
    start: date
    end: date
    complete: bool = Field(description="false while the period is still running")
    applications: int
    threshold_not_met: int
    reviews_carried_out: int
    reviews_with_recommendations: int


class CaseReviewReport(ReadSchema):
    area: AreaRead
    period_kind: PeriodKind
    timezone: str = "Europe/London"
    definitions: dict[str, str]
    rows: list[CaseReviewCounts]


class MonthlyQuery(QueryParams):
    by: str = Field(
        default="total",
        pattern=f"^({'|'.join(BREAKDOWNS)})$",
        description="the breakdown: which ones a measure has is in its description",
        examples=["asb_type", "agency", "stage"],
    )
    to: str | None = Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="last month shown, YYYY-MM (default: this one)",
    )
    months: int = Field(default=12, ge=1, le=36, description="months per page")
    agency_id: UUID | None = None
    channel: Category | None = None
    nsir_category: Category | None = None
    asb_type: Category | None = None
    hate_motivated: bool | None = None
    band: Category | None = Field(default=None, description="risk band, e.g. high")
    outcome: Category | None = Field(default=None, description="delivery outcome, e.g. delivered")
    origin: Category | None = Field(
        default=None, description="where a vulnerability flag came from: risk_answers, officer"
    )
    format: OutputFormat | None = FORMAT_FIELD

    @field_validator("to")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None:
            parse_month(value)
        return value

    def filters(self) -> dict[str, Any]:
        names = ("agency_id", "channel", "nsir_category", "asb_type", "hate_motivated")
        return {
            name: getattr(self, name)
            for name in (*names, "band", "outcome", "origin")
            if getattr(self, name) is not None
        }


class TrendPoint(ReadSchema):
    month: str = Field(examples=["2026-03"])
    value: float | None = Field(description="a count, a share (0 to 1) or a number of days")
    base: int | None = Field(
        default=None, description="what a share or a median was computed over (None: a count)"
    )
    previous_month: float | None
    change_month_on_month: float | None
    percent_change_month_on_month: float | None
    same_month_last_year: float | None
    change_year_on_year: float | None
    percent_change_year_on_year: float | None


class Series(ReadSchema):
    key: str = Field(description="the breakdown's value (`all` without a breakdown)")
    points: list[TrendPoint]


class MonthlyReport(ReadSchema):
    area: AreaRead
    measure: str
    description: str
    unit: str = Field(description="count, share or days")
    by: str
    filters: dict[str, str]
    months: list[str]
    series: list[Series]
    previous_page: str | None = Field(description="the same query for the months before")
    next_page: str | None = Field(description="the months after (None at the current month)")


class DataReturnQuery(QueryParams):
    quarter: str | None = Field(
        default=None,
        pattern=r"^\d{4}-\d{2}-Q[1-4]$",
        description="financial-year quarter YYYY-YY-Qn (Q1 is April to June); default: the "
        "last complete quarter",
    )
    format: OutputFormat | None = FORMAT_FIELD

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quarter(value)
        return value


class DataReturnRow(ReadSchema):
    area_code: str
    area_id: UUID
    financial_year: str
    quarter: str
    period_start: date
    period_end: date
    measure: str
    nsir_category: str
    asb_type: str
    value: int


class DataReturn(ReadSchema):
    columns: dict[str, str]
    rows: list[DataReturnRow]
