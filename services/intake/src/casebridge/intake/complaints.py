"""Complaints: logging with a reference at once, reads, lookups by any reference, changes."""

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
from casebridge.common.contracts.intake import AgencyReference as AgencyReferenceData
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import AppError
from casebridge.common.isp import Basis, Viewer, relations_of
from casebridge.common.isp.directory import Directory
from casebridge.intake import (
    backdating,
    idempotency,
    matching,
    normalise,
    people,
    recording,
    repeat_victims,
    risk_at_call,
    rows,
)
from casebridge.intake.areas import AreaDirectory, ServedArea
from casebridge.intake.errors import UnknownLandlord
from casebridge.intake.idempotency import Claim
from casebridge.intake.logged import LoggedComplaint as LoggedComplaint  # re-exported
from casebridge.intake.logged import (
    LoggedPerpetrator,
    LoggedReference,
    LoggedWitness,
    detail_rows,
)
from casebridge.intake.models import AgencyReference, Incident, Perpetrator, Witness
from casebridge.intake.references import make_reference
from casebridge.intake.repeat_victims import Counted
from casebridge.intake.schemas.complaints import ComplaintCreate, PerpetratorIn


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
    outcomes: list[Response | AppError | None] = [None] * len(drafts)
    served: dict[int, ServedArea] = {}
    backdated: dict[int, str | None] = {}
    now = utcnow()
    for i, draft in enumerate(drafts):
        try:
            served[i] = await areas.get(session, draft.principal.area_id)
            served[i].refuse_unknown_agencies(draft.data.agency_references)
            backdated[i] = backdating.check(draft.data, served[i].config.backdating, now)
        except AppError as error:
            outcomes[i] = error
    viewers: dict[int, Viewer] = {}
    for i, checked in enumerate(preflight):
        if isinstance(checked, AppError):
            outcomes[i] = outcomes[i] or checked
        else:
            viewers[i] = checked
    scored = _score_risk(drafts, served, outcomes)
    claims = await _claim_keys(session, drafts, outcomes)
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    since = {i: repeat_victims.window_start(served[i].config.repeat_victim, now) for i in todo}
    probes = [
        matching.probe(i, drafts[i].principal.area_id, drafts[i].data.complainant, since[i])
        for i in todo
    ]
    matched = await matching.match_many(driver, probes)
    found = await _resolve_complainants(session, drafts, todo, matched, outcomes, viewers)
    batch = recording.Batch()
    for i in [i for i in todo if outcomes[i] is None]:
        draft, area, who = drafts[i], served[i], found.get(i)
        complaint = _new_complaint(draft, area, matched[i].sequence, who, backdated[i])
        _stage(batch, complaint, area, who)
        if i in scored:
            complaint = risk_at_call.stage(batch, complaint, area, draft.principal, scored[i], who)
        _count_towards_repeat_victim(batch, complaint, area, who, since[i])
        response = draft.respond(complaint, _disclosed_match(viewers[i], complaint, who))
        if draft.idempotency is not None:
            batch.responses.append(idempotency.stored(draft.idempotency, response))
        outcomes[i] = response
    # Only a key this batch claimed, for a request that wrote nothing, is released: a key
    # claimed before (a replay, or a 409 for another request) keeps its first response.
    batch.released = [
        idempotency.released(claim) for i, claim in claims if isinstance(outcomes[i], AppError)
    ]
    await recording.write(driver, batch)
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(drafts)
    return done


def _score_risk(
    drafts: Sequence[Draft],
    served: dict[int, ServedArea],
    outcomes: list[Response | AppError | None],
) -> dict[int, risk_at_call.Scored]:
    """Risk answers given at the call, scored by the area's matrix, by the draft's position;
    wrong answers are that draft's 422 (before any key is claimed or row written)."""
    scored = {}
    for i, draft in enumerate(drafts):
        if outcomes[i] is not None or draft.data.risk_answers is None:
            continue
        try:
            found = risk_at_call.score(draft.data, served[i])
        except AppError as error:
            outcomes[i] = error
            continue
        if found is not None:
            scored[i] = found
    return scored


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


async def _claim_keys(
    session: AsyncSession,
    drafts: Sequence[Draft],
    outcomes: list[Response | AppError | None],
) -> list[tuple[int, Claim]]:
    """Claim the Idempotency-Keys of the drafts still to log; the answer holds the claims
    made now. A key claimed before gets its first response again (or a 409 for another
    request), in `outcomes`, and is not among them."""
    claims = [
        (i, d.idempotency)
        for i, d in enumerate(drafts)
        if d.idempotency is not None and outcomes[i] is None
    ]
    claimed = await idempotency.claim_many(session, [claim for _, claim in claims])
    ours = []
    for i, claim in claims:
        if (claim.caller, claim.key) in claimed:
            ours.append((i, claim))
            continue
        try:
            outcomes[i] = await idempotency.replay(session, claim)
        except AppError as error:  # the key came with another request
            outcomes[i] = error
    return ours


