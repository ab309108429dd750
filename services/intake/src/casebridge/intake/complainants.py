"""A call's complainant resolved to a complaint log among the candidates matching found
(Home Office principle 1: one log per victim): a certain match attaches, an uncertain one
asks the handler to choose, no match creates the log (written with the complaint)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.isp import Viewer
from casebridge.intake import names, normalise, people, rows
from casebridge.intake.errors import MatchUncertain
from casebridge.intake.matching import (
    MAX_CANDIDATES,
    Candidate,
    Found,
    MatchHow,
    Scored,
    score,
)
from casebridge.intake.models import Person
from casebridge.intake.schemas.people import (
    Complainant,
    MatchCandidate,
    MatchCandidatesDetail,
    PersonDetails,
)
from casebridge.intake.visibility import decide_person, person_facts


async def resolve_complainant(
    session: AsyncSession,
    *,
    viewer: Viewer,
    complainant: Complainant,
    candidates: list[Candidate],
) -> Found:
    """Find the complainant's log before making one, among the candidates matching found:
    a certain match attaches (matching keeps one log; it grants the caller nothing of what
    others recorded), an uncertain one raises MatchUncertain with ranked candidates (only
    logs the caller may know of, showing only what it may see), no match creates (the new
    log is written with the complaint). `match: new` creates without asking; a chosen
    `person_id` must be a log the caller may see."""
    if complainant.person_id is not None:
        person = await people.get_person(session, viewer=viewer, person_id=complainant.person_id)
        row = next((c for c in candidates if c.id == person.id), None)
        return _kept(person, "chosen", row)
    details = complainant.details
    assert details is not None
    scored = [score(p, details) for p in candidates]
    certain = [s for s in scored if s.certain]
    if len(certain) == 1:
        match = certain[0].person
        if _completes(match, details):
            _complete(await _person(session, match.id), details)
        return _kept(match, "attached", match)
    if complainant.match == "ask":
        ranked = sorted((s for s in scored if s.score > 0), key=lambda s: -s.score)
        shown = await _shown_candidates(session, viewer, ranked)
        if shown:
            raise MatchUncertain(_candidates_detail(shown))
    new = new_person_row(viewer.recipient.area_id, details)
    return Found(new["id"], new["kind"], "created", new_row=new)


async def _shown_candidates(
    session: AsyncSession, viewer: Viewer, ranked: list[Scored]
) -> list[MatchCandidate]:
    """The candidates the caller may know of, with the name and postcode it may see (the
    protocol's, or what it supplied itself); the others are not mentioned at all."""
    facts = await person_facts(session, viewer, [s.person.id for s in ranked])
    shown = []
    for s in ranked:
        decision = decide_person(viewer, s.person, facts)
        supplied = facts.supplied.get(s.person.id, {})
        if not (decision.shows("known") or decision.shows("name") or supplied):
            continue
        shown.append(
            MatchCandidate(
                person_id=s.person.id,
                name=s.person.name if decision.shows("name") else supplied.get("name"),
                postcode=(
                    s.person.postcode if decision.shows("postcode") else supplied.get("postcode")
                ),
                score=s.score,
                reasons=[r.value for r in s.reasons],
            )
        )
    return shown[:MAX_CANDIDATES]


def one_log_per_newcomer(found: Found, details: PersonDetails, created: list[Found]) -> Found:
    """Two calls about the same new complainant in one batch make one log, not two: a log
    this batch creates is a candidate for the calls after it (a certain match only; the
    handler cannot be asked to choose a log nobody has seen yet). `created` collects them."""
    if found.new_row is None:
        return found
    for earlier in created:
        assert earlier.new_row is not None
        row = Candidate.of(earlier.new_row)
        if row.area_id == found.new_row["area_id"] and score(row, details).certain:
            return Found(earlier.id, earlier.kind, "attached")
    created.append(found)
    return found


class _LogRow(Protocol):
    """What a kept log's Found is made of: a candidate, or the ORM person."""

    @property
    def id(self) -> UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def repeat_victim_at(self) -> datetime | None: ...
    @property
    def consent_status(self) -> str: ...
    @property
    def consent_recorded_at(self) -> datetime | None: ...
    @property
    def override_purposes(self) -> list[str]: ...
    @property
    def vulnerable(self) -> bool: ...
    @property
    def vulnerability_reasons(self) -> list[str]: ...


def _kept(person: _LogRow, how: MatchHow, row: Candidate | None) -> Found:
    marked = person.repeat_victim_at is not None
    return Found(
        person.id,
        person.kind,
        how,
        repeat_victim=marked,
        recent=() if marked or row is None else row.recent,
        consent=person.consent_status,
        consent_at=person.consent_recorded_at,
        overrides=tuple(person.override_purposes or ()),
        vulnerable=bool(person.vulnerable),
        vulnerability_reasons=tuple(person.vulnerability_reasons or ()),
    )


def _candidates_detail(shown: list[MatchCandidate]) -> dict[str, object]:
    detail = MatchCandidatesDetail(
        message="the complainant may already have a log: resend with complainant.person_id "
        "set to one of the candidates, or with complainant.match = 'new'",
        candidates=shown,
    )
    return detail.model_dump(mode="json")


COMPLETED_FIELDS = ("date_of_birth", "phone", "email", "address", "postcode")


def _completes(person: Candidate, details: PersonDetails) -> bool:
    return any(
        getattr(person, field) is None and getattr(details, field) is not None
        for field in COMPLETED_FIELDS
    )


def _complete(person: Person, details: PersonDetails) -> None:
    """A certain match fills what the log did not know yet; it never overwrites."""
    for field in COMPLETED_FIELDS:
        if getattr(person, field) is None and getattr(details, field) is not None:
            setattr(person, field, getattr(details, field))


async def _person(session: AsyncSession, person_id: UUID) -> Person:
    """The ORM person, for the rare changes to a log (completion, repeat-victim mark)."""
    person = await session.get(Person, person_id)
    assert person is not None
    return person


def new_person_row(area_id: UUID, details: PersonDetails) -> dict[str, Any]:
    """A new complaint log's row, every column set (it is written without the ORM; what is
    not given here is the model's default: not a repeat victim, not vulnerable, no word on
    sharing yet)."""
    name_norm = normalise.name(details.name)
    return rows.row_of(
        Person,
        area_id=area_id,
        kind=str(details.kind),
        name=details.name,
        name_norm=name_norm,
        surname_key=names.surname_key(name_norm),
        date_of_birth=details.date_of_birth,
        phone=details.phone,
        email=details.email,
        address=details.address,
        postcode=details.postcode,
    )
