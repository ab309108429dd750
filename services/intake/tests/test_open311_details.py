"""Open311 GeoReport v2 as a standard client uses it (issue 8, items 9 and 10): public
reads without api_key that publish only the public field list; errors in the spec's
format (413 in XML too); attributes, jurisdiction_id, media_url and the body's media type
checked; no internal names in messages."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict

from casebridge.intake.models import Complaint
from casebridge.intake.open311.service import PUBLIC_FIELDS

from .conftest import Intake
from .helpers import count
from .test_open311 import BASE, KEY, form, post

# Written by the reporter: none of it may appear in a public answer.
PRIVATE = ("Music every night", "1 Example Street", "SW1A", "Ann", "Example", "51.501", "0.141")


async def logged(intake: Intake, **overrides: str) -> dict[str, Any]:
    response = await post(intake, **overrides)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()[0]
    return created


def test_the_public_field_list_is_the_documented_one() -> None:
    assert PUBLIC_FIELDS == (
        "service_request_id",
        "service_code",
        "service_name",
        "status",
        "status_notes",
        "agency_responsible",
        "requested_datetime",
        "updated_datetime",
    )


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_reads_without_api_key_show_the_public_fields_only(
    intake: Intake, app_key: str, fmt: str
) -> None:
    created = await logged(intake)
    reference = created["service_request_id"]
    for path in (f"{BASE}/requests.{fmt}", f"{BASE}/requests/{reference}.{fmt}"):
        response = await intake.client.get(path)
        assert response.status_code == 200, response.text
        for private in PRIVATE:
            assert private not in response.text, (path, private)
        if fmt == "json":
            (item,) = response.json()
        else:
            item = xmltodict.parse(response.text)["service_requests"]["request"]
        assert tuple(item) == PUBLIC_FIELDS
        assert item["service_request_id"] == reference
        assert item["status"] == "open"
        assert item["service_code"] == "noise"


async def test_public_reads_list_reports_made_through_open311_only(
    intake: Intake, app_key: str
) -> None:
    """A complaint a call handler took is not a public service request."""
    phone = await intake.client.post(
        "/complaints",
        json={
            "channel": "phone", "anonymous": True, "occurred_at": "2026-11-20T10:00:00Z",
            "location": {"postcode": "SW1A 1AA"}, "nsir_category": "nuisance",
            "asb_type": "noise", "description": "x",
        },
        headers=intake.auth(),
    )  # fmt: skip
    reference = phone.json()["reference"]
    assert (await intake.client.get(f"{BASE}/requests/{reference}.json")).status_code == 404
    assert (await intake.client.get(f"{BASE}/requests.json")).json() == []


async def test_with_the_apps_key_its_own_reports_show_more(intake: Intake, app_key: str) -> None:
    created = await logged(intake)
    own = await intake.client.get(
        f"{BASE}/requests/{created['service_request_id']}.json", params={"api_key": KEY}
    )
    assert set(own.json()[0]) > set(PUBLIC_FIELDS)


async def test_a_wrong_api_key_is_still_refused(intake: Intake, app_key: str) -> None:
    response = await intake.client.get(f"{BASE}/requests.json", params={"api_key": "wrong"})
    assert response.status_code == 403


async def test_413_on_xml_is_an_open311_xml_error(intake: Intake, app_key: str) -> None:
    huge = form(description="x" * 300_000)
    response = await intake.client.post(f"{BASE}/requests.xml", data=huge)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/xml")
    error = xmltodict.parse(response.text)["errors"]["error"]
    assert error["code"] == "413"
    json_response = await intake.client.post(f"{BASE}/requests.json", data=huge)
    assert json_response.status_code == 413
    assert json_response.json()[0]["code"] == 413


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("attribute[hate_motivated]", "perhaps"),
        ("attribute[targeted]", "YES"),
        ("attribute[consent_to_share]", "not_asked"),
        ("attribute[occurred_at]", "yesterday"),
        ("attribute[colour]", "red"),
    ],
)
async def test_invalid_and_unknown_attributes_are_the_specs_400(
    intake: Intake, app_key: str, attribute: str, value: str
) -> None:
    response = await post(intake, **{attribute: value})
    assert response.status_code == 400, response.text
    (error,) = response.json()
    assert error["code"] == 400
    assert attribute in error["description"]
    assert await count(intake, Complaint) == 0


@pytest.mark.parametrize("jurisdiction", ["XYZ", "dmo!", "x" * 41])
async def test_jurisdiction_is_checked_alike_on_get_and_post(
    intake: Intake, app_key: str, jurisdiction: str
) -> None:
    posted = await post(intake, jurisdiction_id=jurisdiction)
    statuses = {posted.status_code}
    for path in ("requests.json", "services.json", "services/noise.json", "discovery.json"):
        got = await intake.client.get(f"{BASE}/{path}", params={"jurisdiction_id": jurisdiction})
        statuses.add(got.status_code)
        assert jurisdiction not in got.text
    keyed = await intake.client.get(
        f"{BASE}/requests.json", params={"jurisdiction_id": jurisdiction, "api_key": KEY}
    )
    statuses.add(keyed.status_code)
    assert len(statuses) == 1, statuses
    assert statuses <= {400, 404}
    served = await intake.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "dmo"})
    assert served.status_code == 200


async def test_a_json_body_is_a_clear_400(intake: Intake, app_key: str) -> None:
    response = await intake.client.post(f"{BASE}/requests.json", json=form())
    assert response.status_code == 400
    (error,) = response.json()
    assert "application/x-www-form-urlencoded" in error["description"]
    assert "api_key" not in error["description"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"service_code": "jaywalking"},
        {"attribute[consent_to_share]": "perhaps"},
        {"lat": "48.0"},
        {"email": "not-mail"},
        {"description": ""},
        {"lat": "", "long": "", "address_string": ""},
    ],
)
async def test_errors_never_show_internal_names(
    intake: Intake, app_key: str, overrides: dict[str, str]
) -> None:
    response = await post(intake, **overrides)
    assert response.status_code == 400
    description = response.json()[0]["description"]
    for internal in (
        "not_asked", "withdrawn", "rowdy_neighbours", "vehicle_abandoned", "complainant",
        "location.", "consent.", "details", "uprn", "Value error", "asb_type", "nsir",
    ):  # fmt: skip
        assert internal not in description, description


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "ftp://x.example/a.jpg", "nohost"]
)
async def test_media_url_must_be_http(intake: Intake, app_key: str, url: str) -> None:
    response = await post(intake, media_url=url)
    assert response.status_code == 400
    assert "media_url" in response.json()[0]["description"]
    assert await count(intake, Complaint) == 0


async def test_an_https_media_url_is_accepted(intake: Intake, app_key: str) -> None:
    assert (await post(intake, media_url="https://photos.example/1.jpg")).status_code == 201
