"""Partners answer: an agency that can see a case records what it did; the update is
announced, and the worker shares it with the case's other partners as the protocol's
`partner_update` rules grant (the note and the next step stay with the core partners' own
records under the default protocol), one disclosure per recipient. Bad input is a 422 that
writes nothing; a case the caller cannot see is a 404."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.db import new_id
from casebridge.common.events.envelope import Envelope
from casebridge.sharing.models import Delivery, Disclosure, PartnerUpdate

from .conftest import COUNCIL, HOUSING, OTHER_AGENCY, OTHER_AREA, POLICE, Sharing, complaint_logged
from .test_deliveries import register
from .test_handlers import outbox, runner

# What the default protocol shares of a partner's update with the case's core partners.
SHARED = {"id", "case_reference", "agency_id", "action", "outcome", "due_on", "recorded_at"}
META = {"disclosure_id", "protocol_version", "purposes", "redacted_fields"}
UPDATE = {
    "action": "visit",
    "note": "Visited flat 3; the tenant was warned about noise after 11pm.",
    "outcome": "completed",
    "next_step": "Check back with the complainant",
    "due_on": (date.today() + timedelta(days=14)).isoformat(),
}


async def logged(sharing: Sharing, consent: str = "not_asked") -> str:
    """A complaint the council logged, indexed and shared as the worker would; its reference."""
    reference = f"DMO-2026-{new_id().hex[-6:].upper()}-1"
    envelope, event = complaint_logged(
        receiving=COUNCIL, complaint_id=new_id(), reference=reference, consent=consent
    )
    consumer = runner(sharing)
    assert await consumer._apply(consumer.consumer.handlers[envelope.type], envelope, event)
    return reference


def writer(sharing: Sharing, agency: UUID, **claims: Any) -> dict[str, str]:
    return sharing.auth(agency, scopes=["cases:write", "shares:read"], **claims)


async def post(sharing: Sharing, reference: str, agency: UUID, body: Any = None) -> Any:
    return await sharing.client.post(
        f"/cases/{reference}/updates", json=UPDATE if body is None else body,
        headers=writer(sharing, agency),
    )  # fmt: skip


async def count_updates(sharing: Sharing) -> int:
    async with sharing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PartnerUpdate)) or 0)


async def test_a_partner_update_is_recorded_announced_and_shared_onward(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    reference = await logged(sharing)
    response = await post(sharing, reference, POLICE)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["case_reference"], body["agency_id"], body["action"]) == (
        reference,
        str(POLICE),
        "visit",
    )
    (row,) = await outbox(sharing, PartnerUpdateRecorded.event_type())
    envelope = Envelope.model_validate(row.payload)
    event = PartnerUpdateRecorded.model_validate(envelope.data)
    assert (event.update_id, event.case_kind, event.note) == (
        UUID(body["id"]),
        "complaint",
        UPDATE["note"],
    )

    consumer = runner(sharing, "sharing-partner-updates")
    assert await consumer._apply(consumer.consumer.handlers[envelope.type], envelope, event)
    async with sharing.sessions() as session:
        disclosures = {
            d.recipient_agency_id: d
            for d in await session.scalars(
                select(Disclosure).where(Disclosure.source_event_id == envelope.id)
            )
        }
        delivered = {
            d.recipient_agency_id: d.data
            for d in await session.scalars(
                select(Delivery).where(
                    Delivery.disclosure_id.in_([d.id for d in disclosures.values()])
                )
            )
        }
    assert set(disclosures) == {COUNCIL, HOUSING}  # never back to the agency that wrote it
    for agency in (COUNCIL, HOUSING):
        assert set(disclosures[agency].fields) == SHARED
        assert disclosures[agency].data_class == "partner_update"
        assert disclosures[agency].source_reference == reference
        assert disclosures[agency].controller_agency_id == POLICE
        assert set(delivered[agency]) == SHARED | META
        assert "note" not in delivered[agency]


async def test_the_recorder_may_answer_its_own_case(protocol_v1: Sharing) -> None:
    reference = await logged(protocol_v1)
    assert (await post(protocol_v1, reference, COUNCIL)).status_code == 201


BAD = [
    ({"action": "shouted"}, "action"),
    ({"outcome": "sorted"}, "outcome"),
    ({"note": "   "}, "note"),
    ({"note": "x" * 2001}, "note"),
    ({"note": "bell\x07"}, "note"),
    ({"next_step": None, "due_on": (date.today() + timedelta(days=3)).isoformat()}, "due_on"),
    ({"due_on": (date.today() - timedelta(days=1)).isoformat()}, "due_on"),
    ({"due_on": (date.today() + timedelta(days=800)).isoformat()}, "due_on"),
    ({"due_on": "14/12/2026"}, "due_on"),
    ({"agency_id": str(HOUSING)}, "agency_id"),  # no one writes in another agency's name
]


@pytest.mark.parametrize(("change", "field"), BAD)
async def test_bad_updates_are_422_and_write_nothing(
    protocol_v1: Sharing, change: dict[str, Any], field: str
) -> None:
    sharing = protocol_v1
    reference = await logged(sharing)
    body = {k: v for k, v in (UPDATE | change).items() if v is not None}
    response = await post(sharing, reference, POLICE, body)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert await count_updates(sharing) == 0
    assert await outbox(sharing, PartnerUpdateRecorded.event_type()) == []


async def test_a_case_the_caller_cannot_see_is_404(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    refused = await logged(sharing, consent="refused")  # core partners received nothing
    assert (await post(sharing, refused, POLICE)).status_code == 404
    assert (await post(sharing, "DMO-2026-999999-1", POLICE)).status_code == 404
    reference = await logged(sharing)
    other = await sharing.client.post(
        f"/cases/{reference}/updates",
        json=UPDATE,
        headers=writer(sharing, OTHER_AGENCY, area=OTHER_AREA),
    )
    assert other.status_code == 404
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    assert (await post(sharing, reference, trust)).status_code == 404  # an area partner
    assert await count_updates(sharing) == 0


async def test_an_invited_agency_may_answer(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    reference = await logged(sharing)
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    invited = await sharing.client.post(
        f"/cases/{reference}/invitations",
        json={"agency_id": str(trust), "reason": "mental health assessment"},
        headers=sharing.admin(),
    )
    assert invited.status_code == 201, invited.text
    assert (await post(sharing, reference, trust)).status_code == 201


async def test_answering_needs_the_cases_write_scope(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    reference = await logged(sharing)
    response = await sharing.client.post(
        f"/cases/{reference}/updates", json=UPDATE, headers=sharing.auth(POLICE)
    )
    assert response.status_code == 403
