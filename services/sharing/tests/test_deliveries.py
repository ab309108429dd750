"""What each recipient receives of a logged complaint, by its relation to the complaint and
the complaint's basis, under the shipped default protocol: the exact set of fields (golden
sets), consent withdrawn, an override with its purpose, and a new protocol version in force
for every later disclosure."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
import yaml
from sqlalchemy import select

from casebridge.common.db import new_id
from casebridge.common.events.envelope import Envelope
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.models import Delivery, Disclosure

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, complaint_logged, protocol_document
from .test_handlers import CORE, CORE_WITH_CONSENT, META, apply

# The alleged perpetrator's landlord: what its tenant is said to have done, never who.
LANDLORD = {
    "id", "reference", "receiving_agency_id", "status", "occurred_at", "reported_at",
    "postcode_district", "nsir_category", "asb_type", "hate_motivated", "perpetrators",
}  # fmt: skip
# A core partner that is also the landlord: the case, but no identity from a rule that
# does not name the landlord (the mandatory rule).
CORE_LANDLORD = CORE | {"agency_references", "perpetrators"} | LANDLORD
INJUNCTION = {"person_id", "postcode"}  # with an override recorded for an injunction
REFUSED: set[str] = set()


async def register(sharing: Sharing, name: str, kind: str, core: bool = False) -> UUID:
    response = await sharing.client.post(
        f"/areas/{DEMO_AREA_ID}/agencies",
        json={"name": name, "kind": kind, "core_partner": core},
        headers=sharing.admin(),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def log(sharing: Sharing, **overrides: Any) -> Envelope:
    """A complaint the council logged, shared as the worker would; a new one each time."""
    values = {"complaint_id": new_id(), "reference": f"DMO-2026-{new_id().hex[-6:]}-1"}
    envelope, event = complaint_logged(receiving=COUNCIL, **(values | overrides))
    assert await apply(sharing, envelope, event)
    return envelope


async def received(sharing: Sharing, envelope: Envelope, agency: UUID) -> tuple[Disclosure, Any]:
    async with sharing.sessions() as session:
        disclosure = await session.scalar(
            select(Disclosure).where(
                Disclosure.source_event_id == envelope.id, Disclosure.recipient_agency_id == agency
            )
        )
        assert disclosure is not None
        delivery = await session.scalar(
            select(Delivery).where(Delivery.disclosure_id == disclosure.id)
        )
    return disclosure, delivery


def assert_received(disclosure: Disclosure, delivery: Any, expected: set[str]) -> None:
    assert set(disclosure.fields) == expected
    if not expected:
        assert disclosure.outcome == "refused"
        assert delivery is None
        return
    assert disclosure.outcome == "delivered"
    assert set(delivery.data) == expected | META
    assert delivery.data["disclosure_id"] == str(disclosure.id)


# (recipient, consent, override purposes, fields received)
MATRIX = [
    ("core", "not_asked", [], CORE),
    ("core", "given", [], CORE_WITH_CONSENT),
    ("core", "refused", [], REFUSED),
    ("core", "withdrawn", ["asb_case_management"], CORE_WITH_CONSENT),
    ("area_partner", "given", [], REFUSED),
    ("landlord", "not_asked", [], LANDLORD),
    ("landlord", "given", [], LANDLORD),
    ("landlord", "withdrawn", [], REFUSED),
    ("landlord", "given", ["asb_case_management"], LANDLORD),
    ("landlord", "given", ["injunction_application"], LANDLORD | INJUNCTION),
    ("core_landlord", "given", [], CORE_LANDLORD),
    ("core_landlord", "not_asked", ["asb_case_management"], CORE_LANDLORD),
    ("core_landlord", "given", ["injunction_application"], CORE_LANDLORD | INJUNCTION),
]


@pytest.mark.parametrize(("who", "consent", "overrides", "expected"), MATRIX)
async def test_what_each_recipient_receives(
    protocol_v1: Sharing, who: str, consent: str, overrides: list[str], expected: set[str]
) -> None:
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    landlord = await register(sharing, "Second Homes", "housing")
    recipient = {
        "core": POLICE,
        "area_partner": trust,
        "landlord": landlord,
        "core_landlord": HOUSING,
    }[who]
    envelope = await log(
        sharing,
        consent=consent,
        override_purposes=overrides,
        perpetrator_landlord_ids=[landlord, HOUSING] if "landlord" in who else [],
    )
    disclosure, delivery = await received(sharing, envelope, recipient)
    assert_received(disclosure, delivery, expected)
    if expected:
        assert "asb_case_management" in disclosure.purposes
        injunction = "injunction_application"
        assert (injunction in disclosure.purposes) == (injunction in overrides)
        assert len(disclosure.legal_bases) == len(disclosure.purposes)


async def test_an_invited_agency_receives_the_case_from_its_invitation(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    reference = "DMO-2026-000077-3"
    first = await log(sharing, reference=reference, consent="given")
    invited = await sharing.client.post(
        f"/cases/{reference}/invitations",
        json={"agency_id": str(trust), "reason": "the victim's mental health"},
        headers=sharing.admin(),
    )
    assert invited.status_code == 201, invited.text
    # A later event of the same case (issue 10 brings consent changes, partner updates...).
    later = await log(sharing, reference=reference, consent="given")
    assert_received(*await received(sharing, first, trust), REFUSED)
    assert_received(*await received(sharing, later, trust), CORE_WITH_CONSENT)
    removed = await sharing.client.delete(
        f"/cases/{reference}/invitations/{trust}", headers=sharing.admin()
    )
    assert removed.status_code == 204
    after = await log(sharing, reference=reference, consent="given")
    assert_received(*await received(sharing, after, trust), REFUSED)


async def test_withdrawn_consent_stops_personal_fields_from_that_moment(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    person = new_id()
    before = await log(sharing, person_id=person, consent="given")
    after = await log(sharing, person_id=person, consent="withdrawn")
    first, first_delivery = await received(sharing, before, POLICE)
    assert_received(first, first_delivery, CORE_WITH_CONSENT)
    assert first_delivery.data["person_id"] == str(person)  # not recalled
    withdrawn, nothing = await received(sharing, after, POLICE)
    assert_received(withdrawn, nothing, REFUSED)
    assert withdrawn.reason == "no rule grants anything (consent withdrawn)"


async def test_an_override_shares_with_its_purpose_recorded(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    envelope = await log(sharing, consent="withdrawn", override_purposes=["asb_case_management"])
    disclosure, delivery = await received(sharing, envelope, POLICE)
    assert_received(disclosure, delivery, CORE_WITH_CONSENT)
    assert disclosure.reason == "shared under a recorded override for asb_case_management"
    assert delivery.data["shared_by_override"] is True
    assert delivery.data["consent_status"] == "withdrawn"
    assert delivery.data["purposes"] == ["asb_case_management"]


async def test_a_new_protocol_version_decides_every_later_disclosure(
    protocol_v1: Sharing,
) -> None:
    """The issue's 'done': a new agency, granted two fields of one event type by a new
    version, receives exactly those two fields from then on, named with that version."""
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    before = await log(sharing, consent="given")
    document = protocol_document()
    grant = {
        "data": "complaint",
        "purpose": "asb_case_management",
        "to": ["area_partner"],
        "agencies": [str(trust)],
        "allow": ["reference", "asb_type"],
    }
    published = await sharing.client.put(
        f"/areas/{DEMO_AREA_ID}/protocol",
        content=yaml.safe_dump(document | {"rules": [*document["rules"], grant]}),
        headers=sharing.admin() | {"Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2
    after = await log(sharing, consent="given")
    old, _ = await received(sharing, before, trust)
    new, delivery = await received(sharing, after, trust)
    assert (old.protocol_version, old.outcome) == (1, "refused")
    assert_received(new, delivery, {"reference", "asb_type"})
    assert new.protocol_version == 2
    assert delivery.data["protocol_version"] == 2
    police, _ = await received(sharing, after, POLICE)
    assert police.protocol_version == 2
