"""Logging complaints: a batch of drafts, each on its complainant's log with a reference at
once, written in one statement (the recorder's batch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.db import utcnow
from casebridge.common.errors import AppError
from casebridge.common.isp import Basis, Viewer, relations_of
from casebridge.common.isp.directory import Directory
from casebridge.intake import (
    backdating,
    batch_write,
    complainants,
    idempotency,
    matching,
    repeat_victims,
    risk_at_call,
    rows,
)
from casebridge.intake.areas import AreaDirectory, ServedArea
from casebridge.intake.errors import UnknownLandlord
from casebridge.intake.idempotency import Claim
from casebridge.intake.logged import LoggedComplaint as LoggedComplaint  # re-exported
from casebridge.intake.logged import detail_rows, logged_event, new_complaint
from casebridge.intake.models import AgencyReference, Incident, Perpetrator, Witness
from casebridge.intake.repeat_victims import Counted
from casebridge.intake.schemas.complaints import ComplaintCreate


@dataclass(frozen=True)
class Draft:
    """A complaint to log, as one caller asked for it. `respond` turns the logged complaint
    into that caller's response (the REST route's JSON, Open311's XML or JSON): it is
    built before the commit so a retry with the Idempotency-Key gets the same bytes."""

    principal: Principal
    data: ComplaintCreate
    # The caller's response, from the complaint and how its log was found as the protocol
    # lets the caller know it (attached, created, chosen, or just "logged").
    respond: Callable[[LoggedComplaint, str | None], Response]
    idempotency: Claim | None = None
    open311_client_id: UUID | None = None


@dataclass
class _Slot:
    """One draft's way through the batch: what each step found out about it, and its
    outcome (its response, or the error it fails alone with) once there is one."""

    draft: Draft
    outcome: Response | AppError | None = None
    area: ServedArea | None = None
    backdated: str | None = None
    viewer: Viewer | None = None
    scored: risk_at_call.Scored | None = None
    since: datetime | None = None  # the repeat-victim window's start
    matched: matching.Matched | None = None
    found: matching.Found | None = None  # the complainant's log (None: no complainant)

    @property
    def pending(self) -> bool:
        return self.outcome is None

    def fail(self, error: AppError) -> None:
        """The draft fails with its first error."""
        if self.outcome is None:
            self.outcome = error


async def log_complaints(
    session: AsyncSession,
    driver: asyncpg.Connection[Any],
    drafts: Sequence[Draft],
    areas: AreaDirectory,
    preflight: Sequence[Viewer | AppError],
) -> list[Response | AppError]:
    """Record complaints on their complainants' logs and give each a reference at once; the
    ComplaintLogged events (and repeat-victim marks, if due) commit with them. The REST
    route and Open311 both come here, through the recorder, which batches the calls of
    the moment into one transaction. A complaint that cannot be logged (an uncertain match,
    a reused idempotency key, an unknown area) fails alone: its place in the answer holds
    the error, and the others are logged. The two statements every complaint needs run on
    `driver`, the session's own connection, in the same transaction; the rarer steps
    (a chosen log, an uncertain match, a retried key) use the session."""
    now = utcnow()
    slots = [_Slot(draft) for draft in drafts]
    for slot, checked in zip(slots, preflight, strict=True):
        await _admit(session, slot, areas, checked, now)
    for slot in _pending(slots):
        _score_risk(slot)
    claimed = await _claim_keys(session, _pending(slots))
    todo = _pending(slots)
    await _match(driver, todo, now)
    await _resolve_complainants(session, todo)
    batch = batch_write.Batch()
    for slot in _pending(todo):
        slot.outcome = _stage_complaint(batch, slot)
    # Only a key this batch claimed, for a request that wrote nothing, is released: a key
    # claimed before (a replay, or a 409 for another request) keeps its first response.
    batch.released = [
        idempotency.released(claim)
        for slot, claim in claimed
        if not isinstance(slot.outcome, Response)
    ]
    await batch_write.write(driver, batch)
    return [_answer(slot) for slot in slots]


def _pending(slots: Sequence[_Slot]) -> list[_Slot]:
    return [slot for slot in slots if slot.pending]


def _answer(slot: _Slot) -> Response | AppError:
    assert slot.outcome is not None, "every draft is answered"
    return slot.outcome


async def _admit(
    session: AsyncSession,
    slot: _Slot,
    areas: AreaDirectory,
    checked: Viewer | AppError,
    now: datetime,
) -> None:
    """The caller's area serves it, the agencies it names are the area's, a back-dated
    report is within the area's limit, and what the caller may know (or why not)."""
    draft = slot.draft
    try:
        slot.area = await areas.get(session, draft.principal.area_id)
        slot.area.refuse_unknown_agencies(draft.data.agency_references)
        slot.backdated = backdating.check(draft.data, slot.area.config.backdating, now)
    except AppError as error:
        slot.fail(error)
    if isinstance(checked, AppError):
        slot.fail(checked)
    else:
        slot.viewer = checked


