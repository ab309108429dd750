"""The partner registry through its admin API: areas founded with their first administrator,
agencies registered and changed (each change a new revision, announced), OAuth clients
created, rotated and revoked, all within the administrator's own area."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from casebridge.devstack.demo import DEMO_AREA_ID

from .conftest import COUNCIL, HOUSING, OTHER_AGENCY, OTHER_AREA, POLICE, SECRET, Sharing
from .test_handlers import outbox

NON_CORE = {"name": "Demo Mental Health Trust", "kind": "health", "ods_code": "RYJ"}


async def events(sharing: Sharing, name: str) -> list[dict[str, Any]]:
    return [m.payload for m in await outbox(sharing, f"registry.{name}.v1")]


async def found(sharing: Sharing, code: str = "SEC") -> dict[str, Any]:
    response = await sharing.client.post(
        "/areas",
        json={
            "code": code,
            "name": "Second Community Safety Partnership",
            "founding_agency": {"name": "Second Council", "kind": "council", "core_partner": True},
        },
        headers=sharing.admin(),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_agency(
    sharing: Sharing, area: UUID = DEMO_AREA_ID, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    response = await sharing.client.post(
        f"/areas/{area}/agencies", json=body or NON_CORE, headers=headers or sharing.admin()
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_client(
    sharing: Sharing, agency: UUID | str, scopes: list[str], roles: list[str] | None = None
) -> dict[str, Any]:
    response = await sharing.client.post(
        f"/agencies/{agency}/clients",
        json={"scopes": scopes, "roles": roles or []},
        headers=sharing.admin(),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_founded_area_is_administered_by_its_own_first_client(sharing: Sharing) -> None:
    """A second area and a non-core agency, made through the API with real tokens only."""
    founded = await found(sharing)
    area, agency, client = founded["area"], founded["agency"], founded["client"]
    assert area["code"] == "SEC"
    assert agency["area_id"] == area["id"]
    assert agency["revision"] == 1
    assert client["roles"] == ["partnership_admin"]
    assert set(client["scopes"]) == {"shares:admin", "shares:read"}
    founder = await sharing.bearer(client["client_id"], client["client_secret"], "shares:admin")

    trust = await add_agency(
        sharing, UUID(area["id"]), founder, name="Second Health Trust", kind="health"
    )
    assert trust["core_partner"] is False
    reader = await new_client_as(sharing, founder, trust["id"], ["shares:read"])
    partner = await sharing.bearer(reader["client_id"], reader["client_secret"], "shares:read")
    listed = (await sharing.client.get("/agencies", headers=partner)).json()
    assert {a["id"] for a in listed} == {agency["id"], trust["id"]}  # nothing of the demo area

    # The demo area's administrator does not administer the new area, nor the other way.
    for headers, other_area in ((sharing.admin(), area["id"]), (founder, str(DEMO_AREA_ID))):
        response = await sharing.client.get(f"/areas/{other_area}/agencies", headers=headers)
        assert response.status_code == 404
    assert (
        await sharing.client.get(f"/agencies/{POLICE}/clients", headers=founder)
    ).status_code == 404

    registered = await events(sharing, "area.registered")
    assert [e["data"]["code"] for e in registered] == ["SEC"]
    assert registered[0]["subject"] == f"registry.{area['id']}.area.registered.v1"
    changed = {e["data"]["agency_id"]: e["data"] for e in await events(sharing, "agency.changed")}
    assert changed[trust["id"]]["revision"] == 1
    assert changed[trust["id"]]["kind"] == "health"
    assert changed[trust["id"]]["core_partner"] is False


async def new_client_as(
    sharing: Sharing, headers: dict[str, str], agency: str, scopes: list[str]
) -> dict[str, Any]:
    response = await sharing.client.post(
        f"/agencies/{agency}/clients", json={"scopes": scopes}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": "DMO", "name": "Again"}, 409),  # the demo area's code
        ({"code": "dmo2", "name": "Lower case"}, 422),
        ({"code": "TOOLONG", "name": "Seven"}, 422),
        ({"code": "NEW", "name": ""}, 422),
    ],
)
async def test_area_codes_are_unique_and_well_formed(
    sharing: Sharing, body: dict[str, Any], status: int
) -> None:
    body = {**body, "founding_agency": {"name": "C", "kind": "council"}}
    response = await sharing.client.post("/areas", json=body, headers=sharing.admin())
    assert response.status_code == status, response.text
    assert await events(sharing, "area.registered") == []


@pytest.mark.parametrize(
    ("scopes", "roles", "status"),
    [
        (["shares:admin"], [], 403),  # the scope without the role
        (["shares:read"], ["partnership_admin"], 403),  # the role without the scope
        (["shares:admin"], ["dpo"], 403),
    ],
)
async def test_registry_administration_needs_the_scope_and_the_role(
    sharing: Sharing, scopes: list[str], roles: list[str], status: int
) -> None:
    headers = sharing.auth(COUNCIL, scopes=scopes, roles=roles)
    for method, path in (
        ("GET", "/areas"),
        ("POST", f"/areas/{DEMO_AREA_ID}/agencies"),
        ("PATCH", f"/agencies/{POLICE}"),
        ("POST", f"/agencies/{POLICE}/clients"),
        ("DELETE", "/clients/police-rms"),
    ):
        response = await sharing.client.request(method, path, json=NON_CORE, headers=headers)
        assert response.status_code == status, f"{method} {path}: {response.text}"
    assert (await sharing.client.get("/areas")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "kind": "church"},
        {"name": "X", "kind": "council", "police_force_code": "MPS"},
        {"name": "", "kind": "council"},
        {"name": "X", "kind": "council", "core_partner": "true"},
        {"name": "X", "kind": "council", "revision": 9},
        {"name": "X", "kind": "health", "ods_code": "r y j"},
    ],
)
async def test_an_agency_must_be_well_described(sharing: Sharing, body: dict[str, Any]) -> None:
    response = await sharing.client.post(
        f"/areas/{DEMO_AREA_ID}/agencies", json=body, headers=sharing.admin()
    )
    assert response.status_code == 422, response.text
    assert await events(sharing, "agency.changed") == []


async def test_agencies_are_registered_in_the_administrators_area_only(sharing: Sharing) -> None:
    response = await sharing.client.post(
        f"/areas/{OTHER_AREA}/agencies", json=NON_CORE, headers=sharing.admin()
    )
    assert response.status_code == 404
    listed = await sharing.client.get(f"/areas/{DEMO_AREA_ID}/agencies", headers=sharing.admin())
    assert {a["id"] for a in listed.json()} == {str(COUNCIL), str(POLICE), str(HOUSING)}


async def test_each_change_is_a_new_revision_announced(sharing: Sharing) -> None:
    agency = await add_agency(sharing)
    path = f"/agencies/{agency['id']}"
    first = await sharing.client.patch(path, json={"core_partner": True}, headers=sharing.admin())
    same = await sharing.client.patch(path, json={"core_partner": True}, headers=sharing.admin())
    second = await sharing.client.patch(
        path, json={"active": False, "name": "Renamed Trust"}, headers=sharing.admin()
    )
    assert [r.status_code for r in (first, same, second)] == [200, 200, 200]
    assert [r.json()["revision"] for r in (first, same, second)] == [2, 2, 3]
    announced = [
        e["data"]
        for e in await events(sharing, "agency.changed")
        if e["data"]["agency_id"] == agency["id"]
    ]
    assert [(a["revision"], a["core_partner"], a["active"]) for a in announced] == [
        (1, False, True),
        (2, True, True),
        (3, True, False),
    ]
    assert announced[-1]["agency_name"] == "Renamed Trust"


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"active": None}, 422), ({"kind": "police"}, 422), ({"active": "no"}, 422)],
)
async def test_a_change_must_say_what_changes(
    sharing: Sharing, body: dict[str, Any], status: int
) -> None:
    response = await sharing.client.patch(f"/agencies/{POLICE}", json=body, headers=sharing.admin())
    assert response.status_code == status, response.text


async def test_agencies_of_another_area_and_ones_own_are_protected(sharing: Sharing) -> None:
    other = await sharing.client.patch(
        f"/agencies/{OTHER_AGENCY}", json={"active": False}, headers=sharing.admin()
    )
    assert other.status_code == 404
    own = await sharing.client.patch(
        f"/agencies/{COUNCIL}", json={"active": False}, headers=sharing.admin()
    )
    assert own.status_code == 409
    assert own.json()["error"] == "own_agency"


async def test_a_client_made_by_the_admin_gets_tokens(sharing: Sharing) -> None:
    made = await new_client(sharing, POLICE, ["shares:read", "complaints:read"], ["dpo"])
    assert made["client_id"].startswith("police-")
    assert len(made["client_secret"]) >= 32
    response = await sharing.token(made["client_id"], made["client_secret"])
    assert response.status_code == 200, response.text
    assert set(response.json()["scope"].split()) == {"shares:read", "complaints:read"}
    listed = await sharing.client.get(f"/agencies/{POLICE}/clients", headers=sharing.admin())
    assert made["client_id"] in {c["client_id"] for c in listed.json()}
    assert made["client_secret"] not in listed.text
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed.json())


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": []},
        {"scopes": ["shares:everything"]},
        {"scopes": ["shares:read"], "roles": ["superuser"]},
        {"scopes": ["shares:read"], "client_secret": "mine"},
    ],
)
async def test_clients_have_known_scopes_and_roles(sharing: Sharing, body: dict[str, Any]) -> None:
    response = await sharing.client.post(
        f"/agencies/{POLICE}/clients", json=body, headers=sharing.admin()
    )
    assert response.status_code == 422, response.text


async def test_a_rotated_secret_replaces_the_old_one_at_once(sharing: Sharing) -> None:
    rotated = await sharing.client.post("/clients/police-rms/secret", headers=sharing.admin())
    assert rotated.status_code == 200, rotated.text
    assert (await sharing.token("police-rms", SECRET)).status_code == 401
    fresh = await sharing.token("police-rms", rotated.json()["client_secret"])
    assert fresh.status_code == 200, fresh.text


async def test_a_revoked_client_is_refused_at_the_token_endpoint(sharing: Sharing) -> None:
    assert (await sharing.token("police-rms", SECRET)).status_code == 200
    for _ in range(2):
        response = await sharing.client.delete("/clients/police-rms", headers=sharing.admin())
        assert response.status_code == 204
    refused = await sharing.token("police-rms", SECRET)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    (revoked,) = await events(sharing, "client.revoked")  # announced once
    assert revoked["data"]["client_id"] == "police-rms"
    assert revoked["data"]["agency_id"] == str(POLICE)
    again = await sharing.client.post("/clients/police-rms/secret", headers=sharing.admin())
    assert again.status_code == 409
    listed = await sharing.client.get(f"/agencies/{POLICE}/clients", headers=sharing.admin())
    (row,) = [c for c in listed.json() if c["client_id"] == "police-rms"]
    assert row["active"] is False
    assert row["revoked_at"] is not None


async def test_a_revoked_clients_tokens_stop_working_here_at_once(sharing: Sharing) -> None:
    """Sharing is a resource server too: the token it issued, remembered by its verifier,
    is refused from the first request after the revocation commits."""
    headers = await sharing.bearer("police-rms", SECRET, "shares:read")
    assert (await sharing.client.get("/deliveries", headers=headers)).status_code == 200
    revoked = await sharing.client.delete("/clients/police-rms", headers=sharing.admin())
    assert revoked.status_code == 204
    refused = await sharing.client.get("/deliveries", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    other = await sharing.bearer("housing-hms", SECRET, "shares:read")
    assert (await sharing.client.get("/deliveries", headers=other)).status_code == 200


async def test_clients_of_another_area_are_not_found(sharing: Sharing) -> None:
    founded = await found(sharing)
    theirs = founded["client"]["client_id"]
    for method, path in (("POST", f"/clients/{theirs}/secret"), ("DELETE", f"/clients/{theirs}")):
        response = await sharing.client.request(method, path, headers=sharing.admin(POLICE))
        assert response.status_code == 404
    assert (await sharing.token(theirs, founded["client"]["client_secret"])).status_code == 200
