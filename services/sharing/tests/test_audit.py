"""The DPO's disclosure audit: only a DPO (role dpo, scope audit:read), only disclosures of
records its agency controls or made to its agency, filtered by person, reference, recipient
and period, paged or exported as CSV with the protocol version of each disclosure."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import yaml

from casebridge.common.db import new_id
from casebridge.common.events.envelope import Envelope
from casebridge.devstack.demo import DEMO_AREA_ID

from .conftest import (
    COUNCIL,
    HOUSING,
    OTHER_AGENCY,
    OTHER_AREA,
    POLICE,
    Sharing,
    complaint_logged,
    protocol_document,
)
from .test_handlers import apply

PERSON = UUID("0192f0a0-0000-7000-8000-0000000e0777")


def dpo(sharing: Sharing, agency: UUID, area: UUID = DEMO_AREA_ID) -> dict[str, str]:
    return sharing.auth(agency, area=area, scopes=["audit:read"], roles=["dpo"])


async def log(sharing: Sharing, receiving: UUID, reference: str, **more: Any) -> Envelope:
    envelope, event = complaint_logged(
        receiving=receiving,
        complaint_id=new_id(),
        reference=reference,
        consent="given",
        **more,
    )
    assert await apply(sharing, envelope, event)
    return envelope


@pytest.fixture
async def logged(protocol_v1: Sharing) -> Sharing:
    """The council logs A (about PERSON), the police logs B; each shared with the others."""
    await log(protocol_v1, COUNCIL, "DMO-2026-000001-A", person_id=PERSON)
    await log(protocol_v1, POLICE, "DMO-2026-000002-B")
    return protocol_v1


async def audit(sharing: Sharing, headers: dict[str, str], **params: Any) -> httpx.Response:
    return await sharing.client.get("/audit/disclosures", params=params, headers=headers)


def seen(response: httpx.Response) -> set[tuple[str | None, str]]:
    assert response.status_code == 200, response.text
    return {(d["source_reference"], d["recipient_agency_id"]) for d in response.json()["items"]}


async def test_a_dpo_sees_what_its_agency_disclosed_and_received(logged: Sharing) -> None:
    council = seen(await audit(logged, dpo(logged, COUNCIL)))
    assert council == {
        ("DMO-2026-000001-A", str(POLICE)),  # its own record, to each partner
        ("DMO-2026-000001-A", str(HOUSING)),
        ("DMO-2026-000002-B", str(COUNCIL)),  # the police's record, to the council
    }
    housing = seen(await audit(logged, dpo(logged, HOUSING)))
    assert housing == {("DMO-2026-000001-A", str(HOUSING)), ("DMO-2026-000002-B", str(HOUSING))}
    elsewhere = await audit(logged, dpo(logged, OTHER_AGENCY, OTHER_AREA))
    assert elsewhere.json() == {"items": [], "next_cursor": None}
    police_in_other_area = await audit(logged, dpo(logged, POLICE, OTHER_AREA))
    assert police_in_other_area.json()["items"] == []


async def test_each_disclosure_says_on_what_grounds(logged: Sharing) -> None:
    items = (await audit(logged, dpo(logged, COUNCIL), reference="DMO-2026-000001-A")).json()
    for item in items["items"]:
        assert item["controller_agency_id"] == str(COUNCIL)
        assert item["person_id"] == str(PERSON)
        assert item["protocol_version"] == 1
        assert item["purposes"] == ["asb_case_management"]
        assert item["legal_bases"][0].endswith("Crime and Disorder Act 1998 s115")
        assert item["data_class"] == "complaint"
        assert "person_id" in item["fields"]
        assert item["outcome"] == "delivered"


async def test_filters(logged: Sharing) -> None:
    headers = dpo(logged, COUNCIL)
    by_person = seen(await audit(logged, headers, person_id=str(PERSON)))
    assert by_person == {("DMO-2026-000001-A", str(POLICE)), ("DMO-2026-000001-A", str(HOUSING))}
    by_recipient = seen(await audit(logged, headers, recipient_agency_id=str(COUNCIL)))
    assert by_recipient == {("DMO-2026-000002-B", str(COUNCIL))}
    now = datetime.now(UTC)
    assert (
        len(seen(await audit(logged, headers, **{"from": (now - timedelta(hours=1)).isoformat()})))
        == 3
    )
    assert (
        seen(await audit(logged, headers, **{"to": (now - timedelta(hours=1)).isoformat()}))
        == set()
    )


async def test_pages_follow_the_cursor(logged: Sharing) -> None:
    headers, found, cursor = dpo(logged, COUNCIL), [], None
    while True:
        page = (
            await audit(logged, headers, limit=2, **({"cursor": cursor} if cursor else {}))
        ).json()
        found += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(found) == len(set(found)) == 3
    assert found == sorted(found, reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-29T10:00:00Z", "to": "2026-11-29T09:00:00Z"},
        {"from": "2026-11-29T10:00:00"},  # no time zone
        {"from": "304684336"},
        {"reference": "not a reference"},
        {"format": "xml"},
        {"limit": 101},
    ],
)
async def test_bad_filters_are_refused(logged: Sharing, params: dict[str, Any]) -> None:
    assert (await audit(logged, dpo(logged, COUNCIL), **params)).status_code == 422


@pytest.mark.parametrize(
    ("scopes", "roles"),
    [
        (["shares:read"], []),  # a partner
        (["audit:read"], []),  # the scope without the role
        (["shares:read", "shares:admin"], ["dpo"]),  # the role without the scope
        (["shares:admin", "shares:read"], ["partnership_admin"]),
    ],
)
async def test_only_a_dpo_audits(logged: Sharing, scopes: list[str], roles: list[str]) -> None:
    headers = logged.auth(COUNCIL, scopes=scopes, roles=roles)
    for params in ({}, {"format": "csv"}):
        response = await audit(logged, headers, **params)
        assert response.status_code == 403, response.text
        assert "DMO-2026" not in response.text
    assert (await audit(logged, {})).status_code == 401


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_csv_export_by_accept_or_format(logged: Sharing) -> None:
    by_accept = rows(
        await logged.client.get(
            "/audit/disclosures", headers=dpo(logged, COUNCIL) | {"Accept": "text/csv"}
        )
    )
    by_format = rows(await audit(logged, dpo(logged, COUNCIL), format="csv"))
    assert by_accept == by_format
    assert {(r["source_reference"], r["recipient_agency_id"]) for r in by_accept} == seen(
        await audit(logged, dpo(logged, COUNCIL))
    )
    for row in by_accept:
        assert row["protocol_version"] == "1"
        assert row["purposes"] == "asb_case_management"
        assert row["controller_agency_id"] in {str(COUNCIL), str(POLICE)}
    assert rows(await audit(logged, dpo(logged, HOUSING), format="csv", person_id=str(PERSON)))[0][
        "person_id"
    ] == str(PERSON)


async def test_csv_export_streams_every_row_in_chunks(logged: Sharing) -> None:
    from casebridge.sharing import audit as audit_module

    original = audit_module.EXPORT_CHUNK
    audit_module.EXPORT_CHUNK = 2  # three rows: two chunks and an empty one
    try:
        exported = rows(await audit(logged, dpo(logged, COUNCIL), format="csv"))
    finally:
        audit_module.EXPORT_CHUNK = original
    assert len(exported) == len({r["id"] for r in exported}) == 3


async def test_csv_cells_never_run_as_formulas(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    document = protocol_document()
    document["purposes"]["asb_case_management"]["legal_basis"] = '=HYPERLINK("http://x")'
    published = await sharing.client.put(
        f"/areas/{DEMO_AREA_ID}/protocol",
        content=yaml.safe_dump(document),
        headers=sharing.admin() | {"Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    await log(sharing, COUNCIL, "DMO-2026-000003-C")
    for row in rows(await audit(sharing, dpo(sharing, COUNCIL), format="csv")):
        assert row["legal_bases"].startswith("'=HYPERLINK")
        assert row["protocol_version"] == "2"