def _score_risk(slot: _Slot) -> None:
    """Risk answers given at the call, scored by the area's matrix; wrong answers are the
    draft's 422 (before any key is claimed or row written)."""
    assert slot.area is not None
    if slot.draft.data.risk_answers is None:
        return
    try:
        slot.scored = risk_at_call.score(slot.draft.data, slot.area)
    except AppError as error:
        slot.fail(error)


async def _match(driver: asyncpg.Connection[Any], slots: list[_Slot], now: datetime) -> None:
    """Every draft's reference number and its complainant's candidates, in one statement."""
    for slot in slots:
        assert slot.area is not None
        slot.since = repeat_victims.window_start(slot.area.config.repeat_victim, now)
    probes = [
        matching.probe(n, slot.draft.principal.area_id, slot.draft.data.complainant, slot.since)
        for n, slot in enumerate(slots)
    ]
    matched = await matching.match_many(driver, probes)
    for n, slot in enumerate(slots):
        slot.matched = matched[n]


def _stage_complaint(batch: batch_write.Batch, slot: _Slot) -> Response:
    """The draft's complaint, its rows and events in the batch; the caller's response."""
    draft, area, who = slot.draft, slot.area, slot.found
    assert area is not None
    assert slot.matched is not None
    assert slot.since is not None
    assert slot.viewer is not None
    complaint = new_complaint(
        draft.principal,
        draft.data,
        area=area,
        sequence=slot.matched.sequence,
        found=who,
        backdated=slot.backdated,
        open311_client_id=draft.open311_client_id,
    )
    _stage(batch, complaint, area, who)
    if slot.scored is not None:
        complaint = risk_at_call.stage(batch, complaint, area, draft.principal, slot.scored, who)
    _count_towards_repeat_victim(batch, complaint, area, who, slot.since)
    response = draft.respond(complaint, _disclosed_match(slot.viewer, complaint, who))
    if draft.idempotency is not None:
        batch.responses.append(idempotency.stored(draft.idempotency, response))
    return response


async def preflight(
    session: AsyncSession, drafts: Sequence[Draft], partners: Directory
) -> list[Viewer | AppError]:
    """What each draft's caller may know (its Viewer), or why the draft cannot be logged: a
    perpetrator's landlord that is not a registered agency of the caller's area (the
    protocol keeps the complainant's identity from the landlord: it must be the real one).
    Done before the batch's transaction, on a session of its own: the directory reads the
    registry at most once a `protocol_cache_seconds`, never inside the write."""
    checked: list[Viewer | AppError] = []
    for draft in drafts:
        viewer = await partners.viewer(session, draft.principal)
        checked.append(await _landlords_checked(session, draft, viewer, partners))
    return checked


async def _landlords_checked(
    session: AsyncSession, draft: Draft, viewer: Viewer, partners: Directory
) -> Viewer | AppError:
    area = draft.principal.area_id
    for n, perpetrator in enumerate(draft.data.perpetrators):
        landlord = perpetrator.landlord_agency_id
        if landlord is not None and not (await partners.recipient(session, landlord, area)).active:
            return UnknownLandlord(
                [
                    {
                        "field": f"body.perpetrators.{n}.landlord_agency_id",
                        "reason": "not a registered agency of your area",
                    }
                ]
            )
    return viewer


async def _claim_keys(session: AsyncSession, slots: list[_Slot]) -> list[tuple[_Slot, Claim]]:
    """Claim the Idempotency-Keys of the drafts still to log; the answer holds the claims
    made now. A key claimed before gets its first response again (or a 409 for another
    request) as its draft's outcome, and is not among them."""
    claims = [(slot, slot.draft.idempotency) for slot in slots if slot.draft.idempotency]
    claimed = await idempotency.claim_many(session, [claim for _, claim in claims])
    ours = []
    for slot, claim in claims:
        if (claim.caller, claim.key) in claimed:
            ours.append((slot, claim))
            continue
        try:
            slot.outcome = await idempotency.replay(session, claim)
        except AppError as error:  # the key came with another request
            slot.fail(error)
    return ours


