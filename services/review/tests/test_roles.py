"""Who runs a case review (issue 15): the SPOC of the agency the area's procedure names, the
panel's members, the partnership administrator; and the meeting's place in time."""

from __future__ import annotations

from datetime import timedelta

from casebridge.common.db import new_id, utcnow
from casebridge.devstack.seeds.review import demo_document

from .conftest import ADMIN, HEALTH, POLICE, Review
from .test_reviews import PLAN, act, apply, complaints_for

HOUR = timedelta(hours=1)


async def met(review: Review) -> str:
    """A review whose threshold was met at its acknowledgement (three qualifying complaints)."""
    person = new_id()
    await complaints_for(review, person, [30, 20, 10])
    reference = str((await apply(review, person))["reference"])
    response = await act(review, reference, "acknowledge")
    assert response.json()["state"] == "threshold_met", response.text
    return reference


async def test_only_the_spoc_agency_acknowledges(review: Review) -> None:
    reference = (await apply(review, new_id()))["reference"]
    police_spoc = await act(review, reference, "acknowledge", agency=POLICE, roles=["spoc"])
    assert police_spoc.status_code == 403
    assert police_spoc.json()["error"] == "not_the_spoc"
    assert "procedure names" in police_spoc.json()["detail"]
    officer = await act(review, reference, "acknowledge", roles=["case_officer"])
    assert officer.status_code == 403
    assert "spoc role" in officer.json()["detail"]
    spoc = await act(review, reference, "acknowledge", roles=["spoc"])
    assert spoc.status_code == 200, spoc.text


async def test_only_the_administrator_changes_the_procedure(review: Review) -> None:
    police_system = review.auth(POLICE, roles=["call_handler", "case_officer", "panel_member"])
    refused = await review.client.put("/config", content=demo_document(), headers=police_system)
    assert refused.status_code == 403  # the bug issue 15 found: any reviews:write holder could
    for roles in (["spoc", "case_officer"], ["dpo"]):
        headers = review.auth(roles=roles)
        refused = await review.client.put("/config", content=demo_document(), headers=headers)
        assert refused.status_code == 403, roles
        assert "partnership_admin" in refused.json()["detail"]
    headers = review.auth(roles=[ADMIN])
    published = await review.client.put("/config", content=demo_document(), headers=headers)
    assert published.status_code == 201, published.text


async def test_a_meeting_is_not_held_before_its_time(review: Review) -> None:
    reference = await met(review)
    later = (utcnow() + 2 * HOUR).isoformat()
    assert (await act(review, reference, "meeting", {"meeting_at": later})).status_code == 200
    minutes = {"minutes": "Met", "information_supplied": {}}
    early = await act(review, reference, "meeting/held", minutes)
    assert early.status_code == 409
    assert early.json()["error"] == "meeting_not_yet_held"
    assert later[:16] in early.json()["detail"]
    state = await review.client.get(f"/reviews/{reference}", headers=review.auth())
    assert state.json()["state"] == "meeting_scheduled"  # nothing was written
    # Brought forward: rescheduled to an hour ago, it may be minuted.
    earlier = (utcnow() - HOUR).isoformat()
    assert (await act(review, reference, "meeting", {"meeting_at": earlier})).status_code == 200
    held = await act(review, reference, "meeting/held", minutes)
    assert held.status_code == 200, held.text


async def test_an_outcome_needs_a_held_meeting(review: Review) -> None:
    reference = await met(review)
    outcome = {"outcome": "An action plan was agreed."}
    for step, body in [
        (None, None),
        ("meeting", {"meeting_at": (utcnow() - HOUR).isoformat()}),
    ]:
        if step is not None:
            assert (await act(review, reference, step, body)).status_code == 200
        refused = await act(review, reference, "outcome", outcome)
        assert refused.status_code == 409, refused.text
        assert "communicate_outcome" not in refused.json()["detail"]["allowed"]
    await act(review, reference, "meeting/held", {"minutes": "Met", "information_supplied": {}})
    await act(review, reference, "action-plan", PLAN)
    assert (await act(review, reference, "outcome", outcome)).status_code == 200


async def test_only_panel_members_of_panel_agencies_vote(review: Review) -> None:
    reference = (await apply(review, new_id()))["reference"]
    await act(review, reference, "acknowledge")
    vote = {"met": True, "reason": "persistent"}
    not_member = await act(review, reference, "votes", vote, roles=["spoc", "case_officer"])
    assert not_member.status_code == 403
    assert "panel_member" in not_member.json()["detail"]
    off_panel = await act(review, reference, "votes", vote, agency=HEALTH, roles=["panel_member"])
    assert off_panel.status_code in (403, 404)  # it may not even see the review
    police = await act(review, reference, "votes", vote, agency=POLICE, roles=["panel_member"])
    assert police.status_code == 200, police.text
