from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict

from casebridge.intake.models import Complaint, Person
from casebridge.intake.references import is_valid_reference

from .conftest import COUNCIL, OPEN311_KEY, POLICE, Intake
from .helpers import count, events

KEY = OPEN311_KEY
BASE = "/open311/v2"


def form(**overrides: str) -> dict[str, str]:
    data = {
        "api_key": KEY,
        "jurisdiction_id": "DMO",
        "service_code": "noise",
        "lat": "51.501",
        "long": "-0.141",
        "address_string": "1 Example Street, London SW1A 1AA",
        "description": "Music every night until 4am",
        "first_name": "Ann",
        "last_name": "Example",
        "email": "Ann@Example.org",
        "attribute[consent_to_share]": "given",
        "attribute[hate_motivated]": "no",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


async def post(intake: Intake, fmt: str = "json", **overrides: str) -> Any:
    return await intake.client.post(f"{BASE}/requests.{fmt}", data=form(**overrides))


async def test_discovery_and_services_in_json_and_xml(intake: Intake) -> None:
    discovery = await intake.client.get(f"{BASE}/discovery.json")
    assert discovery.status_code == 200
    assert discovery.json()["endpoints"]["endpoint"][0]["specification"].endswith("v2")
    services = (await intake.client.get(f"{BASE}/services.json")).json()
    assert len(services) == 14
    assert {"service_code": "noise", "service_name": "Noise"}.items() <= services[10].items()
    xml = await intake.client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    parsed = xmltodict.parse(xml.text)
    assert len(parsed["services"]["service"]) == 14
    definition = (await intake.client.get(f"{BASE}/services/noise.json")).json()
    assert definition["service_code"] == "noise"
    assert definition["attributes"][0]["code"] == "occurred_at"
    xml_def = xmltodict.parse((await intake.client.get(f"{BASE}/services/noise.xml")).text)
    assert xml_def["service_definition"]["attributes"]["attribute"][0]["code"] == "occurred_at"


async def test_unknown_service_is_a_spec_404_in_the_format_asked(intake: Intake) -> None:
    response = await intake.client.get(f"{BASE}/services/jaywalking.xml")
    assert response.status_code == 404
    error = xmltodict.parse(response.text)["errors"]["error"]
    assert error["code"] == "404"
    response = await intake.client.get(f"{BASE}/services/jaywalking.json")
    assert response.json() == [{"code": 404, "description": "no such service"}]


async def test_post_request_becomes_a_complaint(intake: Intake, app_key: str) -> None:
    response = await post(intake)
    assert response.status_code == 201, response.text
    (created,) = response.json()
    assert is_valid_reference(created["service_request_id"])
    (event,) = await events(intake, "intake.complaint.logged.v1")
    assert event["channel"] == "open311"
    assert event["receiving_agency_id"] == str(COUNCIL)
    assert event["postcode"] == "SW1A 1AA"
    assert event["consent_to_share"] == "given"
    assert event["person_id"] is not None
    # a call handler of the council sees it like any other complaint
    found = await intake.client.get(
        f"/complaints/by-reference/{created['service_request_id']}", headers=intake.auth()
    )
    assert found.json()["items"][0]["channel"] == "open311"
    # the same person reporting again attaches to the same log
    await post(intake, email="ann@example.org")
    assert await count(intake, Person) == 1


async def test_post_request_in_xml_and_anonymous(intake: Intake, app_key: str) -> None:
    response = await post(intake, "xml", first_name="", last_name="", email="")
    assert response.status_code == 201, response.text
    created = xmltodict.parse(response.text)["service_requests"]["request"]
    assert is_valid_reference(created["service_request_id"])
    assert await count(intake, Person) == 0


@pytest.mark.parametrize(
    ("overrides", "status", "says"),
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": "jaywalking"}, 400, "service_code"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "lat and long"),
        ({"lat": "48.0"}, 400, "lat"),
        ({"email": "not-mail"}, 400, "e-mail"),
        ({"description": ""}, 400, "description"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"attribute[consent_to_share]": "perhaps"}, 400, "consent"),
        ({"attribute[occurred_at]": "2999-01-01T00:00:00Z"}, 400, "occurred_at"),
        ({"jurisdiction_id": "XYZ"}, 404, "jurisdiction_id"),
    ],
)
async def test_bad_requests_get_spec_errors_and_leave_no_row(
    intake: Intake, app_key: str, overrides: dict[str, str], status: int, says: str
) -> None:
    response = await post(intake, **overrides)
    assert response.status_code == status, response.text
    (error,) = response.json()
    assert error["code"] == status
    assert says in error["description"]
    assert await count(intake, Complaint) == 0
    assert await count(intake, Person) == 0