async def _resolve_complainants(session: AsyncSession, slots: list[_Slot]) -> None:
    """Each complainant's log; a complainant who cannot be resolved (an uncertain match, a
    log the caller may not see) is that draft's error."""
    created: list[matching.Found] = []
    for slot in slots:
        complainant = slot.draft.data.complainant
        if complainant is None:
            continue
        assert slot.viewer is not None
        assert slot.matched is not None
        try:
            resolved = await complainants.resolve_complainant(
                session,
                viewer=slot.viewer,
                complainant=complainant,
                candidates=slot.matched.candidates,
            )
        except AppError as error:
            slot.fail(error)
            continue
        if complainant.details is not None:
            resolved = complainants.one_log_per_newcomer(resolved, complainant.details, created)
        slot.found = resolved


def _stage(
    batch: batch_write.Batch,
    complaint: LoggedComplaint,
    area: ServedArea,
    found: matching.Found | None,
) -> None:
    """Add a complaint's rows (and its log's, if new) to the batch; the log's word on
    sharing follows the complaint's consent if it is the latest."""
    if found is not None and found.new_row is not None:
        batch.person.append(found.new_row)
    if found is not None and _later_word(complaint, found.consent_at):
        word = {
            "consent_status": complaint.consent_status,
            "consent_recorded_at": complaint.consent_recorded_at,
        }
        new = next((row for row in batch.person if row["id"] == found.id), None)
        if new is not None:  # a log this batch creates: its row is not written yet
            assert isinstance(new, dict)
            new.update(word)
        else:
            batch.consented.append({"id": found.id, **word})
    batch.incident.append(
        rows.row_of(
            Incident, id=complaint.incident_id, area_id=area.id, created_at=complaint.created_at
        )
    )
    batch.complaint.append(complaint.row())
    batch.reference += detail_rows(AgencyReference, complaint.id, complaint.agency_references)
    batch.perpetrator += detail_rows(Perpetrator, complaint.id, complaint.perpetrators)
    batch.witness += detail_rows(Witness, complaint.id, complaint.witnesses)
    event = logged_event(complaint, found.kind if found else None)
    batch.outbox.append(batch_write.outbox_row(event, area_id=area.id, aggregate_id=complaint.id))


def _later_word(complaint: LoggedComplaint, log_consent_at: datetime | None) -> bool:
    if complaint.consent_status == "not_asked" or complaint.consent_recorded_at is None:
        return False
    return log_consent_at is None or complaint.consent_recorded_at >= log_consent_at


def _disclosed_match(
    viewer: Viewer, complaint: LoggedComplaint, found: matching.Found | None
) -> str | None:
    """How the log was found, as far as the protocol lets the caller know whether the
    complainant was already known: matching keeps one log, it tells nobody anything."""
    if found is None:
        return None
    consent = found.consent
    if _later_word(complaint, found.consent_at):
        consent = complaint.consent_status
    relations = relations_of(viewer.recipient, recorder=True)
    decision = viewer.decide("person", relations, Basis(consent, frozenset(found.overrides)))
    return found.how if decision.shows("known") else "logged"


def _count_towards_repeat_victim(
    batch: batch_write.Batch,
    complaint: LoggedComplaint,
    area: ServedArea,
    found: matching.Found | None,
    since: datetime,
) -> None:
    """Apply the area's repeat-victim rule to a kept log not marked yet: this complaint is
    an incident of its own, counted after the log's recent ones (as matching read them)
    and the batch's complaints before it. The mark and its event go with the batch."""
    if found is None or found.new_row is not None or found.repeat_victim:
        return
    if found.id in batch.marked_people:
        return
    this = Counted(complaint.id, complaint.incident_id, complaint.reported_at)
    recent = batch.recent[found.id] = (*batch.recent.get(found.id, found.recent), this)
    rule = area.config.repeat_victim
    counted = repeat_victims.tally(rule, since, recent)
    if not counted.due:
        return
    now = utcnow()
    batch.marked.append({"id": found.id, "repeat_victim_at": now})
    event = repeat_victims.marked_event(found.id, counted, rule, now)
    batch.outbox.append(batch_write.outbox_row(event, area_id=area.id, aggregate_id=found.id))
