"""The SPOC and the panel receive case review events as the protocol grants them: review
announces who they are (procedure.changed), sharing keeps it per area (the latest version
wins, exactly once), and every later review event is decided with the `spoc` and `panel`
relations, as review's own reads are. Under the default protocol the applicant's details
go to the SPOC and the panel only: a core partner that is neither gets a refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from casebridge.common.contracts.review import ProcedureChanged, ReviewTransitioned
from casebridge.common.db import new_id
from casebridge.common.events.models import OutboxMessage
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.models import AreaProcedure

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, review_applied
from .test_deliveries import register
from .test_events import assert_delivered, assert_refused, envelope_of, outcomes, share
from .test_handlers import apply

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
# What the SPOC and the panel receive of an application under the default protocol: the
# applicant (person_id, applicant_kind) with the rest of what the event carries.
APPLIED_TO_SPOC_AND_PANEL = {
    "id", "reference", "state", "person_id", "applicant_kind", "received_by_agency_id",
    "complaint_ids", "trigger_id", "applied_at", "recorded_at",
}  # fmt: skip


def procedure(
    version: int, spoc: UUID | None, panel: list[UUID], area_id: UUID = DEMO_AREA_ID
) -> ProcedureChanged:
    """A procedure version as review's outbox announces it."""
    return ProcedureChanged(
        area_id=area_id,
        procedure_version=version,
        spoc_agency_id=spoc,
        panel_agency_ids=panel,
        changed_at=NOW,
    )


async def kept(sharing: Sharing) -> AreaProcedure | None:
    async with sharing.sessions() as session:
        return await session.get(AreaProcedure, DEMO_AREA_ID)


async def nats_deliveries(sharing: Sharing, event: str) -> dict[UUID, dict[str, Any]]:
    """The deliveries of `event` staged for NATS (sharing's outbox), by recipient."""
    async with sharing.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == f"sharing.delivery.{event}.v1")
        )
        return {UUID(m.subject.split(".")[2]): m.payload["data"] for m in rows}


async def test_the_spoc_and_a_panel_member_get_the_applicant_a_core_partner_does_not(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")  # not a core partner
    await share(sharing, procedure(1, POLICE, [trust]))
    envelope, applied = review_applied(received_by=COUNCIL)
    assert await apply(sharing, envelope, applied)

    found = await outcomes(sharing, envelope)
    assert set(found) == {POLICE, HOUSING, trust}  # the council received it: its own record
    for agency in (POLICE, trust):
        data = assert_delivered(
            found[agency], APPLIED_TO_SPOC_AND_PANEL,
            event="case_review.applied", data_class="review",
        )  # fmt: skip
        assert data["person_id"] == str(applied.person_id)
        assert found[agency][0].purposes == ["asb_case_review_s104"]
    assert_refused(found[HOUSING])  # a core partner, neither SPOC nor on the panel
    # The same on each channel: NATS (the outbox) and the partner's own feed.
    on_nats = await nats_deliveries(sharing, "case_review.applied")
    assert set(on_nats) == {POLICE, trust}
    assert on_nats[trust]["applicant_kind"] == "victim"
    for agency in (POLICE, trust):
        page = (await sharing.client.get("/feed", headers=sharing.auth(agency))).json()
        (item,) = [i for i in page["items"] if i["data"]["id"] == str(applied.review_id)]
        assert item["data"]["person_id"] == str(applied.person_id)
    housing = (await sharing.client.get("/feed", headers=sharing.auth(HOUSING))).json()
    assert housing["items"] == []


async def test_a_new_procedure_moves_the_spoc_for_later_events(protocol_v1: Sharing) -> None:
    """What went stays sent; from the change on, the old SPOC is decided as what it is now
    (a core partner: nothing of a review) and the new one gets the SPOC's fields."""
    sharing = protocol_v1
    await share(sharing, procedure(1, POLICE, []))
    envelope, applied = review_applied(received_by=COUNCIL)
    assert await apply(sharing, envelope, applied)
    assert_refused((await outcomes(sharing, envelope))[HOUSING])

    await share(sharing, procedure(2, HOUSING, []))
    moved = ReviewTransitioned(
        review_id=applied.review_id, reference=applied.reference, action="accept",
        from_state="applied", to_state="threshold_pending", at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, moved))
    assert_refused(found[POLICE])
    assert_delivered(
        found[HOUSING], {"id", "reference", "state", "updated_at"},
        event="case_review.transitioned", data_class="review",
    )  # fmt: skip
    first = await outcomes(sharing, envelope)
    assert first[POLICE][0].outcome == "delivered"  # the earlier event's record is unchanged


async def test_a_procedure_change_applies_once_and_an_older_one_never_wins(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    second = procedure(2, HOUSING, [POLICE])
    envelope = envelope_of(second)
    assert await apply(sharing, envelope, second)
    row = await kept(sharing)
    assert row is not None
    assert (row.version, row.spoc_agency_id, row.panel_agency_ids) == (2, HOUSING, [POLICE])
    recorded_at = row.recorded_at
    assert not await apply(sharing, envelope, second)  # redelivered: the inbox skips it
    late = procedure(1, COUNCIL, [])  # an older version arriving late (another message)
    assert await apply(sharing, envelope_of(late), late)
    row = await kept(sharing)
    assert row is not None
    assert (row.version, row.spoc_agency_id, row.recorded_at) == (2, HOUSING, recorded_at)
    # A procedure change discloses nothing by itself.
    async with sharing.sessions() as session:
        staged = await session.scalars(
            select(OutboxMessage.event_type).where(OutboxMessage.event_type.like("sharing.%"))
        )
        assert list(staged) == []


async def test_an_agency_of_another_area_is_never_the_spoc_here(protocol_v1: Sharing) -> None:
    """A procedure counts in its own area only: another area's SPOC gets nothing of ours."""
    sharing = protocol_v1
    other_area = new_id()
    theirs = procedure(1, HOUSING, [], area_id=other_area)
    assert await apply(sharing, envelope_of(theirs, other_area), theirs)
    envelope, applied = review_applied(received_by=COUNCIL)
    assert await apply(sharing, envelope, applied)
    assert_refused((await outcomes(sharing, envelope))[HOUSING])
