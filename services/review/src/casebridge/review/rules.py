"""The threshold rules as pure functions over a person's recent complaints (no I/O).

The caller reads the complaints with one indexed range query; these functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

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
    def qualifies(self) -> bool: ...


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


def _same_behaviour(a: Indexed, b: Indexed, rules: AreaRules) -> bool:
    same = rules.same_behaviour
    if same.same_incident_counts_once and a.incident_id and a.incident_id == b.incident_id:
        return True
    if (
        same.same_type_and_place
        and a.place_key
        and (a.asb_type, a.place_key)
        == (
            b.asb_type,
            b.place_key,
        )
    ):
        return True
    return bool(same.same_perpetrator and set(a.perpetrator_keys) & set(b.perpetrator_keys))


def behaviour_of(anchor: Indexed, complaints: Sequence[Indexed], rules: AreaRules) -> list[Indexed]:
    """The complaints about the same behaviour as `anchor` (transitively: A~B and B~C)."""
    group = [anchor]
    others = [c for c in complaints if c.complaint_id != anchor.complaint_id]
    frontier = [anchor]
    while frontier:
        current = frontier.pop()
        joined = [c for c in others if _same_behaviour(current, c, rules)]
        others = [c for c in others if c not in joined]
        group.extend(joined)
        frontier.extend(joined)
    return group


def victim_findings(anchor: Indexed, recent: Sequence[Indexed], rules: AreaRules) -> list[Finding]:
    """Second report, statutory and hate rules for the victim of `anchor`'s complaint.

    `recent` is the victim's complaints in the window ending at `anchor` (anchor included).
    """
    person = anchor.person_id
    if person is None:
        return []
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
    counted = [c for c in behaviour_of(anchor, recent, rules) if c.qualifies]
    threshold = rules.statutory.threshold
    if incidents(counted, rules) >= threshold:
        rule = f"{threshold} qualifying complaints about the same behaviour in six months"
        found.append(finding("statutory", counted, rule))
    hate = rules.local_thresholds.hate
    if hate is not None and anchor.hate_motivated:
        hateful = [c for c in recent if c.hate_motivated and c.qualifies]
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