async def _resolve_complainants(
    session: AsyncSession,
    drafts: Sequence[Draft],
    todo: list[int],
    matched: dict[int, matching.Matched],
    outcomes: list[Response | AppError | None],
    viewers: dict[int, Viewer],
) -> dict[int, matching.Found]:
    """Each complainant's log, by the draft's position; a complainant who cannot be
    resolved (an uncertain match, a log the caller may not see) is that draft's error."""
    found: dict[int, matching.Found] = {}
    created: list[matching.Found] = []
    for i in todo:
        complainant = drafts[i].data.complainant
        if complainant is None:
            continue
        try:
            resolved = await people.resolve_complainant(
                session,
                viewer=viewers[i],
                complainant=complainant,
                candidates=matched[i].candidates,
            )
        except AppError as error:
            outcomes[i] = error
            continue
        if complainant.details is not None:
            resolved = people.one_log_per_newcomer(resolved, complainant.details, created)
        found[i] = resolved
    return found


def _stage(
    batch: recording.Batch,
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
    batch.outbox.append(recording.outbox_row(event, area_id=area.id, aggregate_id=complaint.id))


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
    batch: recording.Batch,
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
    batch.outbox.append(recording.outbox_row(event, area_id=area.id, aggregate_id=found.id))


def _new_complaint(
    draft: Draft,
    area: ServedArea,
    sequence: int,
    found: matching.Found | None,
    backdated: str | None,
) -> LoggedComplaint:
    principal, data, now = draft.principal, draft.data, utcnow()
    reported_at = data.reported_at or now
    location = data.location
    return LoggedComplaint(
        id=new_id(),
        reference=make_reference(area.code, reported_at.year, sequence),
        sequence=sequence,
        area_id=area.id,
        receiving_agency_id=principal.agency_id,
        recorded_by=principal.subject,
        channel=str(data.channel),
        status="open",
        person_id=found.id if found else None,
        incident_id=new_id(),
        nsir_category=str(data.nsir_category),
        asb_type=str(data.asb_type),
        hate_motivated=data.hate_motivated,
        anonymous=data.anonymous,
        description=data.description,
        complainant=_as_given(data),
        address=location.address,
        postcode=location.postcode,
        uprn=location.uprn,
        latitude=location.latitude,
        longitude=location.longitude,
        consent_status=str(data.consent.status),
        consent_recorded_at=_consent_time(data, now),
        share_override_reason=None,
        share_override_by=None,
        share_override_at=None,
        override_purposes=[],
        open311_client_id=draft.open311_client_id,
        occurred_at=data.occurred_at,
        reported_at=reported_at,
        backdated_reason=backdated,
        backdated_by=principal.subject if backdated else None,
        created_at=now,
        updated_at=now,
        agency_references=[
            LoggedReference(
                new_id(),
                r.agency_id,
                r.reference,
                normalise.reference(r.reference),
                principal.subject,
                now,
            )
            for r in data.agency_references
        ],
        perpetrators=[_perpetrator(p) for p in data.perpetrators],
        witnesses=[
            LoggedWitness(new_id(), w.name, w.phone, w.email, w.statement) for w in data.witnesses
        ],
        vulnerable=found.vulnerable if found else None,
    )


def _as_given(data: ComplaintCreate) -> dict[str, Any] | None:
    """The complainant's details as this call gave them (the agency's own record of them)."""
    if data.complainant is None or data.complainant.details is None:
        return None
    details = data.complainant.details
    given = details.model_dump(mode="json", exclude_none=True)
    given["name_norm"] = normalise.name(details.name)
    return dict(given)


def _consent_time(data: ComplaintCreate, now: datetime) -> datetime | None:
    if data.consent.status == "not_asked":
        return None
    return data.consent.recorded_at or now


def _perpetrator(data: PerpetratorIn) -> LoggedPerpetrator:
    return LoggedPerpetrator(
        id=new_id(),
        kind=str(data.kind),
        name=data.name,
        description=data.description,
        address=data.address,
        postcode=data.postcode,
        person_id=data.person_id,
        landlord_agency_id=data.landlord_agency_id,
        key=normalise.perpetrator_key(
            kind=data.kind,
            person_id=str(data.person_id) if data.person_id else None,
            name_=data.name,
            address=data.address,
            postcode_=data.postcode,
        ),
    )


def logged_event(complaint: LoggedComplaint, complainant_kind: str | None) -> ComplaintLogged:
    return ComplaintLogged(
        complaint_id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        person_id=complaint.person_id,
        incident_id=complaint.incident_id,
        channel=complaint.channel,
        nsir_category=complaint.nsir_category,
        asb_type=complaint.asb_type,
        hate_motivated=complaint.hate_motivated,
        anonymous=complaint.anonymous,
        occurred_at=complaint.occurred_at,
        reported_at=complaint.reported_at,
        postcode=complaint.postcode,
        perpetrator_keys=sorted({p.key for p in complaint.perpetrators if p.key}),
        consent_to_share=complaint.consent_status,
        agency_references=[
            AgencyReferenceData(agency_id=r.agency_id, reference=r.reference)
            for r in complaint.agency_references
        ],
        consent_recorded_at=complaint.consent_recorded_at,
        complainant_kind=complainant_kind,
        status=complaint.status,
        perpetrator_landlord_ids=sorted(
            {p.landlord_agency_id for p in complaint.perpetrators if p.landlord_agency_id}
        ),
        override_purposes=list(complaint.override_purposes),
        recorded_at=complaint.created_at,
        backdated=complaint.backdated_reason is not None,
        backdated_reason=complaint.backdated_reason,
        backdated_by=complaint.backdated_by,
    )
