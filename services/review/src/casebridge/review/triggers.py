"""Triggers: evaluated incrementally when a complaint arrives, raised once per episode."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import TriggerExplained, TriggerRaised
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.common.pagination import Cursor, page_after
from casebridge.review.config import AreaRules
from casebridge.review.index import EarlierTrigger, Windows
from casebridge.review.models import Trigger
from casebridge.review.rules import Finding, community_finding, victim_findings
from casebridge.review.visibility import (
    Seen,
    principal_of,
    roles_of,
    seen_triggers,
    visible_triggers,
)

KINDS = ("second_report", "statutory", "community", "hate", "high_risk")
STATES = ("open", "explained", "review_started")
THRESHOLD_KINDS = frozenset({"statutory", "community", "hate"})


class NotExplainable(Conflict):
    code = "trigger_not_explainable"


async def evaluate(session: AsyncSession, windows: Windows, rules: AreaRules) -> list[Trigger]:
    """Every rule the anchor complaint may complete; returns the triggers newly raised.

    Reads nothing more: the windows and the earlier triggers came with the index statement,
    so only a trigger actually raised costs a write."""
    anchor = windows.anchor
    findings: list[Finding] = []
    if windows.person:
        findings.extend(victim_findings(anchor, windows.person, rules))
    if windows.problem:
        found = community_finding(anchor, windows.problem, rules)
        if found is not None:
            findings.append(found)
    raised = []
    for finding in findings:
        if _same_episode(finding, windows.earlier):
            continue
        trigger = await _raise(session, finding, area_id=windows.area_id)
        if trigger is not None:
            raised.append(trigger)
    return raised


def _same_episode(finding: Finding, earlier: list[EarlierTrigger]) -> bool:
    """An earlier trigger of the kind for the same subject sharing a complaint is this one."""
    ids = set(finding.complaint_ids)
    return any(
        t.kind == finding.kind and t.subject_key == finding.subject_key and t.complaint_ids & ids
        for t in earlier
    )


async def raise_once(
    session: AsyncSession, finding: Finding, *, area_id: UUID, now: datetime | None = None
) -> Trigger | None:
    """Raise unless this episode already has its trigger: an earlier trigger of the kind for
    the same subject that shares a complaint is the same episode (and the unique episode key
    stops a concurrent or redelivered second insert)."""
    same_episode = await session.scalar(
        select(Trigger.id)
        .where(
            Trigger.area_id == area_id,
            Trigger.kind == finding.kind,
            Trigger.subject_key == finding.subject_key,
            Trigger.complaint_ids.overlap(list(finding.complaint_ids)),
        )
        .limit(1)
    )
    if same_episode is not None:
        return None
    return await _raise(session, finding, area_id=area_id, now=now)


async def _raise(
    session: AsyncSession, finding: Finding, *, area_id: UUID, now: datetime | None = None
) -> Trigger | None:
    ids = list(finding.complaint_ids)
    raised_at = now or utcnow()
    trigger = await session.scalar(
        insert(Trigger)
        .values(
            area_id=area_id,
            kind=finding.kind,
            person_id=finding.person_id,
            subject_key=finding.subject_key,
            episode_key=f"{finding.subject_key}/{min(ids)}",
            state="open",
            complaint_ids=ids,
            detail=_detail(finding),
            raised_at=raised_at,
        )
        .on_conflict_do_nothing(constraint="uq_trigger_area_id_kind_episode_key")
        .returning(Trigger)
    )
    if trigger is not None:
        outbox.add(session, _raised_event(trigger), area_id=area_id, aggregate_id=trigger.id)
    return trigger


def _detail(finding: Finding) -> dict[str, Any]:
    return {
        "incidents": finding.incidents,
        "complainants": finding.complainants,
        "rule": finding.rule,
    }


def _raised_event(trigger: Trigger) -> TriggerRaised:
    return TriggerRaised(
        trigger_id=trigger.id,
        kind=trigger.kind,
        person_id=trigger.person_id,
        complaint_ids=trigger.complaint_ids,
        incidents=int(trigger.detail["incidents"]),
        complainants=int(trigger.detail["complainants"]),
        rule=str(trigger.detail["rule"]),
        raised_at=trigger.raised_at,
        review_id=trigger.review_id,
    )


async def get_trigger(
    session: AsyncSession, *, viewer: Viewer, trigger_id: UUID, lock: bool = False
) -> Trigger:
    roles = await roles_of(session, viewer)
    query = visible_triggers(viewer, roles).where(Trigger.id == trigger_id)
    trigger = await session.scalar(query.with_for_update() if lock else query)
    if trigger is None:
        raise NotFound("trigger not found")
    return trigger


async def read_trigger(session: AsyncSession, *, viewer: Viewer, trigger_id: UUID) -> Seen[Trigger]:
    trigger = await get_trigger(session, viewer=viewer, trigger_id=trigger_id)
    (seen,) = await seen_triggers(session, viewer, [trigger], await roles_of(session, viewer))
    return seen


async def list_triggers(
    session: AsyncSession,
    *,
    viewer: Viewer,
    person_id: UUID | None,
    kind: str | None,
    state: str | None,
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[Seen[Trigger]], Cursor | None]:
    """Newest first; the SPOC's work list. A filter on the victim matches only triggers
    whose victim the caller may see."""
    roles = await roles_of(session, viewer)
    query = visible_triggers(viewer, roles)
    if person_id is not None:
        query = query.where(Trigger.person_id == person_id)
    if kind is not None:
        query = query.where(Trigger.kind == kind)
    if state is not None:
        query = query.where(Trigger.state == state)
    rows, after = await page_after(session, query, Trigger.raised_at, Trigger.id, cursor, limit)
    seen = await seen_triggers(session, viewer, rows, roles)
    if person_id is not None:
        seen = [s for s in seen if s.decision.shows("person_id")]
    return seen, after


async def record_explained(
    session: AsyncSession, *, viewer: Viewer, trigger_id: UUID, note: str | None
) -> Trigger:
    """The 2025 guidance: the case review was explained to a victim reporting a second time."""
    principal = principal_of(viewer)
    trigger = await get_trigger(session, viewer=viewer, trigger_id=trigger_id, lock=True)
    if trigger.kind != "second_report":
        raise NotExplainable("only a second-report trigger is closed by an explanation")
    if trigger.explained_at is not None:
        raise NotExplainable(f"already recorded as explained at {trigger.explained_at}")
    trigger.explained_at = utcnow()
    trigger.explained_by = principal.subject
    trigger.explained_by_agency_id = principal.agency_id
    trigger.explanation = note
    if trigger.state == "open":
        trigger.state = "explained"
    await session.flush()
    event = TriggerExplained(
        trigger_id=trigger.id,
        person_id=trigger.person_id,
        agency_id=principal.agency_id,
        explained_at=trigger.explained_at,
    )
    outbox.add(session, event, area_id=trigger.area_id, aggregate_id=trigger.id)
    return trigger
