"""The case review through the API: application, threshold, stages, letters, visibility."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from casebridge.common.db import new_id, utcnow
from casebridge.review.models import CaseReview, OutboxMessage, ReviewLetter
from casebridge.review.workflow import TRANSITIONS

from .conftest import COUNCIL, HEALTH, HOUSING, OTHER_AGENCY, OTHER_AREA, POLICE, Review
from .events import complaint, deliver, known

DAY = timedelta(days=1)
VICTIM = {
    "applicant_kind": "victim",
    "applicant_name": "Alex Example",
    "applicant_contact": "07700 900123",
    "summary": "Noise and threats from the flat above since June.",
}
PLAN = {
    "lead_agency_id": str(HOUSING),
    "recommendations": ["Acceptable behaviour contract", "Noise monitoring"],
    "actions": [
        {"agency_id": str(HOUSING), "description": "Serve an ABC", "due_on": "2027-01-15"},
        {"agency_id": str(COUNCIL), "description": "Install monitoring", "due_on": "2027-01-08"},
    ],
    "victim_consulted": True,
}


async def complaints_for(review: Review, person: UUID, ages_in_days: list[int]) -> None:
    for n, age in enumerate(ages_in_days):
        agency = (COUNCIL, POLICE, HOUSING)[n % 3]
        event = complaint(person, reported_at=utcnow() - age * DAY, receiving_agency_id=agency)
        await deliver(review.sessions, event)


async def apply(review: Review, person: UUID, **changes: Any) -> dict[str, Any]:
    await known(review.sessions, person)
    body = {**VICTIM, "person_id": str(person), **changes}
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 201, response.text
    return dict(response.json())


async def act(review: Review, reference: str, action: str, json: Any = None, **auth: Any) -> Any:
    return await review.client.post(
        f"/reviews/{reference}/{action}", json=json, headers=review.auth(**auth)
    )


async def count(review: Review, model: type, *where: Any) -> int:
    async with review.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_three_qualifying_complaints_meet_the_threshold_automatically(
    review: Review,
) -> None:
    person = new_id()
    await complaints_for(review, person, [90, 40, 5])
    applied = await apply(review, person)
    assert applied["state"] == "received"
    assert len(applied["complaint_ids"]) == 3
    assert applied["reference"].startswith("CR-DMO-")
    acknowledged = await act(review, applied["reference"], "acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["state"] == "threshold_met"
    assert body["threshold_automatic"] is True
    assert "the threshold is 3" in body["threshold_reasons"]
    letters = await review.client.get(
        f"/reviews/{applied['reference']}/letters", headers=review.auth()
    )
    assert [x["kind"] for x in letters.json()] == ["acknowledgement", "threshold_decision"]


async def test_a_complaint_older_than_six_months_at_application_does_not_count(
    review: Review,
) -> None:
    person = new_id()
    await complaints_for(review, person, [200, 40, 5])
    applied = await apply(review, person)
    assert len(applied["complaint_ids"]) == 2
    listed = await apply(review, person, complaint_ids=[])  # auto-found again
    body = (await act(review, listed["reference"], "acknowledge")).json()
    assert body["state"] == "acknowledged"  # the panel decides now
    assert body["allowed_actions"] == ["vote", "spoc_decision", "change_behaviour", "close"]


async def test_anonymous_application_is_refused_with_the_reason(review: Review) -> None:
    body = {
        "applicant_kind": "victim",
        "person_id": str(new_id()),
        "anonymous": True,
        "summary": "Please help",
    }
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 409
    assert response.json()["error"] == "anonymous_application_refused"
    assert "cannot be applied for anonymously" in response.json()["detail"]
    assert await count(review, CaseReview) == 0


async def test_representative_needs_the_victims_consent(review: Review) -> None:
    person = new_id()
    await known(review.sessions, person)
    body = {
        **VICTIM,
        "applicant_kind": "representative",
        "relationship": "councillor",
        "person_id": str(person),
    }
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 422
    assert "consent" in response.json()["detail"][0]["reason"]
    assert await count(review, CaseReview) == 0
    body["victim_consent"] = True
    assert (
        await review.client.post("/reviews", json=body, headers=review.auth())
    ).status_code == 201


async def test_application_with_unknown_complaints_is_refused(review: Review) -> None:
    person = new_id()
    await known(review.sessions, person)
    body = {**VICTIM, "person_id": str(person), "complaint_ids": [str(new_id())]}
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 409
    assert response.json()["error"] == "unknown_complaints"
    assert await count(review, CaseReview) == 0


async def panel_review(review: Review) -> str:
    applied = await apply(review, new_id())
    await act(review, applied["reference"], "acknowledge")
    return str(applied["reference"])


async def vote(review: Review, reference: str, agency: UUID, met: bool) -> Any:
    return await act(
        review, reference, "votes", {"met": met, "reason": "seen the log"}, agency=agency
    )


@pytest.mark.parametrize(
    ("votes", "state"),
    [
        ([True], "acknowledged"),
        ([True, True], "threshold_met"),
        ([True, False], "acknowledged"),
        ([False, False], "threshold_not_met"),
        ([True, False, True], "threshold_met"),
        ([True, False, False], "threshold_not_met"),
    ],
)
async def test_panel_majority_rule_two_of_three(
    review: Review, votes: list[bool], state: str
) -> None:
    reference = await panel_review(review)
    for agency, met in zip((COUNCIL, POLICE, HOUSING), votes, strict=False):
        response = await vote(review, reference, agency, met)
        assert response.status_code == 200, response.text
    assert response.json()["state"] == state
    if state != "acknowledged":
        assert response.json()["threshold_automatic"] is False
        assert "Demo Constabulary (" in response.json()["threshold_reasons"]
        assert "): seen the log" in response.json()["threshold_reasons"]


async def test_panel_votes_are_one_per_core_partner(review: Review) -> None:
    reference = await panel_review(review)
    # Another area's agency, or one of this area not on the panel, cannot see the review.
    assert (await vote(review, reference, OTHER_AGENCY, True)).status_code == 404
    assert (await vote(review, reference, HEALTH, True)).status_code == 404
    assert (await vote(review, reference, COUNCIL, True)).status_code == 200
    again = await vote(review, reference, COUNCIL, True)
    assert again.status_code == 409
    no_scope = await act(
        review,
        reference,
        "votes",
        {"met": True, "reason": "x"},
        agency=POLICE,
        scopes=["reviews:write"],
    )
    assert no_scope.status_code == 403


ROUTES: dict[str, tuple[str, Any]] = {
    "acknowledge": ("acknowledge", None),
    "vote": ("votes", {"met": True, "reason": "persistent"}),
    "spoc_decision": ("threshold", {"met": True, "reason": "the panel abstained"}),
    "change_behaviour": ("behaviour", {"complaint_id": "0192f0a0-0000-7000-8000-000000000001"}),
    # A meeting already due: one cannot be marked held before its time.
    "schedule_meeting": ("meeting", {"meeting_at": (utcnow() - DAY).isoformat()}),
    "hold_meeting": ("meeting/held", {"minutes": "Met", "information_supplied": {}}),
    "agree_action_plan": ("action-plan", PLAN),
    "communicate_outcome": ("outcome", {"outcome": "An action plan was agreed."}),
    "accept": ("accept", None),
    "escalate": ("escalate", {"reason": "Not enough was done"}),
    "decide_escalation": ("escalation/decision", {"upheld": False, "reasons": "It stands"}),
    "close": ("close", {"reason": "Actions complete"}),
}
STATES = sorted(
    {s for sources, _ in TRANSITIONS.values() for s in sources}
    | {"threshold_met", "threshold_not_met", "escalation_decided", "closed"}
)


async def test_every_invalid_transition_is_refused_naming_the_allowed_ones(review: Review) -> None:
    applied = await apply(review, new_id())
    reference = applied["reference"]
    for state in STATES:
        async with review.sessions() as session:
            await session.execute(
                update(CaseReview).where(CaseReview.reference == reference).values(state=state)
            )
            await session.commit()
        for action, (path, body) in ROUTES.items():
            if state in TRANSITIONS[action][0]:
                continue
            response = await act(review, reference, path, body)
            assert response.status_code == 409, (state, action, response.text)
            detail = response.json()["detail"]
            assert detail["state"] == state
            assert detail["allowed"] == [
                a for a, (sources, _) in TRANSITIONS.items() if state in sources and a in ROUTES
            ]


async def test_a_review_runs_from_application_to_closure(review: Review) -> None:
    person = new_id()
    await complaints_for(review, person, [30, 20, 10])
    reference = (await apply(review, person))["reference"]
    await act(review, reference, "acknowledge")
    for action in (
        "schedule_meeting",
        "hold_meeting",
        "agree_action_plan",
        "communicate_outcome",
        "escalate",
        "close",
    ):
        path, body = ROUTES[action]
        if action == "hold_meeting":
            body = {
                "minutes": "Partners reviewed 3 complaints",
                "information_supplied": {str(POLICE): "2 CAD logs", str(HOUSING): "tenancy"},
            }
        response = await act(review, reference, path, body)
        assert response.status_code == 200, (action, response.text)
    final = response.json()
    assert final["state"] == "closed"
    assert final["closure_reason"] == "Actions complete"
    assert final["information_supplied"][str(POLICE)] == "2 CAD logs"
    history = (
        await review.client.get(f"/reviews/{reference}/history", headers=review.auth())
    ).json()
    assert [h["to_state"] for h in history] == [
        "received",
        "acknowledged",
        "threshold_met",
        "meeting_scheduled",
        "meeting_held",
        "action_plan_agreed",
        "outcome_communicated",
        "escalated",
        "closed",
    ]
    transitions = await count(
        review, OutboxMessage, OutboxMessage.event_type == "review.case_review.transitioned.v1"
    )
    assert transitions == len(history) - 1  # the application is its own event
    letters = await count(review, ReviewLetter)
    # acknowledgement, threshold decision, outcome, escalation received, closure
    assert letters == 5
    deadlines = (
        await review.client.get(f"/reviews/{reference}/deadlines", headers=review.auth())
    ).json()
    assert all(d["met_at"] for d in deadlines)


async def test_letters_are_html_and_escape_what_people_typed(review: Review) -> None:
    applied = await apply(review, new_id(), applicant_name="<script>alert(1)</script> Smith")
    await act(review, applied["reference"], "acknowledge")
    url = f"/reviews/{applied['reference']}/letters"
    (letter, *_) = (await review.client.get(url, headers=review.auth())).json()
    response = await review.client.get(f"{url}/{letter['id']}", headers=review.auth())
    assert response.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;" in response.text
    assert "<script>" not in response.text
    assert applied["reference"] in response.text
    assert "casereview@demo-council.example" in response.text


async def test_status_shows_the_stage_next_deadline_and_spoc_only(review: Review) -> None:
    applied = await apply(review, new_id())
    response = await review.client.get(
        f"/reviews/{applied['reference']}/status", headers=review.auth()
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "reference",
        "stage",
        "threshold_met",
        "next_deadline",
        "spoc",
        "escalation_body",
        "ombudsman",
    }
    assert body["stage"] == "received"
    assert body["next_deadline"]["stage"] == "acknowledge"
    assert body["spoc"]["email"] == "casereview@demo-council.example"
    assert "Alex" not in response.text
    assert str(applied["person_id"]) not in response.text


async def test_another_areas_agency_gets_404_on_every_review_route(review: Review) -> None:
    person = new_id()
    await complaints_for(review, person, [10, 5, 1])
    applied = await apply(review, person)
    reference = applied["reference"]
    await act(review, reference, "acknowledge")
    letter_id = (
        await review.client.get(f"/reviews/{reference}/letters", headers=review.auth())
    ).json()[0]["id"]
    outsider = review.auth(OTHER_AGENCY, area=OTHER_AREA)
    gets = [
        "",
        "/status",
        "/history",
        "/deadlines",
        "/counting",
        "/letters",
        f"/letters/{letter_id}",
        f"/letters/{letter_id}/pdf",
    ]
    for suffix in gets:
        response = await review.client.get(f"/reviews/{reference}{suffix}", headers=outsider)
        assert response.status_code == 404, suffix
    for path, body in ROUTES.values():
        response = await review.client.post(
            f"/reviews/{reference}/{path}", json=body, headers=outsider
        )
        assert response.status_code == 404, path
    reissue = await review.client.post(f"/reviews/{reference}/access-code", headers=outsider)
    assert reissue.status_code == 404
    listed = await review.client.get("/reviews", headers=outsider)
    assert listed.json()["items"] == []
    paths = {
        p
        for p in review.client._transport.app.openapi()["paths"]
        if p.startswith("/reviews/{reference}")
    }  # type: ignore[attr-defined]
    covered = {f"/reviews/{{reference}}{s}" for s in gets[:-2]} | {
        "/reviews/{reference}/letters/{letter_id}",
        "/reviews/{reference}/letters/{letter_id}/pdf",
    }
    covered |= {f"/reviews/{{reference}}/{p}" for p, _ in ROUTES.values()}
    covered.add("/reviews/{reference}/access-code")
    assert paths == covered  # a new route must join this test
