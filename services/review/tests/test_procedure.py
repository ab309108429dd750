"""The procedure around the decision (issue 11, points 4, 6, 7 and 8): the receipt date,
abstentions and the quorum, escalation after "not met", configurable deadline starts, and
letters as PDF."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select, update

from casebridge.common.db import new_id, utcnow
from casebridge.common.periods import local_date
from casebridge.devstack.seeds.review import demo_document
from casebridge.review import letters as letters_module
from casebridge.review.models import CaseReview, OutboxMessage, ReviewTransition

from .conftest import ADMIN, COUNCIL, HOUSING, POLICE, Review
from .events import known
from .test_reviews import PLAN, VICTIM, act, apply, complaints_for, count

DAY = timedelta(days=1)


async def events(review: Review, kind: str) -> list[dict[str, Any]]:
    async with review.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.event_type == f"review.{kind}.v1")
            .order_by(OutboxMessage.created_at)
        )
        return [r["data"] for r in rows]


async def post_application(review: Review, **changes: Any) -> Any:
    person = new_id()
    await known(review.sessions, person)
    body = {**VICTIM, "person_id": str(person), **changes}
    return await review.client.post("/reviews", json=body, headers=review.auth())


async def test_a_receipt_date_days_back_is_recorded_with_who_and_why(review: Review) -> None:
    received = utcnow() - 3 * DAY
    response = await post_application(
        review, received_at=received.isoformat(), backdated_reason="letter received on Friday"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["applied_at"] == received.isoformat().replace("+00:00", "Z")
    assert body["recorded_at"] > body["applied_at"]
    assert body["backdated_reason"] == "letter received on Friday"
    assert body["backdated_by"]
    deadlines = await review.client.get(
        f"/reviews/{body['reference']}/deadlines", headers=review.auth()
    )
    for deadline in deadlines.json():  # every deadline runs from receipt
        assert deadline["starts_on"] == local_date(received).isoformat()
    (applied,) = await events(review, "case_review.applied")
    assert applied["backdated"] is True
    assert applied["applied_at"].startswith(received.date().isoformat())


@pytest.mark.parametrize(
    ("days_back", "reason", "field"),
    [
        (2, None, "body.backdated_reason"),  # an earlier day needs a reason
        (15, "letter", "body.received_at"),  # past the area's 14 days: import, not API
        (-1, "typo", "body.received_at"),  # never in the future
    ],
)
async def test_a_receipt_date_out_of_bounds_is_refused(
    review: Review, days_back: int, reason: str | None, field: str
) -> None:
    received = utcnow() - days_back * DAY
    response = await post_application(
        review, received_at=received.isoformat(), backdated_reason=reason
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert await count(review, CaseReview) == 0


async def acknowledged(review: Review) -> str:
    applied = await apply(review, new_id())
    await act(review, applied["reference"], "acknowledge")
    return str(applied["reference"])


async def cast(review: Review, reference: str, agency: UUID, vote: bool | None) -> Any:
    body: dict[str, Any] = {"reason": "conflict of interest" if vote is None else "seen the log"}
    body.update({"abstain": True} if vote is None else {"met": vote})
    return await act(review, reference, "votes", body, agency=agency)


@pytest.mark.parametrize(
    ("votes", "state"),
    [
        ([None, True, True], "threshold_met"),  # over the votes cast: 2 of 2
        ([None, True, False], "threshold_not_met"),  # a tie is no majority
        ([True, None], "acknowledged"),  # housing may still decide it
        ([None, False], "threshold_not_met"),  # met can no longer be reached
    ],
)
async def test_an_abstention_is_not_a_vote(
    review: Review, votes: list[bool | None], state: str
) -> None:
    reference = await acknowledged(review)
    for agency, vote in zip((POLICE, COUNCIL, HOUSING), votes, strict=False):
        response = await cast(review, reference, agency, vote)
        assert response.status_code == 200, response.text
    assert response.json()["state"] == state
    if state != "acknowledged":
        assert (
            "Demo Constabulary (abstained): conflict of interest"
            in (response.json()["threshold_reasons"])
        )
        (decided,) = await events(review, "case_review.threshold_decided")
        assert decided["votes_abstained"] == 1
        assert decided["abstained_agency_ids"] == [str(POLICE)]
        assert decided["decided_by"] == "panel"


async def test_a_vote_is_met_or_an_abstention_with_a_reason(review: Review) -> None:
    reference = await acknowledged(review)
    for body in ({"met": True, "abstain": True, "reason": "x"}, {"reason": "x"}, {"abstain": True}):
        response = await act(review, reference, "votes", body, agency=POLICE)
        assert response.status_code == 422, body


async def test_when_the_panel_has_no_quorum_the_spoc_decides(review: Review) -> None:
    reference = await acknowledged(review)
    decision = {"met": True, "reason": "persistent noise, partners conflicted"}
    early = await act(review, reference, "threshold", decision)
    assert early.status_code == 409
    assert early.json()["error"] == "panel_can_decide"
    await cast(review, reference, POLICE, None)
    still = await cast(review, reference, COUNCIL, None)
    assert still.json()["state"] == "acknowledged"  # one voter left: below the quorum of 2
    assert (await cast(review, reference, HOUSING, True)).json()["state"] == "acknowledged"
    decided = await act(review, reference, "threshold", decision)
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "threshold_met"
    assert "Decided by the SPOC" in decided.json()["threshold_reasons"]
    (event,) = await events(review, "case_review.threshold_decided")
    assert event["decided_by"] == "spoc"
    assert sorted(event["abstained_agency_ids"]) == sorted([str(POLICE), str(COUNCIL)])


async def not_met(review: Review) -> str:
    reference = await acknowledged(review)
    for agency in (POLICE, COUNCIL):
        await cast(review, reference, agency, False)
    return reference


async def test_after_not_met_the_escalation_body_may_re_decide(review: Review) -> None:
    reference = await not_met(review)
    asked = await act(review, reference, "escalate", {"reason": "Three calls ignored"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == "escalated"
    assert asked.json()["escalation_of"] == "threshold"
    deadlines = await review.client.get(f"/reviews/{reference}/deadlines", headers=review.auth())
    (pending,) = [d for d in deadlines.json() if d["stage"] == "escalation_decision"]
    assert "20 working days" in pending["rule"]
    upheld = await act(
        review, reference, "escalation/decision", {"upheld": True, "reasons": "persistent"}
    )
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["state"] == "threshold_met"
    assert upheld.json()["allowed_actions"] == ["schedule_meeting"]
    decided = await events(review, "case_review.threshold_decided")
    assert [d["decided_by"] for d in decided] == ["panel", "escalation"]
    (escalation,) = await events(review, "case_review.escalation_decided")
    assert escalation["upheld"] is True
    assert escalation["body"] == "Police and Crime Commissioner"
    assert escalation["body_kind"] == "pcc"
    kinds = [x["kind"] for x in await letters(review, reference)]
    assert kinds[-2:] == ["threshold_decision", "escalation_decision"]
    assert "escalation_received" in kinds


async def test_a_review_may_be_escalated_again_after_its_outcome(review: Review) -> None:
    reference = await not_met(review)
    await act(review, reference, "escalate", {"reason": "Three calls ignored"})
    await act(review, reference, "escalation/decision", {"upheld": True, "reasons": "persistent"})
    steps = [
        ("meeting", {"meeting_at": utcnow().isoformat()}),
        ("meeting/held", {"minutes": "Met", "information_supplied": {}}),
        ("action-plan", PLAN),
        ("outcome", {"outcome": "An action plan was agreed."}),
        ("escalate", {"reason": "The plan was not followed"}),
    ]
    for path, body in steps:
        response = await act(review, reference, path, body)
        assert response.status_code == 200, (path, response.text)
    assert response.json()["escalation_of"] == "outcome"
    deadlines = await review.client.get(f"/reviews/{reference}/deadlines", headers=review.auth())
    (pending,) = [d for d in deadlines.json() if d["stage"] == "escalation_decision"]
    assert pending["met_at"] is None  # the second request's own deadline


async def letters(review: Review, reference: str) -> list[dict[str, Any]]:
    response = await review.client.get(f"/reviews/{reference}/letters", headers=review.auth())
    return list(response.json())


async def letter_text(review: Review, reference: str, kind: str) -> str:
    (letter,) = [x for x in await letters(review, reference) if x["kind"] == kind]
    url = f"/reviews/{reference}/letters/{letter['id']}"
    return (await review.client.get(url, headers=review.auth())).text


async def test_a_decision_that_stands_is_closed_naming_the_ombudsman(review: Review) -> None:
    reference = await not_met(review)
    assert "within\n20 working days" in await letter_text(review, reference, "threshold_decision")
    await act(review, reference, "escalate", {"reason": "Three calls ignored"})
    stands = await act(
        review, reference, "escalation/decision", {"upheld": False, "reasons": "one incident"}
    )
    assert stands.json()["state"] == "escalation_decided"
    assert stands.json()["escalation_upheld"] is False
    decision = await letter_text(review, reference, "escalation_decision")
    assert "Local Government and Social Care Ombudsman" in decision
    closed = await act(review, reference, "close", {"reason": "Local procedure complete"})
    assert closed.json()["state"] == "closed"
    assert "Local Government and Social Care Ombudsman" in (
        await letter_text(review, reference, "closure")
    )


async def test_an_escalation_out_of_time_is_refused(review: Review) -> None:
    reference = await not_met(review)
    async with review.sessions() as session:  # the decision letter went out 40 days ago
        await session.execute(
            update(ReviewTransition)
            .where(ReviewTransition.to_state == "threshold_not_met")
            .values(at=utcnow() - 40 * DAY)
        )
        await session.commit()
    late = await act(review, reference, "escalate", {"reason": "Three calls ignored"})
    assert late.status_code == 409
    assert late.json()["error"] == "escalation_out_of_time"
    assert "20 working days" in late.json()["detail"]


async def test_a_deadline_may_run_from_receipt(review: Review) -> None:
    """Staffordshire: the conclusion within 28 days of the request, not of the meeting."""
    document = demo_document().replace(
        "outcome: {days: 30, unit: working}",
        "outcome: {days: 28, unit: calendar, starts: receipt}",
    )
    assert (
        await review.client.put("/config", content=document, headers=review.auth(roles=[ADMIN]))
    ).is_success
    person = new_id()
    await complaints_for(review, person, [30, 20, 10])
    received = utcnow() - 5 * DAY
    applied = await apply(review, person, received_at=received.isoformat(), backdated_reason="post")
    reference = applied["reference"]
    await act(review, reference, "acknowledge")
    await act(review, reference, "meeting", {"meeting_at": utcnow().isoformat()})
    await act(review, reference, "meeting/held", {"minutes": "Met", "information_supplied": {}})
    deadlines = await review.client.get(f"/reviews/{reference}/deadlines", headers=review.auth())
    (outcome,) = [d for d in deadlines.json() if d["stage"] == "outcome"]
    start = local_date(received)
    assert outcome["starts_on"] == start.isoformat()
    assert outcome["due_on"] == (start + timedelta(days=28)).isoformat()
    assert "receipt of the application" in outcome["rule"]


async def test_a_deadline_cannot_start_after_its_stage_opens(review: Review) -> None:
    document = demo_document().replace(
        "acknowledge: {days: 2, unit: working}", "acknowledge: {days: 2, starts: meeting}"
    )
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422
    assert "acknowledge cannot start from meeting" in response.text


async def test_letters_come_as_pdf_that_render_with_their_text(review: Review) -> None:
    applied = await apply(review, new_id(), applicant_name="Łucja Example")
    reference = applied["reference"]
    await act(review, reference, "acknowledge")
    (letter, *_) = await letters(review, reference)
    url = f"/reviews/{reference}/letters/{letter['id']}/pdf"
    response = await review.client.get(url, headers=review.auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    document = pdfium.PdfDocument(response.content)
    page = document[0]
    text = page.get_textpage().get_text_range()
    assert reference in text
    # with a Unicode font on the machine (DejaVu) the name is whole; with the PDF core font
    # only Latin-1 is drawn and the rest is shown as "?"
    assert (
        "Dear Łucja Example" if letters_module._unicode_font() else "Dear ?ucja Example"
    ) in text
    assert "We have passed it to every relevant body" in text
    image = page.render(scale=1).to_pil().convert("L")
    dark = image.point(lambda value: 255 if value < 128 else 0).histogram()[255]
    assert dark > 1000  # ink on the page, not a blank sheet
    assert image.size[0] < image.size[1]  # A4 portrait


async def test_no_pdf_for_a_letter_of_another_review(review: Review) -> None:
    first = await apply(review, new_id())
    await act(review, first["reference"], "acknowledge")
    second = await apply(review, new_id())
    (letter, *_) = await letters(review, first["reference"])
    url = f"/reviews/{second['reference']}/letters/{letter['id']}/pdf"
    assert (await review.client.get(url, headers=review.auth())).status_code == 404


async def test_the_counting_read_shows_the_decision_as_made(review: Review) -> None:
    """Complaints arriving after the decision change nothing in what it counted."""
    person = new_id()
    await complaints_for(review, person, [20])
    applied = await apply(review, person)
    reference = applied["reference"]
    await act(review, reference, "acknowledge")
    for agency in (POLICE, COUNCIL):
        await cast(review, reference, agency, False)
    await complaints_for(review, person, [1])
    url = f"/reviews/{reference}/counting"
    found = (await review.client.get(url, headers=review.auth())).json()
    assert (found["decided"], found["decided_by"], found["met"]) == (True, "panel", False)
    assert len(found["complaints"]) == 1
