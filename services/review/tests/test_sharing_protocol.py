"""Review's reads decide with the area's information-sharing protocol (issue 8.3, issue 9).

Reviews and triggers are seen by the SPOC and the panel (who carry out the review), the
agency that received the application and agencies invited to it, as the protocol grants;
the applicant's details go to the SPOC and the panel only; a review lists its complaints
as the caller may see them; an application for a victim the caller may not know, or of
another area, is refused as unknown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert

from casebridge.common.db import new_id, utcnow
from casebridge.review.models import CaseInvitation, CaseReview

from .conftest import COUNCIL, HEALTH, OTHER_AGENCY, OTHER_AREA, POLICE, Review
from .events import complaint, deliver, known
from .test_reviews import VICTIM, count

APPLICANT = ("applicant_name", "applicant_contact", "relationship", "summary")


async def _victim_with_complaints(review: Review, person: UUID) -> list[UUID]:
    """Three complaints by the police (consent refused) and one by the council."""
    ids = []
    for days, agency, consent in ((40, POLICE, "refused"), (20, POLICE, "refused"),
                                  (10, POLICE, "refused"), (5, COUNCIL, "given")):  # fmt: skip
        event = complaint(
            person,
            reported_at=utcnow() - timedelta(days=days),
            receiving_agency_id=agency,
            consent_to_share=consent,
        )
        await deliver(review.sessions, event)
        ids.append(event.complaint_id)
    return ids


async def _apply(review: Review, person: UUID, agency: UUID = COUNCIL, **auth: Any) -> Any:
    body = {**VICTIM, "person_id": str(person)}
    return await review.client.post("/reviews", json=body, headers=review.auth(agency, **auth))


async def test_the_spoc_and_panel_see_the_application_whole(review: Review) -> None:
    person = new_id()
    ids = await _victim_with_complaints(review, person)
    applied = await _apply(review, person)
    assert applied.status_code == 201, applied.text
    reference = applied.json()["reference"]
    police = await review.client.get(f"/reviews/{reference}", headers=review.auth(POLICE))
    assert police.status_code == 200  # the police are on the panel
    body = police.json()
    assert body["applicant_name"] == VICTIM["applicant_name"]
    assert sorted(body["complaint_ids"]) == sorted(str(i) for i in ids)


async def test_the_receiving_agency_sees_only_the_complaints_it_may_see(review: Review) -> None:
    """HEALTH took one complaint of a victim whose police complaints are refused to share:
    it may apply, but the review lists only its own complaint to it."""
    person = new_id()
    police_ids = await _victim_with_complaints(review, person)
    mine = complaint(person, reported_at=utcnow(), receiving_agency_id=HEALTH)
    await deliver(review.sessions, mine)
    applied = await _apply(review, person, HEALTH)
    assert applied.status_code == 201, applied.text
    body = applied.json()
    assert body["complaint_ids"] == [str(mine.complaint_id)]
    for hidden in police_ids:
        assert str(hidden) not in applied.text
    assert body["applicant_name"] == VICTIM["applicant_name"]  # it took the application


async def test_an_agency_off_the_panel_and_uninvited_sees_nothing(review: Review) -> None:
    person = new_id()
    await _victim_with_complaints(review, person)
    reference = (await _apply(review, person)).json()["reference"]
    for agency, area in ((HEALTH, None), (OTHER_AGENCY, OTHER_AREA)):
        headers = review.auth(agency, area=area) if area else review.auth(agency)
        assert (
            await review.client.get(f"/reviews/{reference}", headers=headers)
        ).status_code == 404
        listed = await review.client.get("/reviews", headers=headers)
        assert reference not in listed.text
        triggers = await review.client.get("/triggers", headers=headers)
        assert str(person) not in triggers.text
        acted = await review.client.post(f"/reviews/{reference}/acknowledge", headers=headers)
        assert acted.status_code == 404


async def test_an_invited_agency_sees_what_the_protocol_gives_the_invited(review: Review) -> None:
    person = new_id()
    await _victim_with_complaints(review, person)
    reference = (await _apply(review, person)).json()["reference"]
    async with review.sessions() as session:
        await session.execute(
            insert(CaseInvitation).values(
                case_reference=reference,
                agency_id=HEALTH,
                area_id=review.area,
                invited=True,
                changed_at=utcnow(),
            )
        )
        await session.commit()
    seen = await review.client.get(f"/reviews/{reference}", headers=review.auth(HEALTH))
    assert seen.status_code == 200
    body = seen.json()
    assert body["reference"] == reference
    for field in (*APPLICANT, "person_id", "minutes"):
        assert field not in body, field
    assert body["complaint_ids"] == []  # it may see none of the victim's complaints
    assert seen.headers["Casebridge-Protocol-Version"] == "1"


async def test_an_application_for_a_victim_the_caller_may_not_know_is_unknown(
    review: Review,
) -> None:
    person = new_id()
    await _victim_with_complaints(review, person)  # HEALTH took none of them
    refused = await _apply(review, person, HEALTH)
    assert refused.status_code == 404
    assert refused.json()["error"] == "person_not_found"
    # Another area's client naming this area's victim: unknown as well, nothing written.
    elsewhere = await _apply(review, person, OTHER_AGENCY, area=OTHER_AREA)
    assert elsewhere.status_code == 404
    # A victim nobody has heard of.
    assert (await _apply(review, new_id())).status_code == 404
    assert await count(review, CaseReview) == 0


async def test_a_victims_refused_complaint_cannot_be_named_by_another_agency(
    review: Review,
) -> None:
    person = new_id()
    police_ids = await _victim_with_complaints(review, person)
    await known(review.sessions, person, HEALTH)
    body = {**VICTIM, "person_id": str(person), "complaint_ids": [str(police_ids[0])]}
    response = await review.client.post("/reviews", json=body, headers=review.auth(HEALTH))
    assert response.status_code == 409
    assert response.json()["error"] == "unknown_complaints"
