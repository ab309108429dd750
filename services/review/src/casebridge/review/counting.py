"""What an application counts: each complaint considered, which behaviour it is about, and
whether it qualifies for the application, with the reason (s104(4) and (11)).

Pure functions over indexed complaints; the same definitions as the automatic trigger
(rules.behaviours, rules.qualifies, rules.in_window), so the two paths cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from casebridge.common.periods import QUALIFYING_MONTHS, period_end
from casebridge.review.config import AreaRules
from casebridge.review.models import IndexedComplaint
from casebridge.review.rules import behaviours, in_window, incident_key, qualifies

# Why a complaint did or did not count, in the order they are tested.
REASONS = {
    "counted": "counted",
    "other_behaviour": "about another behaviour than the one the application concerns",
    "after_application": "made after the application was received",
    "late_report": "made more than one month after the behaviour",
    "outside_six_months": "made more than six months before the application",
    "same_incident": "the same incident as a complaint already counted",
}


@dataclass(frozen=True)
class Considered:
    complaint_id: UUID
    reference: str
    receiving_agency_id: UUID
    behaviour: int
    occurred_on: date
    reported_on: date
    counted: bool
    reason: str
    explanation: str
    same_incident_as: str | None
    backdated_reason: str | None
    backdated_by: str | None
    as_of: datetime | None


@dataclass(frozen=True)
class Behaviour:
    number: int
    label: str
    concerned: bool
    qualifying_incidents: int
    met: bool


@dataclass(frozen=True)
class Counting:
    applied_on: date
    threshold: int
    behaviours: list[Behaviour]
    complaints: list[Considered]

    @property
    def met(self) -> bool:
        """s104(4): enough qualifying complaints about a behaviour the application concerns."""
        return any(b.met for b in self.behaviours if b.concerned)

    @property
    def qualifying_incidents(self) -> int:
        return max((b.qualifying_incidents for b in self.behaviours if b.concerned), default=0)

    def as_json(self) -> dict[str, Any]:
        return {
            "applied_on": self.applied_on.isoformat(),
            "threshold": self.threshold,
            "met": self.met,
            "qualifying_incidents": self.qualifying_incidents,
            "behaviours": [asdict(b) for b in self.behaviours],
            "complaints": [_json(asdict(c)) for c in self.complaints],
        }

    def reasons(self) -> str:
        """The decision's reasons: each behaviour's count, and why each complaint did not count."""
        parts = []
        for b in self.behaviours:
            scope = "" if b.concerned else " (not the behaviour the application concerns)"
            parts.append(
                f"behaviour {b.number} ({b.label}){scope}: {b.qualifying_incidents} qualifying "
                f"complaint(s) of {self.threshold} needed"
            )
        for c in self.complaints:
            if not c.counted:
                parts.append(f"{c.reference} not counted: {c.explanation}")
        return "; ".join(parts)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, UUID) else v
        for k, v in values.items()
    }


def label(group: Sequence[IndexedComplaint]) -> str:
    """A behaviour in words: its types of behaviour and places."""
    seen = dict.fromkeys(
        f"{c.asb_type.replace('_', ' ')} at {c.place_key}" if c.place_key else c.asb_type
        for c in group
    )
    names = list(seen)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def count(
    complaints: Sequence[IndexedComplaint],
    *,
    applied_on: date,
    concerns: UUID | None,
    rules: AreaRules,
) -> Counting:
    """Decide per behaviour: a behaviour the application concerns (all of them when it names
    none) meets the threshold with enough qualifying complaints, separate incidents once."""
    months = rules.statutory.window_months
    threshold = rules.statutory.threshold
    found: list[Behaviour] = []
    considered: list[Considered] = []
    for number, group in enumerate(behaviours(complaints, rules), start=1):
        concerned = concerns is None or any(c.complaint_id == concerns for c in group)
        first_of: dict[UUID, IndexedComplaint] = {}
        for c in group:
            reason, explanation = _judge(c, concerned, applied_on, months)
            same_as = None
            if reason == "counted":
                key = incident_key(c, rules)
                if key in first_of:
                    same_as = first_of[key].reference
                    reason, explanation = "same_incident", f"the same incident as {same_as}"
                else:
                    first_of[key] = c
            considered.append(_considered(c, number, reason, explanation, same_as))
        incidents = len(first_of)
        met = concerned and incidents >= threshold
        found.append(Behaviour(number, label(group), concerned, incidents, met))
    return Counting(applied_on, threshold, found, considered)


def _judge(c: IndexedComplaint, concerned: bool, applied_on: date, months: int) -> tuple[str, str]:
    if not concerned:
        return "other_behaviour", REASONS["other_behaviour"]
    if c.reported_on > applied_on:
        return "after_application", (
            f"made on {c.reported_on.isoformat()}, after the application was received on "
            f"{applied_on.isoformat()}"
        )
    if not qualifies(c):
        last = period_end(c.occurred_on, QUALIFYING_MONTHS)
        return "late_report", (
            f"made on {c.reported_on.isoformat()}, more than one month after the behaviour on "
            f"{c.occurred_on.isoformat()} (the month ended on {last.isoformat()})"
        )
    if not in_window(c, months, applied_on):
        last = period_end(c.reported_on, months)
        return "outside_six_months", (
            f"made on {c.reported_on.isoformat()}: the application on {applied_on.isoformat()} "
            f"is after the {months} months beginning with that date (ended {last.isoformat()})"
        )
    return "counted", (
        f"made on {c.reported_on.isoformat()}, within one month of the behaviour on "
        f"{c.occurred_on.isoformat()} and within {months} months before the application"
    )


def _considered(
    c: IndexedComplaint, number: int, reason: str, explanation: str, same_as: str | None
) -> Considered:
    return Considered(
        complaint_id=c.complaint_id,
        reference=c.reference,
        receiving_agency_id=c.receiving_agency_id,
        behaviour=number,
        occurred_on=c.occurred_on,
        reported_on=c.reported_on,
        counted=reason == "counted",
        reason=reason,
        explanation=explanation,
        same_incident_as=same_as,
        backdated_reason=c.backdated_reason,
        backdated_by=c.backdated_by,
        as_of=c.intake_changed_at,
    )
