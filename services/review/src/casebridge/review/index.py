"""The qualifying-complaint index: built from intake's events, read by the trigger rules.

Evaluating the triggers for a new complaint is ONE statement (one round trip): it reads the
area's procedure in force, inserts the index row, and returns the victim's window, the
problem's window and the earlier triggers those windows touch. Each window is one range scan
of an index made for it (ix_indexed_complaint_person_reported, ix_indexed_complaint_problem);
no history is scanned. The rules themselves stay in Python (rules.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.periods import add_months, local_date
from casebridge.review.models import IndexedComplaint

# Read ranges by timestamp a little wider than the periods, which count calendar dates.
MARGIN = timedelta(days=3)
# Trigger kinds decided from the windows (high_risk comes from intake's assessment instead).
WINDOW_KINDS = ["second_report", "statutory", "community", "hate"]


def place_key(postcode: str | None) -> str | None:
    """Postcodes compare without spaces or case ("sw1a 1aa" is "SW1A1AA")."""
    if not postcode:
        return None
    key = "".join(postcode.split()).upper()
    return key[:10] or None


@dataclass(frozen=True)
class EarlierTrigger:
    kind: str
    subject_key: str
    complaint_ids: frozenset[UUID]


@dataclass(frozen=True)
class Windows:
    """One anchor complaint and everything the rules read around it.

    `person` and `problem` end at the anchor and include it (`problem` is empty when the area
    has no community threshold or the anchor has no place); `earlier` holds the triggers of the
    anchor's subjects that share a complaint with either window.
    """

    config_id: UUID | None
    area_id: UUID
    anchor: Row[Any]
    later: bool
    person: list[Row[Any]]
    problem: list[Row[Any]]
    earlier: list[EarlierTrigger]


# One statement, written out whole. `:insert` chooses the anchor: the new complaint, inserted
# once (ON CONFLICT: a re-emitted event yields no anchor, so nothing is evaluated twice), or
# an indexed complaint read back for re-evaluation. The windows cannot see the row inserted by
# the same statement, so each adds the anchor itself. The ranges are read by timestamp with a
# margin of a few days (so an index range serves them); the rules then keep exactly the
# complaints the statutory periods hold, by calendar date (rules.in_window, periods.py).
# `later` says whether a complaint of the anchor's victim or problem was made after it: the
# anchor arrived out of order (or was back-dated), and the later windows must be evaluated
# again with it.
WINDOWS = text(
    """
