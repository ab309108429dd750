"""The threshold rules as pure functions over complaints (no I/O).

The caller reads the complaints with one indexed range query; these functions decide. What
"the same behaviour" means is decided here, once, for the automatic trigger and for an
application alike (`behaviours`); what "qualifying" means is s104(11) through periods.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar
from uuid import UUID

from casebridge.common.periods import QUALIFYING_MONTHS, within
from casebridge.review.config import AreaRules


class Indexed(Protocol):
    """What the rules read of an indexed complaint (a row, or a row-like test double)."""

    @property
    def complaint_id(self) -> UUID: ...
    @property
    def person_id(self) -> UUID | None: ...
    @property
    def incident_id(self) -> UUID | None: ...
    @property
    def asb_type(self) -> str: ...
    @property
    def place_key(self) -> str | None: ...
    @property
    def perpetrator_keys(self) -> list[str]: ...
    @property
    def hate_motivated(self) -> bool: ...
    @property
    def occurred_on(self) -> date: ...
    @property
    def reported_on(self) -> date: ...


C = TypeVar("C", bound=Indexed)


def qualifies(complaint: Indexed) -> bool:
    """s104(11)(a): made within the period of one month beginning with the behaviour's date."""
    return within(complaint.occurred_on, QUALIFYING_MONTHS, complaint.reported_on)


def in_window(complaint: Indexed, months: int, day: date) -> bool:
    """s104(11)(b): an application made on `day` is within the period of `months` months
    beginning with the date the complaint was made (and the complaint came first)."""
    return within(complaint.reported_on, months, day)


@dataclass(frozen=True)
class Finding:
    """A rule met: which complaints met it, counted how."""

    kind: str
    subject_key: str
    person_id: UUID | None
    complaint_ids: tuple[UUID, ...]
    incidents: int
    complainants: int
    rule: str


def incident_key(complaint: Indexed, rules: AreaRules) -> UUID:
    """The same incident reported to police and council counts once."""
    if rules.same_behaviour.same_incident_counts_once and complaint.incident_id is not None:
        return complaint.incident_id
    return complaint.complaint_id


def incidents(complaints: Iterable[Indexed], rules: AreaRules) -> int:
    return len({incident_key(c, rules) for c in complaints})


def same_behaviour(a: Indexed, b: Indexed, rules: AreaRules) -> bool:
    """Two complaints are directly about the same behaviour: one incident, or the same type
    of behaviour at the same place, or the same alleged perpetrator (each per the area)."""
    same = rules.same_behaviour
    if same.same_incident_counts_once and a.incident_id and a.incident_id == b.incident_id:
        return True
    if (
        same.same_type_and_place
        and a.place_key
        and (a.asb_type, a.place_key) == (b.asb_type, b.place_key)
    ):
        return True
    return bool(same.same_perpetrator and set(a.perpetrator_keys) & set(b.perpetrator_keys))


def behaviour_of(anchor: C, complaints: Sequence[C], rules: AreaRules) -> list[C]:
    """The complaints about the same behaviour as `anchor` (transitively: A~B and B~C)."""
    group = [anchor]
    others = [c for c in complaints if c.complaint_id != anchor.complaint_id]
    frontier = [anchor]
    while frontier:
        current = frontier.pop()
        joined = [c for c in others if same_behaviour(current, c, rules)]
        others = [c for c in others if c not in joined]
        group.extend(joined)
        frontier.extend(joined)
    return group


def behaviours(complaints: Sequence[C], rules: AreaRules) -> list[list[C]]:
    """The complaints partitioned into behaviours (the groups `behaviour_of` makes), each
    oldest report first, the groups in the order of their first report."""
    ordered = sorted(complaints, key=lambda c: (c.reported_on, str(c.complaint_id)))
    groups: list[list[C]] = []
    left = ordered
    while left:
        group = behaviour_of(left[0], left, rules)
        ids = {c.complaint_id for c in group}
        groups.append([c for c in left if c.complaint_id in ids])
        left = [c for c in left if c.complaint_id not in ids]
    return groups


def victim_findings(anchor: Indexed, recent: Sequence[Indexed], rules: AreaRules) -> list[Finding]:
    """Second report, statutory and hate rules for the victim of `anchor`'s complaint.

    `recent` is the victim's complaints up to `anchor` (anchor included) as read from the
    index; only those an application made on the anchor's date could rely on are counted.
    """
    person = anchor.person_id
    if person is None:
        return []
    months = rules.statutory.window_months
    recent = [c for c in recent if in_window(c, months, anchor.reported_on)]
    subject = str(person)
    found: list[Finding] = []

    def finding(kind: str, complaints: Sequence[Indexed], rule: str) -> Finding:
        return Finding(
            kind=kind,
            subject_key=subject,
            person_id=person,
            complaint_ids=tuple(c.complaint_id for c in complaints),
            incidents=incidents(complaints, rules),
            complainants=1,
            rule=rule,
        )

    if rules.second_report_prompt and incidents(recent, rules) >= 2:
        found.append(finding("second_report", recent, "a second report of ASB in six months"))
    counted = [c for c in behaviour_of(anchor, recent, rules) if qualifies(c)]
    threshold = rules.statutory.threshold
    if incidents(counted, rules) >= threshold:
        rule = f"{threshold} qualifying complaints about the same behaviour in six months"
        found.append(finding("statutory", counted, rule))
    hate = rules.local_thresholds.hate
    if hate is not None and anchor.hate_motivated:
        hateful = [c for c in recent if c.hate_motivated and qualifies(c)]
        if incidents(hateful, rules) >= hate.incidents:
            found.append(finding("hate", hateful, f"{hate.incidents} hate-motivated incident(s)"))
    return found


def community_finding(
    anchor: Indexed, problem: Sequence[Indexed], rules: AreaRules
) -> Finding | None:
    """N complaints from at least K different complainants about one problem in one place."""
    community = rules.local_thresholds.community
    if community is None or anchor.place_key is None:
        return None
    problem = [c for c in problem if in_window(c, community.window_months, anchor.reported_on)]
    # One complainant's report of one incident to two agencies is one complaint.
    complaints = {(c.person_id or c.complaint_id, incident_key(c, rules)) for c in problem}
    complainants = {c.person_id for c in problem if c.person_id is not None}
    if len(complaints) < community.complaints or len(complainants) < community.complainants:
        return None
    return Finding(
        kind="community",
        subject_key=f"{anchor.asb_type}@{anchor.place_key}",
        person_id=None,
        complaint_ids=tuple(c.complaint_id for c in problem),
        incidents=incidents(problem, rules),
        complainants=len(complainants),
        rule=(
            f"{community.complaints} complaints from {community.complainants} complainants "
            f"about one problem in {community.window_months} months"
        ),
    )
