"""Inviting an agency to one case, by the case's reference: only cases sharing has heard of
in the caller's area, only active agencies of that area, by the administrator (any case) or
the SPOC (case reviews); every change kept and announced."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, update

from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.models import Agency, InvitationChange

from .conftest import (
    COUNCIL,
    OTHER_AGENCY,
    OTHER_AREA,
    POLICE,
    Sharing,
    complaint_logged,
    review_applied,
)
from .test_handlers import apply, outbox

COMPLAINT = "DMO-2026-000001-X"
REVIEW = "CR-DMO-2026-000001"


@pytest.fixture
async def cases(sharing: Sharing) -> tuple[Sharing, UUID]:
    """A complaint and a case review the council recorded, and a health trust to invite."""
    for envelope, event in (complaint_logged(), review_applied()):
        assert await apply(sharing, envelope, event)
    response = await sharing.client.post(
        f"/areas/{DEMO_AREA_ID}/agencies",
        json={"name": "Demo Mental Health Trust", "kind": "health"},
        headers=sharing.admin(),
    )
    return sharing, UUID(response.json()["id"])


def spoc(sharing: Sharing) -> dict[str, str]:
    return sharing.auth(POLICE, scopes=["shares:read"], roles=["spoc"])


async def invite(
    sharing: Sharing, reference: str, agency: UUID, headers: dict[str, str] | None = None
) -> Any:
    return await sharing.client.post(
        f"/cases/{reference}/invitations",
        json={"agency_id": str(agency), "reason": "mental health assessment"},
        headers=headers or sharing.admin(),
    )


async def announced(sharing: Sharing) -> list[tuple[str, str, bool]]:
    messages = await outbox(sharing, "registry.invitation.changed.v1")
    return [
        (
            m.payload["data"]["case_reference"],
            m.payload["data"]["agency_id"],
            m.payload["data"]["invited"],
        )
        for m in messages
    ]


async def test_invite_list_and_remove(cases: tuple[Sharing, UUID]) -> None:
    sharing, trust = cases
    first = await invite(sharing, COMPLAINT, trust)
    again = await invite(sharing, COMPLAINT, trust)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["invited"] is True
    assert first.json()["changed_by_client"] == f"client-{COUNCIL}"
    listed = await sharing.client.get(f"/cases/{COMPLAINT}/invitations", headers=sharing.admin())
    assert [i["agency_id"] for i in listed.json()] == [str(trust)]
    path = f"/cases/{COMPLAINT}/invitations/{trust}"
    removed = await sharing.client.delete(
        path, params={"reason": "assessed"}, headers=sharing.admin()
    )
    assert removed.status_code == 204
    assert (await sharing.client.delete(path, headers=sharing.admin())).status_code == 404
    listed = await sharing.client.get(f"/cases/{COMPLAINT}/invitations", headers=sharing.admin())
    assert listed.json() == []
    assert await announced(sharing) == [
        (COMPLAINT, str(trust), True),
        (COMPLAINT, str(trust), False),
    ]
    async with sharing.sessions() as session:
        history = (await session.scalars(select(InvitationChange.reason))).all()
    assert sorted(history) == ["assessed", "mental health assessment"]


async def test_unknown_cases_and_other_areas_cases_are_not_found(
    cases: tuple[Sharing, UUID],
) -> None:
    sharing, trust = cases
    envelope, event = complaint_logged(
        area_id=OTHER_AREA, receiving=OTHER_AGENCY, reference="OTH-2026-000001-1"
    )
    await apply(sharing, envelope, event)
    for reference in ("DMO-2026-999999-9", "OTH-2026-000001-1"):
        assert (await invite(sharing, reference, trust)).status_code == 404
        listed = await sharing.client.get(
            f"/cases/{reference}/invitations", headers=sharing.admin()
        )
        assert listed.status_code == 404
    bad = await sharing.client.get("/cases/not a reference/invitations", headers=sharing.admin())
    assert bad.status_code == 422
    assert await announced(sharing) == []


async def test_only_active_agencies_of_the_cases_area(cases: tuple[Sharing, UUID]) -> None:
    sharing, trust = cases
    async with sharing.sessions() as session:
        await session.execute(update(Agency).where(Agency.id == trust).values(active=False))
        await session.commit()
    for agency in (OTHER_AGENCY, trust, COUNCIL, UUID(int=7)):  # other area, inactive, recorder
        response = await invite(sharing, COMPLAINT, agency)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["field"] == "agency_id"
    assert await announced(sharing) == []


async def test_the_spoc_invites_to_case_reviews_only(cases: tuple[Sharing, UUID]) -> None:
    sharing, trust = cases
    to_review = await invite(sharing, REVIEW, trust, spoc(sharing))
    to_complaint = await invite(sharing, COMPLAINT, trust, spoc(sharing))
    assert (to_review.status_code, to_complaint.status_code) == (201, 403)
    assert to_review.json()["changed_by_client"] == f"client-{POLICE}"


@pytest.mark.parametrize(
    ("scopes", "roles"),
    [
        (["shares:read"], []),  # a partner
        (["shares:read"], ["dpo"]),
        (["shares:read"], ["partnership_admin"]),  # the role without the admin scope
    ],
)
async def test_others_may_not_invite(
    cases: tuple[Sharing, UUID], scopes: list[str], roles: list[str]
) -> None:
    sharing, trust = cases
    headers = sharing.auth(POLICE, scopes=scopes, roles=roles)
    for reference in (COMPLAINT, REVIEW):
        assert (await invite(sharing, reference, trust, headers)).status_code == 403
        listed = await sharing.client.get(f"/cases/{reference}/invitations", headers=headers)
        assert listed.status_code == 403
    assert await announced(sharing) == []