WITH cfg AS (
    SELECT id, rules FROM area_config
    WHERE area_id = :area_id ORDER BY version DESC LIMIT 1
), w AS (
    SELECT
        coalesce((SELECT (rules #>> '{statutory,window_months}')::int FROM cfg), 6)
            AS person_months,
        (SELECT (rules #>> '{local_thresholds,community,window_months}')::int FROM cfg)
            AS problem_months
), inserted AS (
    INSERT INTO indexed_complaint (complaint_id, reference, area_id, receiving_agency_id,
        person_id, incident_id, nsir_category, asb_type, place_key, perpetrator_keys,
        hate_motivated, anonymous, occurred_at, reported_at, occurred_on, reported_on,
        recorded_at, backdated_reason, backdated_by, intake_changed_at, intake_event_id,
        consent_status, consent_recorded_at, override_purposes, perpetrator_landlord_ids)
    SELECT :complaint_id, :reference, :area_id, :receiving_agency_id, :person_id, :incident_id,
        :nsir_category, :asb_type, :place_key, CAST(:perpetrator_keys AS varchar(120)[]),
        :hate_motivated, :anonymous, :occurred_at, :reported_at, :occurred_on, :reported_on,
        :recorded_at, :backdated_reason, :backdated_by, :intake_changed_at, :intake_event_id,
        :consent_status, :consent_recorded_at, CAST(:override_purposes AS varchar(40)[]),
        CAST(:perpetrator_landlord_ids AS uuid[])
    WHERE :insert
    ON CONFLICT (complaint_id) DO NOTHING
    RETURNING complaint_id, area_id, person_id, incident_id, asb_type, place_key,
        perpetrator_keys, hate_motivated, occurred_on, reported_on, reported_at
), a AS (
    SELECT * FROM inserted
    UNION ALL
    SELECT complaint_id, area_id, person_id, incident_id, asb_type, place_key,
        perpetrator_keys, hate_motivated, occurred_on, reported_on, reported_at
    FROM indexed_complaint WHERE NOT :insert AND complaint_id = :complaint_id
), person AS (
    SELECT c.complaint_id, c.area_id, c.person_id, c.incident_id, c.asb_type, c.place_key,
        c.perpetrator_keys, c.hate_motivated, c.occurred_on, c.reported_on, c.reported_at
    FROM a CROSS JOIN w JOIN indexed_complaint c
      ON c.person_id = a.person_id
     AND c.reported_at >= ((a.reported_at AT TIME ZONE 'UTC')
           - make_interval(months => w.person_months, days => 3)) AT TIME ZONE 'UTC'
     AND c.reported_at <= a.reported_at
     AND c.area_id = a.area_id
     AND c.complaint_id <> a.complaint_id
), problem AS (
    SELECT c.complaint_id, c.area_id, c.person_id, c.incident_id, c.asb_type, c.place_key,
        c.perpetrator_keys, c.hate_motivated, c.occurred_on, c.reported_on, c.reported_at
    FROM a CROSS JOIN w JOIN indexed_complaint c
      ON w.problem_months IS NOT NULL
     AND c.area_id = a.area_id AND c.asb_type = a.asb_type AND c.place_key = a.place_key
     AND c.reported_at >= ((a.reported_at AT TIME ZONE 'UTC')
           - make_interval(months => w.problem_months, days => 3)) AT TIME ZONE 'UTC'
     AND c.reported_at <= a.reported_at
     AND c.complaint_id <> a.complaint_id
), window_ids AS (
    SELECT array_agg(complaint_id) AS ids FROM (
        SELECT complaint_id FROM a UNION ALL SELECT complaint_id FROM person
        UNION ALL SELECT complaint_id FROM problem) ids
)
SELECT 'anchor' AS part, (SELECT id FROM cfg) AS config_id,
       (SELECT problem_months IS NOT NULL FROM w) AS community,
       (EXISTS (SELECT 1 FROM indexed_complaint c WHERE c.person_id = a.person_id
                AND c.reported_at > a.reported_at AND c.area_id = a.area_id)
        OR (SELECT problem_months IS NOT NULL FROM w)
           AND EXISTS (SELECT 1 FROM indexed_complaint c WHERE c.area_id = a.area_id
                AND c.asb_type = a.asb_type AND c.place_key = a.place_key
                AND c.reported_at > a.reported_at)) AS later,
       a.*,
       NULL::text AS kind, NULL::text AS subject_key, NULL::uuid[] AS trigger_complaint_ids
FROM a
UNION ALL
SELECT 'person', NULL, NULL, NULL, person.*, NULL, NULL, NULL FROM person
UNION ALL
SELECT 'problem', NULL, NULL, NULL, problem.*, NULL, NULL, NULL FROM problem
-- The earlier triggers: one lookup per subject of the anchor (the victim, the problem), each
-- key a value computed once (an InitPlan), so each is an equality on ix_trigger_area_subject
-- (area_id, subject_key, kind) whatever the statistics say: the area's other triggers,
-- however many, are never read.
UNION ALL
SELECT 'trigger', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, t.kind, t.subject_key, t.complaint_ids
FROM trigger t
WHERE t.area_id = (SELECT area_id FROM a)
  AND t.subject_key = (SELECT person_id::text FROM a)
  AND t.kind = ANY(CAST(:kinds AS varchar[]))
  AND t.complaint_ids && (SELECT ids FROM window_ids)
UNION ALL
SELECT 'trigger', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, t.kind, t.subject_key, t.complaint_ids
FROM trigger t
WHERE t.area_id = (SELECT area_id FROM a)
  AND t.subject_key = (SELECT asb_type || '@' || place_key FROM a)
  AND t.kind = ANY(CAST(:kinds AS varchar[]))
  AND t.complaint_ids && (SELECT ids FROM window_ids)
"""
)
_NOT_INSERTED = {
    "reference": None,
    "receiving_agency_id": None,
    "person_id": None,
    "incident_id": None,
    "nsir_category": None,
    "asb_type": None,
    "place_key": None,
    "perpetrator_keys": None,
    "hate_motivated": None,
    "anonymous": None,
    "occurred_at": None,
    "reported_at": None,
    "occurred_on": None,
    "reported_on": None,
    "recorded_at": None,
    "backdated_reason": None,
    "backdated_by": None,
    "intake_changed_at": None,
    "intake_event_id": None,
    "consent_status": None,
    "consent_recorded_at": None,
    "override_purposes": None,
    "perpetrator_landlord_ids": None,
}


def _windows(rows: Sequence[Row[Any]]) -> Windows | None:
    anchor = next((r for r in rows if r.part == "anchor"), None)
    if anchor is None:
        return None
    person = [r for r in rows if r.part == "person"]
    problem = [r for r in rows if r.part == "problem"]
    return Windows(
        config_id=anchor.config_id,
        area_id=anchor.area_id,
        anchor=anchor,
        later=bool(anchor.later),
        person=[anchor, *person] if anchor.person_id is not None else [],
        problem=[anchor, *problem] if anchor.community and anchor.place_key else [],
        earlier=[
            EarlierTrigger(r.kind, r.subject_key, frozenset(r.trigger_complaint_ids))
            for r in rows
            if r.part == "trigger"
        ],
    )


def window_params(event: ComplaintLogged, *, event_id: UUID | None = None) -> dict[str, Any]:
    """The parameters of WINDOWS that index `event` and read its windows."""
    recorded_at = event.recorded_at
    return {
        "insert": True,
        "complaint_id": event.complaint_id,
        "reference": event.reference,
        "area_id": event.area_id,
        "receiving_agency_id": event.receiving_agency_id,
        "person_id": event.person_id,
        "incident_id": event.incident_id,
        "nsir_category": event.nsir_category,
        "asb_type": event.asb_type,
        "place_key": place_key(event.postcode),
        "perpetrator_keys": sorted({k for k in event.perpetrator_keys if k})[:50],
        "hate_motivated": event.hate_motivated,
        "anonymous": event.anonymous,
        "occurred_at": event.occurred_at,
        "reported_at": event.reported_at,
        "occurred_on": local_date(event.occurred_at),
        "reported_on": local_date(event.reported_at),
        "recorded_at": recorded_at,
        "backdated_reason": event.backdated_reason,
        "backdated_by": event.backdated_by,
        "intake_changed_at": recorded_at or event.reported_at,
        "intake_event_id": event_id,
        "consent_status": event.consent_to_share,
        "consent_recorded_at": event.consent_recorded_at,
        "override_purposes": list(event.override_purposes),
        "perpetrator_landlord_ids": list(event.perpetrator_landlord_ids),
        "kinds": WINDOW_KINDS,
    }


async def index_complaint(
    session: AsyncSession, event: ComplaintLogged, *, event_id: UUID | None = None
) -> Windows | None:
    """Record the complaint once and read its windows, in one round trip.

    Returns None when the complaint was already indexed (a re-emitted event): it was evaluated
    when it first arrived."""
    result = await session.execute(WINDOWS, window_params(event, event_id=event_id))
    return _windows(result.all())


async def read_windows(
    session: AsyncSession, *, area_id: UUID, complaint_id: UUID
) -> Windows | None:
    """The windows ending at a complaint already indexed (re-evaluation after a change)."""
    params = {"insert": False, "area_id": area_id, "complaint_id": complaint_id}
    result = await session.execute(WINDOWS, {**_NOT_INSERTED, **params, "kinds": WINDOW_KINDS})
    return _windows(result.all())


async def complaints_after(
    session: AsyncSession, *, complaint_ids: Sequence[UUID], months: int
) -> list[tuple[UUID, UUID]]:
    """(area, complaint), oldest first, for every complaint whose windows may contain one of
    `complaint_ids`: each of them, and the same victim's or the same problem's complaints
    up to `months` after it."""
    changed = (
        await session.execute(
            select(
                IndexedComplaint.complaint_id,
                IndexedComplaint.area_id,
                IndexedComplaint.person_id,
                IndexedComplaint.asb_type,
                IndexedComplaint.place_key,
                IndexedComplaint.reported_at,
            ).where(IndexedComplaint.complaint_id.in_(complaint_ids))
        )
    ).all()
    found = {(c.reported_at, c.complaint_id): c.area_id for c in changed}
    for c in changed:
        later = select(
            IndexedComplaint.reported_at, IndexedComplaint.complaint_id, IndexedComplaint.area_id
        ).where(
            IndexedComplaint.area_id == c.area_id,
            IndexedComplaint.reported_at >= c.reported_at,
            IndexedComplaint.reported_at <= add_months(c.reported_at, months) + MARGIN,
        )
        queries = []
        if c.person_id is not None:
            queries.append(later.where(IndexedComplaint.person_id == c.person_id))
        if c.place_key is not None:
            same_problem = (IndexedComplaint.asb_type == c.asb_type) & (
                IndexedComplaint.place_key == c.place_key
            )
            queries.append(later.where(same_problem))
        for query in queries:
            for row in await session.execute(query):
                found[(row.reported_at, row.complaint_id)] = row.area_id
    return [(found[key], key[1]) for key in sorted(found)]
