"""The case review's later steps reach the partners under the protocol as its first ones do
(issue 10): the action plan (`case_review.recommendations_made`), a letter to the applicant
(`case_review.letter_issued`) and the case review explained to a victim
(`trigger.explained`). Each is offered (offers.OFFERS) as one record in the catalogue's
names; the SPOC, the panel and an agency invited to the case get what the default protocol
grants them, on NATS and in their feed; a core partner that is none of these gets a refusal
on record and no delivery. Removing an event from OFFERS fails these tests: the consumer has
no handler for it (`apply`) and does not subscribe to it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from uuid import UUID

import pytest
import yaml

from casebridge.common.contracts.review import (
    ActionSummary,
    LetterIssued,
    RecommendationsMade,
    TriggerExplained,
)
from casebridge.common.db import new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ensure_consumer
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import worker
from casebridge.sharing.offers import OFFERS
from casebridge.sharing.settings import Settings

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, protocol_document, review_applied
from .test_deliveries import register
from .test_events import assert_delivered, assert_refused, outcomes, share
from .test_handlers import apply
from .test_procedures import nats_deliveries, procedure

NOW = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
NEW = (RecommendationsMade, LetterIssued, TriggerExplained)
# What the SPOC, the panel and an invited agency receive of an agreed action plan.
PLAN = {
    "id", "reference", "lead_agency_id", "recommendation_count", "actions",
    "victim_consulted", "action_plan_agreed_at",
}  # fmt: skip
LETTER = {"id", "reference", "letter_id", "letter_kind", "letter_issued_at"}
EXPLAINED = {"id", "state", "person_id", "explained_at", "explained_by_agency_id"}


@dataclasses.dataclass(frozen=True)
class Review:
    """An application the council received, with the police as the SPOC, a health trust on
    the panel, a youth offending team invited to the case and the housing provider (a core
    partner) neither."""

    review_id: UUID
    reference: str
    trust: UUID
    yot: UUID


@pytest.fixture
async def review(protocol_v1: Sharing) -> Review:
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    yot = await register(sharing, "Demo Youth Offending Team", "youth_justice")
    await share(sharing, procedure(1, POLICE, [trust]))
    envelope, applied = review_applied(received_by=COUNCIL)
    assert await apply(sharing, envelope, applied)
    invited = await sharing.client.post(
        f"/cases/{applied.reference}/invitations",
        json={"agency_id": str(yot), "reason": "named in the action plan"},
        headers=sharing.admin(),
    )
    assert invited.status_code == 201, invited.text
    return Review(applied.review_id, applied.reference, trust, yot)


def test_the_three_events_are_offered_and_subscribed_to() -> None:
    reviews = next(c for c in worker.consumers(Settings()) if c.name == "sharing-reviews")
    for contract in NEW:
        assert contract in OFFERS
        assert contract.subject_for("*") in reviews.subjects
        assert contract.event_type() in reviews.handlers


async def test_an_action_plan_reaches_the_spoc_the_panel_and_an_invited_agency(
    protocol_v1: Sharing, review: Review
) -> None:
    sharing = protocol_v1
    made = RecommendationsMade(
        review_id=review.review_id, reference=review.reference, lead_agency_id=POLICE,
        recommendations=2,
        actions=[
            ActionSummary(agency_id=review.yot, due_on=date(2027, 1, 15)),
            ActionSummary(agency_id=POLICE, due_on=date(2027, 1, 31)),
        ],
        victim_consulted=True, agreed_at=NOW,
    )  # fmt: skip
    envelope = await share(sharing, made)
    found = await outcomes(sharing, envelope)
    assert set(found) == {POLICE, HOUSING, review.trust, review.yot}  # not the recorder
    for agency in (POLICE, review.trust, review.yot):
        data = assert_delivered(
            found[agency], PLAN, event="case_review.recommendations_made", data_class="review"
        )
        assert found[agency][0].purposes == ["asb_case_review_s104"]
        assert data["lead_agency_id"] == str(POLICE)
        assert data["recommendation_count"] == 2
        assert data["actions"] == [
            {"agency_id": str(review.yot), "due_on": "2027-01-15"},
            {"agency_id": str(POLICE), "due_on": "2027-01-31"},
        ]
        assert data["victim_consulted"] is True
        assert data["action_plan_agreed_at"] == NOW.isoformat().replace("+00:00", "Z")
    refused = assert_refused(found[HOUSING])
    assert refused.data_class == "review"
    # The same on NATS and in the feed: the named agency can act; the housing provider
    # hears nothing.
    on_nats = await nats_deliveries(sharing, "case_review.recommendations_made")
    assert set(on_nats) == {POLICE, review.trust, review.yot}
    page = (await sharing.client.get("/feed", headers=sharing.auth(review.yot))).json()
    items = [i for i in page["items"] if i["data"].get("recommendation_count") is not None]
    assert [i["data"]["actions"][0]["agency_id"] for i in items] == [str(review.yot)]
    housing = (await sharing.client.get("/feed", headers=sharing.auth(HOUSING))).json()
    assert housing["items"] == []


async def test_a_letter_goes_as_a_fact_never_its_content(
    protocol_v1: Sharing, review: Review
) -> None:
    sharing = protocol_v1
    letter_id = new_id()
    issued = LetterIssued(
        review_id=review.review_id, reference=review.reference, letter_id=letter_id,
        kind="outcome", issued_at=NOW, formats=["html", "pdf"],
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, issued))
    assert set(found) == {POLICE, HOUSING, review.trust, review.yot}
    for agency in (POLICE, review.trust, review.yot):
        data = assert_delivered(
            found[agency], LETTER, event="case_review.letter_issued", data_class="review"
        )
        assert (data["letter_id"], data["letter_kind"]) == (str(letter_id), "outcome")
        assert "letters" not in data
    assert_refused(found[HOUSING])
    assert set(await nats_deliveries(sharing, "case_review.letter_issued")) == {
        POLICE, review.trust, review.yot,
    }  # fmt: skip


async def test_an_explained_trigger_reaches_the_spoc_and_the_panel(
    protocol_v1: Sharing, review: Review
) -> None:
    """The housing provider explained it: its own record, no copy. A core partner that is
    neither SPOC nor panel, and an agency invited to some case, get nothing of a trigger."""
    sharing = protocol_v1
    person = new_id()
    explained = TriggerExplained(
        trigger_id=new_id(), person_id=person, agency_id=HOUSING, explained_at=NOW
    )
    found = await outcomes(sharing, await share(sharing, explained))
    assert set(found) == {COUNCIL, POLICE, review.trust, review.yot}
    for agency in (POLICE, review.trust):
        data = assert_delivered(
            found[agency], EXPLAINED, event="trigger.explained", data_class="trigger"
        )
        assert data["state"] == "explained"
        assert data["explained_by_agency_id"] == str(HOUSING)
        assert data["person_id"] == str(person)
        assert found[agency][0].controller_agency_id == HOUSING
    for agency in (COUNCIL, review.yot):
        assert assert_refused(found[agency]).data_class == "trigger"
    assert set(await nats_deliveries(sharing, "trigger.explained")) == {POLICE, review.trust}


async def test_the_new_fields_are_the_protocols_to_grant(
    protocol_v1: Sharing, review: Review
) -> None:
    """A protocol granting the invited agency only what it had before the plan and letter
    fields existed: of an action plan it gets the lead agency, of a letter only which
    review; never the actions or the count."""
    sharing = protocol_v1
    document = protocol_document()
    added = (PLAN | LETTER) - {"id", "reference", "lead_agency_id"}
    for rule in document["rules"]:
        if rule["data"] == "review" and rule["to"] == ["invited"]:
            rule["allow"] = [name for name in rule["allow"] if name not in added]
    published = await sharing.client.put(
        f"/areas/{DEMO_AREA_ID}/protocol",
        content=yaml.safe_dump(document, sort_keys=False),
        headers=sharing.admin() | {"Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    made = RecommendationsMade(
        review_id=review.review_id, reference=review.reference, lead_agency_id=POLICE,
        recommendations=1, actions=[ActionSummary(agency_id=review.yot, due_on=date(2027, 1, 15))],
        victim_consulted=False, agreed_at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, made))
    disclosure, delivery = found[review.yot]
    assert (disclosure.outcome, disclosure.protocol_version) == ("delivered", 2)
    assert set(disclosure.fields) == {"id", "reference", "lead_agency_id"}
    assert "actions" not in delivery.data
    issued = LetterIssued(
        review_id=review.review_id, reference=review.reference, letter_id=new_id(),
        kind="outcome", issued_at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, issued))
    assert set(found[review.yot][0].fields) == {"id", "reference"}
    # The SPOC's grant is unchanged.
    assert set(found[POLICE][0].fields) == LETTER


async def test_an_existing_durable_gets_the_new_subjects(own_nats: NatsServer) -> None:
    """A deployed `sharing-reviews` consumer made before these events were offered is
    updated in place when the worker starts (`ensure_consumer`): it then receives them."""
    reviews = next(c for c in worker.consumers(Settings()) if c.name == "sharing-reviews")
    new = {c.subject_for("*") for c in NEW}
    before = dataclasses.replace(reviews, subjects=[s for s in reviews.subjects if s not in new])
    link = NatsLink(own_nats.url, name="review-offers-test")
    await link.connect()
    try:
        await ensure_consumer(link, before)
        info = await link.js.consumer_info(reviews.stream, reviews.name)
        assert not new & set(info.config.filter_subjects or [])
        await ensure_consumer(link, reviews)
        info = await link.js.consumer_info(reviews.stream, reviews.name)
        assert set(info.config.filter_subjects or []) == set(reviews.subjects)
    finally:
        await link.close()