async def test_get_requests_lists_the_apps_own_within_limits(intake: Intake, app_key: str) -> None:
    created = (await post(intake)).json()[0]
    # a complaint the council took by phone is not the app's to list
    await intake.client.post(
        "/complaints",
        json={
            "channel": "phone", "anonymous": True, "occurred_at": "2026-11-20T10:00:00Z",
            "location": {"postcode": "SW1A 1AA"}, "nsir_category": "nuisance",
            "asb_type": "noise", "description": "x",
        },
        headers=intake.auth(),
    )  # fmt: skip
    listed = await intake.client.get(f"{BASE}/requests.json", params={"api_key": KEY})
    assert listed.status_code == 200, listed.text
    assert [r["service_request_id"] for r in listed.json()] == [created["service_request_id"]]
    assert "description" not in listed.json()[0]
    by_id = await intake.client.get(
        f"{BASE}/requests/{created['service_request_id']}.xml", params={"api_key": KEY}
    )
    request = xmltodict.parse(by_id.text)["service_requests"]["request"]
    assert request["status"] == "open"
    now = datetime.now(UTC)
    too_wide = await intake.client.get(
        f"{BASE}/requests.json",
        params={
            "api_key": KEY,
            "start_date": (now - timedelta(days=91)).isoformat(),
            "end_date": now.isoformat(),
        },
    )
    assert too_wide.status_code == 400
    assert "90 days" in too_wide.json()[0]["description"]
    closed = await intake.client.get(
        f"{BASE}/requests.json", params={"api_key": KEY, "status": "closed"}
    )
    assert closed.json() == []
    token = await intake.client.get(f"{BASE}/tokens/{created['token']}.json?api_key={KEY}")
    assert token.json() == [
        {"token": created["token"], "service_request_id": created["service_request_id"]}
    ]
    no_key = await intake.client.get(f"{BASE}/requests.json")  # public: see test_open311_details
    assert no_key.status_code == 200
    missing = await intake.client.get(f"{BASE}/requests/DMO-2026-999999-0.json?api_key={KEY}")
    assert missing.status_code == 404


async def test_open311_post_is_idempotent(intake: Intake, app_key: str) -> None:
    headers = {"Idempotency-Key": "fms-1"}
    first = await intake.client.post(f"{BASE}/requests.json", data=form(), headers=headers)
    again = await intake.client.post(f"{BASE}/requests.json", data=form(), headers=headers)
    assert again.json() == first.json()
    other = await intake.client.post(
        f"{BASE}/requests.json", data=form(description="different"), headers=headers
    )
    assert other.status_code == 409
    assert other.json()[0]["code"] == 409
    assert await count(intake, Complaint) == 1
    # the refused reuse released nothing: the first request again is still a replay
    third = await intake.client.post(f"{BASE}/requests.json", data=form(), headers=headers)
    assert third.json() == first.json()
    assert await count(intake, Complaint) == 1


async def test_other_agencies_follow_the_same_visibility(intake: Intake, app_key: str) -> None:
    created = (await post(intake, **{"attribute[consent_to_share]": "refused"})).json()[0]
    found = await intake.client.get(
        f"/complaints/by-reference/{created['service_request_id']}", headers=intake.auth(POLICE)
    )
    assert found.status_code == 404
